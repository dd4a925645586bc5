"""Split a dataset's corpus into chunks, so setups with different chunkings can be indexed side by side.

Why a corpus-level split (and not ``rag.data.documents.load_documents``): a sweep compares chunkings of the
*same* judged corpus (BEIR, tables, documents), and its qrels name whole documents, so every chunk
must remember its document: chunk ids are ``DOCID#n`` (n from 1 in each document) and ``parents``
maps each back, never by parsing the id (a document id may itself hold ``#``). The split is LangChain's
``RecursiveCharacterTextSplitter``, as ``rag.data.loaders`` uses for files. The chunked dataset keeps the
name, queries and qrels; its corpus hash differs, and its ``label`` ("c200o20") is the ``chunking``
build input, so each chunking gets its own collection and reuses it while the corpus is unchanged.

Text with CJK characters is split at CJK sentence and clause punctuation (。！？；，、) before
falling back to single characters, and each piece keeps its punctuation at its end (LangChain's
default separators have no CJK punctuation: a 300-character Chinese chunk began mid-number,
"千克到三十八千克的竹子"); text without CJK characters is split exactly as before.

Usage:
    chunked = chunk_dataset(ds, size=200, overlap=20)
    store.ensure_collection(chunked.dataset, resolve("minilm"), chunking=chunked.label)
    chunked.parents["d1#2"]     # "d1"
"""

from __future__ import annotations

from dataclasses import dataclass, field

import regex

from rag.data.dataset import Dataset, Document
from rag.i18n import _

# sentence ends, then clause marks; fullwidth forms are what CJK text uses
CJK_SEPARATORS = ["。", "！", "？", "；", "，", "、"]
_CJK = regex.compile(r"\p{Han}|\p{Hiragana}|\p{Katakana}|\p{Hangul}")


def text_splitter(size: int, overlap: int, text: str = "", base: list[str] | None = None):
    """LangChain's RecursiveCharacterTextSplitter for ``text``: with CJK punctuation inserted before the
    space separator when the text has CJK characters, else unchanged. ``base``: a regex separator list
    to extend (e.g. Markdown's), default LangChain's. The CJK separators are zero-width look-behinds
    (split *after* the mark), so each piece keeps its punctuation at its end whatever the base list's
    keep-separator mode (a chunk never starts with "。")."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    seps = list(base or ["\n\n", "\n", " ", ""])
    if _CJK.search(text):
        at = seps.index(" ") if " " in seps else len(seps) - 1
        seps[at:at] = [f"(?<={mark})" for mark in CJK_SEPARATORS]
    elif base is None:
        return RecursiveCharacterTextSplitter(chunk_size=size, chunk_overlap=overlap)
    return RecursiveCharacterTextSplitter(separators=seps, chunk_size=size, chunk_overlap=overlap,
                                          is_separator_regex=True)


@dataclass
class ChunkedDataset:
    dataset: Dataset
    label: str                                          # the ``chunking`` build input; "" = whole documents
    parents: dict[str, str] = field(default_factory=dict)  # chunk id -> document id (empty when unchunked)


def chunking_label(size: int | None, overlap: int = 0) -> str:
    """"c200o20", or "" for whole documents (size None)."""
    return "" if size is None else f"c{size}o{overlap}"


def chunk_dataset(ds: Dataset, size: int | None, overlap: int = 0) -> ChunkedDataset:
    """Each document's ``text`` split into chunks of at most ``size`` characters (``overlap`` shared
    between neighbours), each chunk keeping its document's title; ``size`` None leaves ``ds`` as it is."""
    if size is None:
        return ChunkedDataset(ds, "")
    if size < 1 or not 0 <= overlap < size:
        raise ValueError(_("chunking needs 0 <= overlap < size, got size {size}, overlap {overlap}").format(
            size=size, overlap=overlap))
    plain, cjk = text_splitter(size, overlap), text_splitter(size, overlap, "中")
    docs, parents = [], {}
    for d in ds.documents:
        splitter = cjk if _CJK.search(d.text) else plain
        pieces = [p.strip() for p in splitter.split_text(d.text) if p.strip()] or [d.text]
        for n, piece in enumerate(pieces, start=1):
            cid = f"{d.id}#{n}"
            docs.append(Document(cid, d.title, piece))
            parents[cid] = d.id
    chunked = Dataset(ds.name, docs, ds.queries, ds.qrels, source=ds.source)
    return ChunkedDataset(chunked, chunking_label(size, overlap), parents)


def document_ranking(ranking: list[tuple[str, float]], parents: dict[str, str]) -> list[tuple[str, float]]:
    """A chunk ranking as a document ranking: a document takes its best (first) chunk's place and
    score, its later chunks are dropped and the ranks close up. Unchunked rankings pass through."""
    if not parents:
        return list(ranking)
    seen: set[str] = set()
    out = []
    for cid, score in ranking:
        doc = parents.get(cid, cid)
        if doc not in seen:
            seen.add(doc)
            out.append((doc, score))
    return out
