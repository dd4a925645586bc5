"""Index a dataset with several models and search each collection: the workbench's spine.

``Workbench.index`` builds (or reuses) one Milvus collection per model; ``Workbench.search_all``
runs every judged query against each and returns what each model returned, unpadded: a model
that matched fewer than k documents (BM25, hybrid) returns fewer. Scoring, statistics and the
article's table live in ``evaluators.retrieval_eval`` (``rag`` imports nothing from ``evaluators``).

Usage:
    ds = load_dataset("sample")
    with Workbench() as wb:
        wb.index(ds, ["minilm", "bm25"])
        found = wb.search_all(ds, ["minilm", "bm25"], k=4)
    found.rankings["minilm"]["q1"]      # [(doc id, score), ...] at most k
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from rag.dataset import Dataset
from rag.embedders import ModelSpec, resolve
from rag.milvus_server import MilvusInfo, ensure_milvus
from rag.store import BuildResult, IndexConfig, MilvusStore

IndexProgress = Callable[[str, str, int, int], None]  # (model, stage, done, total)
Ranking = list[tuple[str, float]]


@dataclass
class SearchResult:
    """What each model returned for each judged query (at most k documents, best first)."""
    dataset: str
    k: int
    models: list[str]
    rankings: dict[str, dict[str, Ranking]]                   # model -> query id -> [(doc, score)]
    search_seconds: dict[str, float] = field(default_factory=dict)
    collections: dict[str, str] = field(default_factory=dict)


class Workbench:
    """A Milvus connection plus the model specs in use; one per process or page session."""

    def __init__(self, info: MilvusInfo | None = None, index_config: IndexConfig | None = None):
        self.info = info or ensure_milvus()
        self.store = MilvusStore(self.info)
        self.index_config = index_config or IndexConfig()

    def __enter__(self) -> Workbench:
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
        specs = [resolve(m) for m in models]  # fail on an unknown model before building anything
        out = {}
        for spec in specs:
            cb = (lambda stage, d, t, _m=spec.name: progress(_m, stage, d, t)) if progress else None
            out[spec.name] = self.store.ensure_collection(dataset, spec, self.index_config, chunking, cb, force)
        return out

    def search(self, dataset: Dataset, spec: ModelSpec, queries: list[str], k: int,
               chunking: str = "") -> list[Ranking]:
        """Top-k per query text, as the model returned them (a short list stays short)."""
        built = self.store.ensure_collection(dataset, spec, self.index_config, chunking)
        return self.store.search(built.name, spec, queries, k, self.index_config)

    def search_all(self, dataset: Dataset, models: list[str], k: int = 10, chunking: str = "",
                   progress: IndexProgress | None = None) -> SearchResult:
        """Index (or reuse) every model's collection, then search every judged query in each."""
        if k < 1:
            raise ValueError(f"k must be at least 1 (got {k})")
        specs = [resolve(m) for m in models]
        built = self.index(dataset, models, chunking, progress)
        queries = dataset.judged_queries
        texts = [q.text for q in queries]
        rankings, secs = {}, {}
        for spec in specs:
            t = time.perf_counter()
            hits = self.store.search(built[spec.name].name, spec, texts, k, self.index_config)
            secs[spec.name] = time.perf_counter() - t
            rankings[spec.name] = {q.id: h for q, h in zip(queries, hits)}
            if progress:
                progress(spec.name, "search", len(queries), len(queries))
        return SearchResult(dataset.name, k, [s.name for s in specs], rankings, secs,
                            {m: b.name for m, b in built.items()})
