"""Writes ``tests/data/runs_v1.sqlite``: runs stored by the code before typed runs (commit 9597c81),
where metric values sat beside the row fields (``row["ndcg@4"]``) instead of in ``scores``.

Kept so the file can be understood (and regenerated from that commit); ``tests/test_runs_v1.py``
opens it with today's code to check that old run stores still read (migrate on read). One real
retrieval run (minilm + bm25 on the sample, k = 4), one real RAG run (bm25 + extractive baseline,
non-LLM metrics) and one load run through ``LoadRecorder`` with the numbers of a real 10-user run.

Usage (at commit 9597c81, from the repository root):
    WORKBENCH_DATA_DIR=/tmp/v1 .venv/bin/python tests/data/make_runs_v1.py
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "tests" / "data" / "runs_v1.sqlite"


def main() -> None:
    from evaluators.rag_runner import RagConfig, run_rag
    from evaluators.retrieval_eval import evaluate_retrieval, save_run
    from loadtests.results import EntryStats, LoadRecorder, ModelResult
    from rag.milvus_server import ensure_milvus, stop_started_servers
    from rag.retrieval import Retriever
    from rag.runs import RunStore
    from rag.sample_data import load_sample

    for p in (OUT, Path(f"{OUT}-wal"), Path(f"{OUT}-shm")):
        p.unlink(missing_ok=True)
    store = RunStore(OUT)
    ds = load_sample()
    try:
        with Retriever(ensure_milvus()) as wb:
            result = evaluate_retrieval(wb, ds, ["minilm", "bm25"], k=4)
            print("retrieval", save_run(store, ds, result))
            cfg = RagConfig(models=["bm25"], generator="extractive", judge="none", k=2, limit=4,
                            metrics=["nonllm_context_precision", "nonllm_context_recall", "rouge_l"])
            print("rag", run_rag(ds, cfg, retriever=wb, store=store).run_id)
    finally:
        stop_started_servers()
    rec = LoadRecorder(store, {"models": ["bm25", "minilm"], "endpoint": "search", "users": 10, "spawn_rate": 5,
                               "duration": 10, "k": 4, "dataset": "sample", "batching": False}, ds)
    for model, (n, rps, p50, p95, p99, avg, mx) in {"bm25": (3361, 336.1, 24.0, 41.0, 60.0, 26.3, 120.5),
                                                    "minilm": (410, 41.0, 210.0, 330.0, 420.0, 231.7, 610.2)}.items():
        stats = EntryStats(f"search[{model}]", n, 0, rps, p50, p95, p99, avg, mx, 10.0)
        history = [{"t": t, "ts": 1764590000 + t, "users": 10, "name": f"search[{model}]", "rps": rps,
                    "fps": 0.0, "p50_ms": p50, "p95_ms": p95, "p99_ms": p99, "requests": int(rps * (t + 1)),
                    "failures": 0.0} for t in range(3)]
        rec.model_done(ModelResult(model, "search", 10, 5, 10, stats, history,
                                   {"embed_ms": round(avg * 0.6, 2), "search_ms": round(avg * 0.2, 2)}))
    rec.finish()
    print("load", rec.run_id)
    conn = store._conn()  # small pages and no WAL: a file of a few KB that git holds as one blob
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.execute("PRAGMA page_size=1024")
    conn.execute("VACUUM")


if __name__ == "__main__":
    main()
