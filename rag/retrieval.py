"""Index a dataset with several models and search each collection: the workbench's spine.

``Retriever.index`` builds (or reuses) one Milvus collection per model; ``Retriever.search_all``
runs every judged query against each and returns what each model returned, unpadded: a model
that matched fewer than k documents (BM25, hybrid) returns fewer. Scoring, statistics and the
article's table live in ``evaluators.retrieval.evaluate`` (``rag`` imports nothing from ``evaluators``).
Both key their results by the model spec string given (``st:/models/e5``, ``oai:m@http://h/v1``,
``minilm``), resolved once per call: what a run record stores resolves back to the same model. An image dataset
(``Dataset.modality == "image"``) works the same way with ``clip:``/``img:`` models: image queries are
embedded from their files; an audio dataset (``"audio"``) likewise with ``clap:``/``aud:`` models; a video
dataset (``"video"``) is indexed as its frames (``rag.data.frames``, ``SPEC#fps=0.5`` per model, default 1 a
second) with ``clip:``/``img:`` models and each video ranks at its best frame's place and score (as a chunked
document at its best chunk's), the best frame's second kept in ``SearchResult.frames``; a model that cannot
evaluate the dataset is refused before any work (``rag.models.spec.fit_problem`` says why).

Usage:
    ds = load_dataset("sample")
    with Retriever() as wb:
        wb.index(ds, ["minilm", "bm25"])
        found = wb.search_all(ds, ["minilm", "bm25"], k=4)
    found.rankings["minilm"]["q1"]      # [(doc id, score), ...] at most k
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from rag.data.dataset import Dataset
from rag.data.frames import DEFAULT_FPS, FramedDataset, fold_frames, frame_dataset
from rag.data.language import profile_dataset
from rag.i18n import _
from rag.milvus.index_config import IndexConfig
from rag.milvus.server import MilvusInfo, ensure_milvus
from rag.milvus.store import BuildResult, MilvusStore
from rag.models.base import ModelUnavailable
from rag.models.language_fit import fit_warnings
from rag.models.registry import prepare, resolve_all
from rag.models.spec import ModelSpec, fit_problem
from rag.settings import Settings

IndexProgress = Callable[[str, str, int, int], None]  # (model, stage, done, total)
Ranking = list[tuple[str, float]]
MAX_TOP_K = 16_384  # Milvus' largest top-k: a frame search deeper than this is cut there


@dataclass
class SearchResult:
    """What each model returned for each judged query (at most k documents, best first)."""
    dataset: str
    k: int
    models: list[str]                                         # the spec strings given, in order
    rankings: dict[str, dict[str, Ranking]]                   # model -> query id -> [(doc, score)]
    search_seconds: dict[str, float] = field(default_factory=dict)
    collections: dict[str, str] = field(default_factory=dict)
    model_ids: dict[str, str] = field(default_factory=dict)   # model -> resolved model id (run records)
    language: dict = field(default_factory=dict)  # {"language": profile, "bm25_analyzer": choice} (run records)
    frames: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)  # video datasets: model ->
    #                                                 query id -> {video id: its best frame's second}


class Retriever:
    """A Milvus connection plus the index settings and the keys in use; one per process or page session.
    ``settings`` carries a browser session's own keys (typed in the sidebar) to the embedding models;
    None means the app-wide settings (environment, ``.env``)."""

    def __init__(self, info: MilvusInfo | None = None, index_config: IndexConfig | None = None,
                 settings: Settings | None = None):
        self.store = MilvusStore(info or ensure_milvus())
        self.index_config = index_config or IndexConfig()
        self.settings = settings

    @property
    def info(self) -> MilvusInfo:
        """The Milvus in use (after a restart of the embedded server: the restarted one)."""
        return self.store.info

    def __enter__(self) -> Retriever:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        try:
            self.store.client.close()
        except Exception:
            pass

    def index(self, dataset: Dataset, models: list[str], chunking: str = "",
              progress: IndexProgress | None = None, force: bool = False) -> dict[str, BuildResult]:
        """Build (or reuse) a collection per model; keyed by the spec strings given. Every model is
        resolved and checked (folder there, endpoint up, key set) before anything is embedded."""
        return self._index(dataset, resolve_all(models, check=True, settings=self.settings), chunking, progress,
                           force)[0]

    def _index(self, dataset: Dataset, specs: dict[str, ModelSpec], chunking: str = "",
               progress: IndexProgress | None = None, force: bool = False
               ) -> tuple[dict[str, BuildResult], dict[str, FramedDataset]]:
        """Collections per model and, for a video dataset, each model's frames (its own rate)."""
        for spec in specs.values():  # a text model on images, an image backbone given text queries: refused
            if (why := fit_problem(spec, dataset)) is not None:
                raise ModelUnavailable(why)
        out, framed = {}, {}
        for key, spec in specs.items():
            cb = (lambda stage, d, t, _m=key: progress(_m, stage, d, t)) if progress else None
            corpus, build_chunking = dataset, chunking
            if dataset.modality == "video":  # frames sampled once per (video bytes, rate), then an image corpus
                framed[key] = frame_dataset(dataset, spec.option.get("fps", DEFAULT_FPS),
                                            progress=(lambda d, t, _cb=cb: _cb("frames", d, t)) if cb else None)
                # the rate is the frames' "chunking": one rate's build never drops another's collection
                corpus, build_chunking = framed[key].dataset, f"fps{framed[key].fps:g}"
            if spec.has_dense and spec.folder is not None and spec.local_folder(self.settings) is None:
                # a hub model not fetched yet: download it now, its bytes on the model's progress ("download")
                prepare(spec, self.settings, (lambda d, t, _cb=cb: _cb("download", d, t)) if cb else None)
            out[key] = self.store.ensure_collection(corpus, spec, self.index_config, build_chunking, cb, force,
                                                    settings=self.settings)
        return out, framed

    def search(self, dataset: Dataset, spec: ModelSpec, queries: list[str], k: int,
               chunking: str = "") -> list[Ranking]:
        """Top-k per query text, as the model returned them (a short list stays short)."""
        built = self.store.ensure_collection(dataset, spec, self.index_config, chunking, settings=self.settings)
        return self.store.search(built.name, spec, queries, k, self.index_config, settings=self.settings)

    def search_all(self, dataset: Dataset, models: list[str], k: int = 10, chunking: str = "",
                   progress: IndexProgress | None = None) -> SearchResult:
        """Index (or reuse) every model's collection, then search every judged query in each."""
        if k < 1:
            raise ValueError(_("k must be at least 1 (got {k})").format(k=k))
        specs = resolve_all(models, check=True, settings=self.settings)
        built, framed = self._index(dataset, specs, chunking, progress)
        queries = dataset.judged_queries
        texts = [q.text for q in queries]
        rankings, secs, frames = {}, {}, {}
        for key, spec in specs.items():
            t = time.perf_counter()
            vectors = None  # an image dataset's queries: text through the text tower, images through the vision tower
            if dataset.modality in ("image", "audio", "video") and spec.has_dense:
                vectors = spec.encoder(self.settings).embed_queries(queries)
            fr = framed.get(key)  # a video's frames: deep enough to see k distinct videos, then folded
            depth = min(len(fr.dataset.documents), k * fr.most_per_video, MAX_TOP_K) if fr else k
            hits = self.store.search(built[key].name, spec, texts, depth, self.index_config, query_vectors=vectors,
                                     settings=self.settings)
            if fr:
                folded = [fold_frames(h, fr, k) for h in hits]
                hits = [ranking for ranking, _ in folded]
                frames[key] = {q.id: best for q, (_, best) in zip(queries, folded)}
            secs[key] = time.perf_counter() - t
            rankings[key] = {q.id: h for q, h in zip(queries, hits)}
            if progress:
                progress(key, "search", len(queries), len(queries))
        language = self.store.language_record(dataset, self.index_config,
                                              sparse=any(s.has_sparse for s in specs.values()))
        language["model_fit"] = fit_warnings(specs.values(), profile_dataset(dataset))  # {model: why not}
        return SearchResult(dataset.name, k, list(specs), rankings, secs, {m: b.name for m, b in built.items()},
                            {m: s.model_id for m, s in specs.items()}, language, frames)
