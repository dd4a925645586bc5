"""A retrieval setup (speech to text × model × chunking × fusion × top-k × reranker) and the grid a sweep runs.

Why one typed setup: users choose a whole retrieval setup, not a model alone. A ``Setup`` splits in
two: its *index-time* parts (model, chunking) decide the Milvus collection (``index_key``: the sweep
builds each once and reuses it), its *query-time* parts (fusion, k, reranker and its depth) only
change how that collection is searched, so they never rebuild anything. ``grid`` is the cartesian
product of the lists, de-duplicated: fusion applies to hybrid models only, a reranker depth only
with a reranker (and never below k).

Speech to text (audio folders): ``asr`` is an ``asr:FOLDER`` Whisper model that transcribes the sounds into
timed segments before a text model indexes them (``rag.models.asr``); it is an index-time part (each ASR
model gives its own text, so its own collections) and applies to text models only: an audio model
(``clap:``/``aud:``) embeds the sounds themselves. ``asr:FOLDER+minilm`` in the model list names one
pair; the ``asrs`` list crosses every text model with every ASR model. The sweep scores such a setup per
sound (a sound takes its best segment's rank), so asr:A+bm25, asr:B+minilm and clap:X are compared on
the same judgments, and records each ASR model's word error rate beside the setup's scores.

Rerankers: ``none``; ``ce:FOLDER``, a sentence-transformers ``CrossEncoder`` loaded from a local
folder (once per process); or ``rerank:MODEL@URL``, a Cohere-style ``/rerank`` endpoint (Cohere, Jina,
vLLM, TEI, Infinity speak it). Each rescores the top ``depth`` candidates (query, passage) and keeps
the best k.

Usage:
    setups = grid(["minilm", "hybrid"], chunk_sizes=[None, 200], fusions=["rrf:60", "weighted:0.3"], ks=[5, 10])
    setups[0].id            # "minilm | whole | k5"
    setups[0].index_key     # (None, "minilm", None, 0)
    grid(["asr:/models/whisper+bm25", "clap:/models/clap"])[0].id   # "asr:/models/whisper+bm25 | whole | k10"
"""

from __future__ import annotations

import itertools
import threading
from pathlib import Path

from pydantic import BaseModel, ConfigDict, field_validator

from rag.i18n import _
from rag.milvus.store import canonical_order, parse_fusion
from rag.models.registry import resolve

DEFAULT_DEPTH = 20  # candidates a reranker rescores when no depth is given


class Setup(BaseModel):
    """One point of a sweep; every part is recorded with its results.

    Usage:
        Setup(model="hybrid", chunk_size=200, chunk_overlap=20, fusion="weighted:0.3", k=10).id
        # "hybrid | c200o20 | weighted:0.3 | k10"
    """
    model_config = ConfigDict(frozen=True, protected_namespaces=())

    model: str
    asr: str | None = None               # audio folders: the asr:FOLDER that transcribes the sounds first
    chunk_size: int | None = None        # None: whole documents
    chunk_overlap: int = 0
    fusion: str | None = None            # hybrid models only: "rrf:K" / "weighted:A"
    k: int = 10
    reranker: str = "none"               # "none" / "ce:FOLDER"
    depth: int | None = None             # candidates the reranker rescores (None without a reranker)

    @field_validator("fusion")
    @classmethod
    def _fusion(cls, v):
        if v is None:
            return None
        kind, value = parse_fusion(v)
        return f"{kind}:{value:g}"

    @field_validator("asr")
    @classmethod
    def _asr(cls, v):
        return parse_asr(v)

    @field_validator("reranker")
    @classmethod
    def _reranker(cls, v):
        return parse_reranker(v)

    @property
    def chunking(self) -> str:
        return "whole" if self.chunk_size is None else f"c{self.chunk_size}o{self.chunk_overlap}"

    @property
    def index_key(self) -> tuple:
        """What decides the collection: setups sharing it search one collection."""
        return (self.asr, self.model, self.chunk_size, self.chunk_overlap if self.chunk_size is not None else 0)

    @property
    def retrieval_model(self) -> str:
        """The model as a user names it: ``asr:FOLDER+bm25`` when the text came from speech."""
        return f"{self.asr}+{self.model}" if self.asr else self.model

    @property
    def id(self) -> str:
        parts = [self.retrieval_model, self.chunking, self.fusion, f"k{self.k}",
                 f"{self.reranker}@{self.depth}" if self.reranker != "none" else None]
        return " | ".join(p for p in parts if p)

    @property
    def fetch(self) -> int:
        """How many hits the search asks Milvus for: the reranker's depth, or k."""
        return self.depth if self.reranker != "none" and self.depth else self.k


def parse_asr(text: str | None) -> str | None:
    """``none`` / empty → None; ``asr:FOLDER`` kept (the folder is checked by ``check_asr`` before a run)."""
    text = (text or "").strip()
    if not text or text.lower() == "none":
        return None
    if text.startswith("asr:") and text[4:].strip():
        return "asr:" + text[4:].strip()
    raise ValueError(_("speech to text {spec}: give none or asr:FOLDER (a Whisper folder saved with "
                       "transformers)").format(spec=repr(text)))


def split_asr(model: str) -> tuple[str | None, str]:
    """``asr:FOLDER+bm25`` → ("asr:FOLDER", "bm25"); any other model → (None, model)."""
    if model.startswith("asr:") and "+" in model:
        asr, _sep, text_model = model.rpartition("+")
        return parse_asr(asr), text_model.strip()
    if model.startswith("asr:"):
        raise ValueError(_("{model}: an ASR model needs a text model after it (asr:FOLDER+bm25, "
                           "asr:FOLDER+minilm)").format(model=model))
    return None, model


def check_asr(spec: str | None) -> None:
    """Refuse an ASR model that cannot run here, before any work (``rag.models.asr.asr_problem``'s line)."""
    if spec:
        from rag.models.asr import asr_problem

        if (why := asr_problem(spec[4:])) is not None:
            raise ValueError(_("speech to text {spec}: {why}").format(spec=spec, why=why))


def parse_ints(text: str, what: str, allow_none: bool = False, minimum: int = 1) -> list[int | None]:
    """'5,10' (and 'none' when ``allow_none``) as a list; ValueError names the value that is not one."""
    out: list[int | None] = []
    for t in (p.strip() for p in str(text).split(",")):
        if not t:
            continue
        if allow_none and t.lower() == "none":
            out.append(None)
        elif t.isdigit() and int(t) >= minimum:
            out.append(int(t))
        else:
            raise ValueError(_not_whole(what, t, minimum, allow_none))
    if not out:
        raise ValueError(_("{what}: give at least one value").format(what=what))
    return out


def _not_whole(what: str, value: str, minimum: int, allow_none: bool) -> str:
    """``parse_ints``' refusal: whole sentences a translator can reorder, one per form."""
    values = {"what": what, "value": repr(value), "minimum": minimum}
    if minimum and allow_none:
        return _("{what}: {value} is not a whole number ≥ {minimum} or none").format(**values)
    if minimum:
        return _("{what}: {value} is not a whole number ≥ {minimum}").format(**values)
    if allow_none:
        return _("{what}: {value} is not a whole number or none").format(**values)
    return _("{what}: {value} is not a whole number").format(**values)


def grid_from_text(models: list[str], chunk_sizes: str = "none", overlaps: str = "0", fusion: str = "rrf:60",
                   rerankers: str = "none", ks: str = "10", depths: str = "20", asrs: str = "none") -> list[Setup]:
    """The grid from comma-separated texts (the Sweep page's fields, the CLI's options)."""
    def names(text: str) -> list[str]:
        return [t.strip() for t in str(text).split(",") if t.strip()]

    fusions = [f for f in names(fusion) if parse_fusion(f)]  # each checked even when no model is hybrid
    return grid(models, parse_ints(chunk_sizes, "chunk sizes", allow_none=True),
                parse_ints(overlaps, "overlaps", minimum=0), fusions,
                [parse_reranker(r) for r in names(rerankers)], parse_ints(ks, "k"), parse_ints(depths, "depth"),
                [parse_asr(a) for a in names(asrs)] or [None])


def parse_reranker(text: str) -> str:
    """``none``, ``ce:FOLDER`` (the folder need not exist yet: ``check_reranker`` says so before a run) or
    ``rerank:MODEL@URL`` (a Cohere-style ``/rerank`` endpoint under URL)."""
    text = (text or "none").strip()
    if text.lower() == "none":
        return "none"
    if text.startswith("ce:") and text[3:].strip():
        return "ce:" + text[3:].strip()
    if text.startswith("hf:") and text[3:].partition("@")[0].strip().count("/") == 1:
        return "hf:" + text[3:].strip()  # a cross-encoder from the hub (HF cache, HF_ENDPOINT), as for models
    model, _sep, base = text.removeprefix("rerank:").partition("@")
    if text.startswith("rerank:") and model.strip() and base.strip().startswith(("http://", "https://")):
        return f"rerank:{model.strip()}@{base.strip()}"
    raise ValueError(_("reranker {spec}: give none, ce:FOLDER (a sentence-transformers cross-encoder folder), "
                       "hf:ORG/NAME[@REVISION] (one from the Hugging Face hub) or rerank:MODEL@URL (a Cohere-style "
                       "/rerank endpoint)").format(spec=repr(text)))


def check_reranker(spec: str) -> None:
    """Refuse a reranker that cannot run here, before any work."""
    if spec.startswith("ce:") and not Path(spec[3:]).expanduser().is_dir():
        raise ValueError(_("reranker {spec}: no cross-encoder folder at {folder}").format(spec=spec,
                                                                                           folder=spec[3:]))
    if spec.startswith("hf:"):
        from rag.models import hub

        repo, _sep, rev = spec[3:].partition("@")
        if (why := hub.problem(repo, rev or None)) is not None:
            raise ValueError(_("reranker {spec}: {why}").format(spec=spec, why=why))


def is_local_reranker(spec: str) -> bool:
    """A cross-encoder run on this machine: ``ce:FOLDER`` or ``hf:ORG/NAME`` (fetched into the HF cache)."""
    return spec.startswith(("ce:", "hf:"))


def reranker_folder(spec: str) -> str:
    """The local folder of a ``ce:`` / ``hf:`` reranker (an ``hf:`` one is downloaded if not cached)."""
    if spec.startswith("hf:"):
        from rag.models import hub

        repo, _, rev = spec[3:].partition("@")
        return hub.fetch(repo, rev or None)
    return spec[3:]


def grid(models: list[str], chunk_sizes: list[int | None] | None = None, overlaps: list[int] | None = None,
         fusions: list[str] | None = None, rerankers: list[str] | None = None, ks: list[int] | None = None,
         depths: list[int] | None = None, asrs: list[str | None] | None = None) -> list[Setup]:
    """The cartesian product, de-duplicated, in a stable order (index-time parts outermost, so setups
    sharing a collection run one after another). Overlaps that do not fit a size are skipped. ``asrs``
    (ASR models, None for none) apply to text models; ``asr:FOLDER+model`` in ``models`` fixes its own.
    An audio model (``clap:``/``aud:``) embeds whole sounds: no ASR, no chunking."""
    out: dict[str, Setup] = {}
    pairs = []
    for name in models:
        fixed, model = split_asr(name)
        audio = resolve(model).modality != "text"
        pairs += [(None, model)] if audio else [(fixed, model)] if fixed else [(parse_asr(a), model)
                                                                               for a in (asrs or [None])]
    for (asr, model), size, overlap, fusion, reranker, k, depth in itertools.product(
            dict.fromkeys(pairs), chunk_sizes or [None], overlaps or [0], fusions or [None], rerankers or ["none"],
            ks or [10], depths or [DEFAULT_DEPTH]):
        if k < 1:
            raise ValueError(_("k must be at least 1 (got {k})").format(k=k))
        if resolve(model).modality != "text":
            size = None  # a sound is not split into characters
        if size is not None and not 0 <= overlap < size:
            continue
        hybrid = resolve(model).kind == "hybrid"
        has_reranker = parse_reranker(reranker) != "none"
        setup = Setup(model=model, asr=asr, chunk_size=size, chunk_overlap=overlap if size is not None else 0,
                      fusion=(fusion or "rrf:60") if hybrid else None, k=k, reranker=reranker,
                      depth=max(depth, k) if has_reranker else None)
        out.setdefault(setup.id, setup)
    if not out:
        raise ValueError(_("the grid is empty: every overlap is at least its chunk size"))
    return list(out.values())


# ---------------------------------------------------------------- rerankers

_cross_encoders: dict[str, object] = {}
_lock = threading.Lock()


def _cross_encoder(folder: str):
    """A sentence-transformers CrossEncoder from a local folder, loaded once per process."""
    key = str(Path(folder).expanduser().resolve())
    with _lock:
        if key not in _cross_encoders:
            from sentence_transformers import CrossEncoder

            _cross_encoders[key] = CrossEncoder(key, device="cpu", local_files_only=True)
        return _cross_encoders[key]


def _endpoint_scores(spec: str, query: str, passages: list[str], settings=None) -> list[float]:
    """Scores from a Cohere-style endpoint: POST URL/rerank ``{model, query, documents, top_n}`` answered
    with ``{"results": [{"index", "relevance_score"}]}``; the key for URL (if any) as a Bearer token."""
    import httpx

    from rag.settings import get_settings

    model, base = spec.removeprefix("rerank:").split("@", 1)
    key = (settings or get_settings()).key_for(base)
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    r = httpx.post(base.rstrip("/") + "/rerank", timeout=60.0, headers=headers,
                   json={"model": model, "query": query, "documents": passages, "top_n": len(passages)})
    r.raise_for_status()
    scores = [float("-inf")] * len(passages)  # a passage the endpoint left out ranks last
    for item in r.json()["results"]:
        scores[int(item["index"])] = float(item["relevance_score"])
    return scores


def rerank(spec: str, query: str, hits: list[tuple[str, float]], texts: dict[str, str] | callable,
           k: int, settings=None) -> list[tuple[str, float]]:
    """The best k of ``hits`` by the reranker's score of (query, passage text), in trec_eval order;
    ``none`` keeps the search's top k."""
    if spec == "none" or not hits:
        return hits[:k]
    text_of = texts if callable(texts) else texts.__getitem__
    passages = [text_of(d) for d, _ in hits]
    if spec.startswith("rerank:"):
        scores = _endpoint_scores(spec, query, passages, settings)
    else:
        scores = _cross_encoder(reranker_folder(spec)).predict([(query, p) for p in passages], show_progress_bar=False)
    return canonical_order([(d, float(s)) for (d, _), s in zip(hits, scores)])[:k]
