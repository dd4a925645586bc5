"""Index a dataset with several models and compare their top-k retrieval: the workbench's spine.

``index_models`` builds (or reuses) one Milvus collection per model; ``retrieve`` runs every judged
query against each and scores the rankings with trec_eval definitions. ``comparison_table`` lays
out the article's table: Rank | model A | model B | ... with each document's title and ✅/❎,
then Precision and Recall rows.

Usage:
    ds = load_dataset("sample")
    with Workbench() as wb:
        wb.index(ds, ["minilm", "bm25"])
        result = wb.retrieve(ds, ["minilm", "bm25"], k=4)
    result.metrics["minilm"]["ndcg@4"]
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from evaluators.retrieval_metrics import score_run
from rag.dataset import Dataset
from rag.embedders import ModelSpec, resolve
from rag.milvus_server import MilvusInfo, ensure_milvus
from rag.store import BuildResult, IndexConfig, MilvusStore

RELEVANT, NOT_RELEVANT = "✅", "❎"
IndexProgress = Callable[[str, str, int, int], None]  # (model, stage, done, total)


@dataclass
class RetrievalResult:
    dataset: str
    k: int
    models: list[str]
    rankings: dict[str, dict[str, list[tuple[str, float]]]]   # model -> query id -> [(doc, score)]
    per_query: dict[str, dict[str, dict[str, float]]]          # model -> query id -> metric -> value
    metrics: dict[str, dict[str, float]]                       # model -> metric -> mean
    search_seconds: dict[str, float] = field(default_factory=dict)
    collections: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"dataset": self.dataset, "k": self.k, "metrics": self.metrics,
                "rankings": {m: {q: [[d, round(s, 6)] for d, s in hits] for q, hits in r.items()}
                             for m, r in self.rankings.items()}}

    def metrics_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.metrics).T.rename_axis("model")


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
               chunking: str = "") -> list[list[tuple[str, float]]]:
        built = self.store.ensure_collection(dataset, spec, self.index_config, chunking)
        return pad_rankings(dataset, self.store.search(built.name, spec, queries, k, self.index_config), k)

    def retrieve(self, dataset: Dataset, models: list[str], k: int = 10, chunking: str = "",
                 progress: IndexProgress | None = None) -> RetrievalResult:
        if k < 1:
            raise ValueError(f"k must be at least 1 (got {k})")
        specs = [resolve(m) for m in models]
        built = self.index(dataset, models, chunking, progress)
        queries = dataset.judged_queries
        texts = [q.text for q in queries]
        rankings, per_query, metrics, secs = {}, {}, {}, {}
        for spec in specs:
            t = time.perf_counter()
            hits = pad_rankings(dataset, self.store.search(built[spec.name].name, spec, texts, k, self.index_config), k)
            secs[spec.name] = time.perf_counter() - t
            rankings[spec.name] = {q.id: h for q, h in zip(queries, hits)}
            per_query[spec.name], metrics[spec.name] = score_run(rankings[spec.name], dataset.qrels, k)
            if progress:
                progress(spec.name, "search", len(queries), len(queries))
        return RetrievalResult(dataset.name, k, [s.name for s in specs], rankings, per_query, metrics, secs,
                               {m: b.name for m, b in built.items()})


def pad_rankings(dataset: Dataset, rankings: list[list[tuple[str, float]]], k: int) -> list[list[tuple[str, float]]]:
    """Fill short result lists up to k with the unmatched documents at score 0.

    BM25 (and so hybrid) only returns documents sharing a term with the query; the rest have a true
    BM25 score of 0. Listing them at 0, in trec_eval's tie order (doc id descending), keeps "k
    documents per query" for every model without changing any metric.
    """
    if all(len(r) >= k for r in rankings):
        return rankings
    ids_desc = sorted((d.id for d in dataset.documents), reverse=True)
    out = []
    for hits in rankings:
        if len(hits) < k:
            seen = {d for d, _ in hits}
            hits = hits + [(d, 0.0) for d in ids_desc if d not in seen][:k - len(hits)]
        out.append(hits)
    return out


def comparison_table(dataset: Dataset, result: RetrievalResult, query_id: str) -> pd.DataFrame:
    """The article's table for one query: Rank | model… with '✅ Title' / '❎ Title' cells, then
    Precision and Recall rows."""
    rel = dataset.relevant(query_id)
    k = result.k
    cols: dict[str, list[str]] = {}
    for m in result.models:
        hits = result.rankings[m].get(query_id, [])
        cells = [f"{RELEVANT if d in rel else NOT_RELEVANT} {dataset.doc(d).title or d}" for d, _ in hits]
        cols[m] = cells + [""] * (k - len(cells))
        pq = result.per_query[m].get(query_id, {})
        cols[m] += [f"{pq.get(f'precision@{k}', 0.0):.2f}", f"{pq.get(f'recall@{k}', 0.0):.2f}"]
    index = [str(i) for i in range(1, k + 1)] + ["Precision", "Recall"]
    return pd.DataFrame(cols, index=pd.Index(index, name="Rank"))


def save_run(store, dataset: Dataset, result: RetrievalResult, config: dict | None = None) -> str:
    """Record a retrieval run (config, per-query rows with rankings, means) in the run store."""
    cfg = {"models": result.models, "k": result.k, "collections": result.collections,
           "model_ids": {m: resolve(m).model_id for m in result.models},
           "dataset_source": dataset.source, **(config or {})}
    run_id = store.create("retrieval", cfg, dataset=dataset)
    rows = [{"model": m, "item_id": q, "ranking": [[d, s] for d, s in result.rankings[m].get(q, [])], **vals}
            for m in result.models for q, vals in result.per_query[m].items()]
    store.add_rows(run_id, rows)
    store.finish(run_id, {"metrics": result.metrics, "search_seconds": result.search_seconds})
    return run_id


def summary_frame(result: RetrievalResult, n_resamples: int = 2000) -> pd.DataFrame:
    """One row per (model, metric): mean with a 95% bootstrap CI over the judged queries."""
    from evaluators.statistics import bootstrap_ci

    rows = []
    for m in result.models:
        pq = result.per_query[m]
        for metric in next(iter(pq.values()), {}):
            mean, low, high = bootstrap_ci([v[metric] for v in pq.values()], n_resamples=n_resamples)
            rows.append({"model": m, "metric": metric, "mean": mean, "ci_low": low, "ci_high": high, "n": len(pq)})
    return pd.DataFrame(rows)


def ci_table(summary: pd.DataFrame, models: list[str]) -> pd.DataFrame:
    """``summary_frame`` as model × metric cells reading "mean [low, high]", models in the given order."""
    cells = summary.assign(value=[f"{m:.3f} [{lo:.3f}, {hi:.3f}]" for m, lo, hi in
                                  zip(summary["mean"], summary["ci_low"], summary["ci_high"])])
    table = cells.pivot(index="model", columns="metric", values="value").reindex(models)
    return table[list(summary["metric"].unique())]


def ranking_detail(dataset: Dataset, result: RetrievalResult, query_id: str) -> pd.DataFrame:
    """Per model, per rank: document, title, score and its relevance grade (drill-down)."""
    qrels = dataset.qrels.get(query_id, {})
    return pd.DataFrame([{"model": m, "rank": i, "doc id": d, "title": dataset.doc(d).title, "score": s,
                          "grade": qrels.get(d, 0), "relevant": RELEVANT if qrels.get(d, 0) > 0 else NOT_RELEVANT}
                         for m in result.models for i, (d, s) in enumerate(result.rankings[m].get(query_id, []), 1)])
