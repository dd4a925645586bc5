"""Builders for stored runs in the documented shapes, for tests of comparison, reports, gates and pages.

Retrieval runs written here look exactly like ``rag.retrieval.save_run``'s (rows with ``ranking`` and
``metric@k`` values, summary ``{"metrics": {model: {metric: mean}}}``); RAG runs like
``evaluators.rag.job``'s (rows with ``question_id``, ``response``, ``retrieved_ids``, metric values,
``errors``; summary metrics ``{mean, n, total}``). Real runs are made in the tests with the real
Retriever as well; these builders give known per-query numbers for statistics tests.
"""

from __future__ import annotations

import math

from rag.data.dataset import Dataset, Document, Query


def make_dataset(name: str = "synthetic", n_queries: int = 12, n_docs: int = 20, title=None,
                 query_text=None) -> Dataset:
    docs = [Document(f"d{i}", title(i) if title else f"Doc {i}", f"text of document {i}") for i in range(n_docs)]
    queries = [Query(f"q{i}", query_text(i) if query_text else f"question {i}", f"answer {i}")
               for i in range(n_queries)]
    qrels = {f"q{i}": {f"d{i % n_docs}": 1, f"d{(i + 1) % n_docs}": 2} for i in range(n_queries)}
    return Dataset(name, docs, queries, qrels, source=f"test:{name}")


def _mean(values) -> float | None:
    vals = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return sum(vals) / len(vals) if vals else None


def write_retrieval_run(store, dataset: Dataset, scores: dict[str, dict[str, float]], k: int = 5,
                        config: dict | None = None, status: str = "done") -> str:
    """A retrieval run whose ndcg@k per (model, query) is ``scores``; precision@k is ndcg / 2."""
    models = list(scores)
    run_id = store.create("retrieval", {"models": models, "k": k, "model_ids": {m: f"test/{m}" for m in models},
                                        "dataset_source": dataset.source, "index_type": "FLAT", "metric": "COSINE",
                                        **(config or {})}, dataset=dataset)
    rows = []
    for m in models:
        for i, (q, v) in enumerate(scores[m].items()):
            ranking = [[d.id, round(1 - j / 10, 3)] for j, d in enumerate(dataset.documents[i:i + k])]
            rows.append({"model": m, "item_id": q, "ranking": ranking, f"ndcg@{k}": v, f"precision@{k}": v / 2})
    store.add_rows(run_id, rows)
    summary = {"metrics": {m: {f"ndcg@{k}": _mean(scores[m].values()),
                               f"precision@{k}": _mean(v / 2 for v in scores[m].values())} for m in models},
               "search_seconds": dict.fromkeys(models, 0.1)}
    if status == "done":
        store.finish(run_id, summary)
    else:
        store.update_summary(run_id, summary)
        store.set_status(run_id, status)
    return run_id


def write_rag_run(store, dataset: Dataset, scores: dict[str, dict[str, dict[str, float | None]]],
                  generator: dict | None = None, judge: dict | None = None, responses=None,
                  usage: dict | None = None, prompt: str = "Answer from {context}: {question}") -> str:
    """A RAG run: ``scores[model][question_id][metric]`` (None = the judge failed on that row)."""
    models = list(scores)
    metrics = list(dict.fromkeys(name for per_q in scores.values() for vals in per_q.values() for name in vals))
    gen = generator or {"spec": "extractive", "label": "Extractive (baseline, no LLM)", "baseline": True}
    run_id = store.create("rag", {"models": models, "k": 4, "dataset_source": dataset.source, "generator": gen,
                                  "judge": judge, "metrics_active": metrics,
                                  "rag": {"prompt_template": prompt, "generator": gen["spec"]},
                                  "model_ids": {m: f"test/{m}" for m in models}}, dataset=dataset)
    rows = []
    for m in models:
        for q, vals in scores[m].items():
            errors = {name: "judge timed out" for name, v in vals.items() if v is None}
            rows.append({"model": m, "item_id": q, "question_id": q, "question": f"question {q}",
                         "response": (responses or {}).get((m, q), f"answer of {m} to {q}"),
                         "retrieved_ids": ["d0", "d1"], **vals, "errors": errors, "not_applicable": {},
                         "usage": (usage or {}).get(m, {}), "seconds": 0.5})
    store.add_rows(run_id, rows)
    summary = {"metrics": {m: {name: {"mean": _mean(v.get(name) for v in scores[m].values()),
                                      "n": sum(v.get(name) is not None for v in scores[m].values()),
                                      "total": len(scores[m])} for name in metrics} for m in models},
               "prices": {"gpt-4o-mini": [0.15, 0.60]}}
    store.finish(run_id, summary)
    return run_id


def write_load_run(store, dataset: Dataset, results: dict[str, dict], users: int = 10,
                   endpoint: str = "search", served: dict | None = None) -> str:
    """A load run through the load-test helper's own recorder (``loadtests.results.LoadRecorder``);
    ``served``: the service's ``/models`` answer, recorded as the load run records it."""
    from loadtests.results import EntryStats, LoadRecorder, ModelResult

    rec = LoadRecorder(store, {"models": list(results), "endpoint": endpoint, "users": users, "spawn_rate": 5,
                               "duration": 10, "k": 5, "dataset": dataset.source}, dataset)
    if served:
        rec.service_settings(served)
    for m, r in results.items():
        stats = EntryStats(f"{endpoint}[{m}]", r.get("requests", 100), r.get("failures", 0), r.get("rps", 50.0),
                           r["p50_ms"], r["p95_ms"], r["p99_ms"], r.get("avg_ms", r["p50_ms"]), r["p99_ms"], 10.0)
        history = [{"t": t, "users": users, "rps": r.get("rps", 50.0), "p95_ms": r["p95_ms"]} for t in range(3)]
        rec.model_done(ModelResult(m, endpoint, users, 5, 10, stats, history, {"embed_ms": 5.0, "search_ms": 3.0}))
    rec.finish()
    return rec.run_id
