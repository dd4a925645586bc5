"""The in-memory shape of an evaluation dataset, shared by every loader and every consumer.

A dataset is a corpus of documents, a set of questions, and relevance judgments (qrels) between
them, as in BEIR. Questions may carry a reference answer (for Ragas' answer-vs-reference metrics).

Usage:
    ds = Dataset(name="demo", documents=[Document("d1", "Java", "...")],
                 queries=[Query("q1", "auto garbage collection")], qrels={"q1": {"d1": 1}})
    ds.relevant("q1")  # {"d1": 1}
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from rag.i18n import N_, _


class DatasetError(ValueError):
    """Bad input, with where it is: ``file``, ``line`` (1-based) and ``field`` when known; for a
    spreadsheet also its ``sheet`` and the ``column`` letter, and ``line`` is then the sheet's row.

    ``str(err)`` is one readable line such as ``corpus.jsonl, line 3, field 'text': empty text`` or
    ``faq.xlsx, sheet 'Questions', row 4, column B 'question': empty text`` (what Excel shows).
    """

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 field: str | None = None, hint: str | None = None, sheet: str | None = None,
                 column: str | None = None):
        self.message, self.file, self.line, self.field, self.hint = message, file, line, field, hint
        self.sheet, self.column = sheet, column
        super().__init__(self.__str__())

    def __str__(self) -> str:
        if self.sheet is None:
            where = [self.file, _("line {n}").format(n=self.line) if self.line else None,
                     _("field '{field}'").format(field=self.field) if self.field else None]
        else:
            named = f" '{self.field}'" if self.field else ""
            where = [self.file, _("sheet '{sheet}'").format(sheet=self.sheet),
                     _("row {n}").format(n=self.line) if self.line else None,
                     _("column {column}{named}").format(column=self.column, named=named) if self.column else
                     (_("field '{field}'").format(field=self.field) if self.field else None)]
        text = _(", ").join(p for p in where if p)  # the words in the language of the thread that reads it
        text = (text + _(": ") if text else "") + _(self.message)
        return text + (_(" ({hint})").format(hint=_(self.hint)) if self.hint else "")

    def in_sheet(self, sheet: str, column: str | None = None) -> DatasetError:
        """The same error placed in a spreadsheet's sheet (and column), for loaders that found it
        in a row without knowing the row came from a sheet."""
        return DatasetError(self.message, file=self.file, line=self.line, field=self.field,
                            hint=self.hint, sheet=sheet, column=column)


# require_text's refusal, a whole sentence per modality; ``job`` is one of _JOBS (its callers' words), translated
_NOT_TEXT = {
    "image": N_("{name} is an image dataset: {job} evaluates text datasets only; compare image retrieval on the "
                "Retrieval page or with cli.py retrieval"),
    "audio": N_("{name} is an audio dataset: {job} evaluates text datasets only; compare audio retrieval on the "
                "Retrieval page or with cli.py retrieval"),
    "video": N_("{name} is a video dataset: {job} evaluates text datasets only; compare video retrieval on the "
                "Retrieval page or with cli.py retrieval"),
}
_JOBS = (N_("a RAG run"), N_("a sweep"), N_("the load-test service"), N_("a load test"))


@dataclass(frozen=True)
class Document:
    id: str
    title: str
    text: str             # an image document's caption ("" when it has none)
    image: str = ""       # image corpora: absolute path of the image file ("" for text)
    image_sha: str = ""   # sha256 of the image's bytes: the embedding cache's and corpus hash's key
    audio: str = ""       # audio corpora: absolute path of the audio file ("" otherwise)
    audio_sha: str = ""   # sha256 of the audio file's bytes (cache and corpus hash key)
    video: str = ""       # video corpora: absolute path of the video file ("" otherwise)
    video_sha: str = ""   # sha256 of the video file's bytes (frame cache and corpus hash key)

    @property
    def media(self) -> str:
        """The document's media file (image, sound or video), "" for text."""
        return self.image or self.audio or self.video

    @property
    def full_text(self) -> str:
        """What is embedded and indexed: title and body, as BEIR evaluations do."""
        return f"{self.title}\n{self.text}" if self.title else self.text


@dataclass(frozen=True)
class Query:
    id: str
    text: str                     # "" for an image query
    reference: str | None = None  # reference answer, when the dataset has one
    image: str = ""               # an image query: absolute path of its image ("" for a text query)
    image_sha: str = ""           # sha256 of that image's bytes
    audio: str = ""               # an audio query (query by example): absolute path of its audio file
    audio_sha: str = ""           # sha256 of that audio file's bytes

    @property
    def kind(self) -> str:
        """"image" or "audio" (query by example) or "text"."""
        return "image" if self.image else "audio" if self.audio else "text"


@dataclass
class Dataset:
    name: str
    documents: list[Document]
    queries: list[Query]
    qrels: dict[str, dict[str, int]] = field(default_factory=dict)  # query id -> {doc id: grade}
    source: str = ""  # where it came from (path or "sample"), for run records

    def __post_init__(self) -> None:
        self._doc_index = {d.id: d for d in self.documents}

    @property
    def modality(self) -> str:
        """"image" when the corpus is images (``Document.image``), "audio" when it is audio files
        (``Document.audio``), "video" for video files (``Document.video``), else "text"."""
        first = self.documents[0] if self.documents else None
        if first is None:
            return "text"
        return "image" if first.image else "audio" if first.audio else "video" if first.video else "text"

    def query_kinds(self) -> dict[str, int]:
        """How many judged queries of each kind: {"text": n, "image": m} (kinds with none left out)."""
        out: dict[str, int] = {}
        for q in self.judged_queries:
            out[q.kind] = out.get(q.kind, 0) + 1
        return out

    def select_queries(self, kind: str) -> Dataset:
        """The same corpus with only the queries of ``kind`` ("text", "image", "audio"; "all" is itself)."""
        if kind == "all":
            return self
        if kind not in ("text", "image", "audio"):
            raise ValueError(_("queries {kind}: give all, text, image or audio").format(kind=repr(kind)))
        queries = [q for q in self.queries if q.kind == kind]
        ids = {q.id for q in queries}
        return Dataset(self.name, self.documents, queries, {q: r for q, r in self.qrels.items() if q in ids},
                       self.source)

    def require_text(self, job: str) -> None:
        """Refuse an image dataset for a job that evaluates text (RAG answers, load tests, sweeps)."""
        if self.modality in ("image", "audio", "video"):
            raise ValueError(_(_NOT_TEXT[self.modality]).format(name=self.name, job=_(job)))

    def doc(self, doc_id: str) -> Document:
        return self._doc_index[doc_id]

    def title(self, doc_id: str) -> str:
        """The document's title, "" for an id not in the corpus (a search reply's hits, per request)."""
        d = self._doc_index.get(doc_id)
        return "" if d is None else d.title

    def relevant(self, query_id: str) -> dict[str, int]:
        """Judged-relevant documents (grade > 0) for a query."""
        return {d: g for d, g in self.qrels.get(query_id, {}).items() if g > 0}

    @property
    def judged_queries(self) -> list[Query]:
        """Queries that have at least one relevance judgment: the ones metrics average over."""
        return [q for q in self.queries if q.id in self.qrels]

    def reference_contexts(self, query_id: str) -> list[str]:
        """Texts of the relevant documents, best grade first: Ragas' ``reference_contexts``."""
        rel = sorted(self.relevant(query_id).items(), key=lambda kv: (-kv[1], kv[0]))
        return [self._doc_index[d].full_text for d, _ in rel if d in self._doc_index]

    def corpus_hash(self) -> str:
        """Hash of the documents only: collections are rebuilt when (and only when) it changes."""
        h = hashlib.sha256()
        for d in self.documents:  # an image's bytes hash joins in (text corpora hash as they always did)
            sha = d.image_sha or d.audio_sha or d.video_sha  # a sound's or video's bytes hash the same way
            parts = [d.id, d.title, d.text, sha] if sha else [d.id, d.title, d.text]
            h.update(json.dumps(parts, ensure_ascii=False).encode())
        return h.hexdigest()[:16]

    def content_hash(self) -> str:
        """Hash of documents, queries and qrels: what a run record names as its dataset."""
        h = hashlib.sha256(self.corpus_hash().encode())
        for q in self.queries:
            sha = q.image_sha or q.audio_sha
            parts = [q.id, q.text, q.reference, sha] if sha else [q.id, q.text, q.reference]
            h.update(json.dumps(parts, ensure_ascii=False).encode())
        h.update(json.dumps(self.qrels, sort_keys=True).encode())
        return h.hexdigest()[:16]
