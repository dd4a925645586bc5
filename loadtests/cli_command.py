"""``python cli.py loadtest``: the Load test page, headless (CI, scripts, benchmarks).

Prints one line per model and writes ``{"run_id", "results": {MODEL: {requests, failures, rps,
p50_ms, p95_ms, p99_ms}}}`` (plus ``"slo": {MODEL: {max_users, rps}}`` with ``--slo-p95-ms``).
A run that cannot start or breaks off exits 2 with the reason, and its run record says "failed".

Usage:
    python cli.py loadtest --models minilm,bm25 --endpoint search --users 10 --spawn-rate 5 \\
        --duration 20 --output load.json
    python cli.py loadtest --models minilm --slo-p95-ms 200 --slo-max-users 32
"""

from __future__ import annotations

import json
import sys


def _models(text: str) -> list[str]:
    import argparse

    models = [m.strip() for m in text.split(",") if m.strip()]
    if not models:
        raise argparse.ArgumentTypeError("give at least one model, e.g. minilm,bm25")
    return models


def cmd_loadtest(args) -> int:
    from loadtests.results import batching_label
    from loadtests.runner import LoadConfig, LoadTestError, run_load_test
    from rag.embedders import ModelUnavailable
    from rag.milvus_server import MilvusUnavailable
    from rag.outputs import check_output
    from rag.store import IndexConfig

    check_output(args.output)
    index = IndexConfig.parse(getattr(args, "index", "FLAT"), getattr(args, "metric", "COSINE"),
                              getattr(args, "index_params", "{}"))
    cfg = LoadConfig(models=args.models, endpoint=args.endpoint, users=args.users, spawn_rate=args.spawn_rate,
                     duration=args.duration, k=args.k, dataset=args.dataset, host=args.host,
                     processes=args.processes, workers=args.workers, slo_p95_ms=args.slo_p95_ms,
                     slo_max_users=args.slo_max_users, slo_step_seconds=args.slo_step_seconds,
                     index_type=index.index_type, metric=index.metric, index_params=index.params,
                     batching=not args.no_batching, batch_window_ms=args.batch_window_ms, max_batch=args.max_batch)

    def progress(ev: dict) -> None:
        if "phase" in ev:
            print(f"  {ev['phase']}", file=sys.stderr, flush=True)
    try:
        report = run_load_test(cfg, progress)
    except (LoadTestError, ModelUnavailable, MilvusUnavailable) as e:
        run = getattr(e, "run_id", None)
        print(f"error: {e}" + (f" (run {run} marked failed)" if run else ""), file=sys.stderr)
        return 2
    out = report.to_json()
    print(f"{'model':<16}{'requests':>9}{'failures':>9}{'rps':>9}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}")
    for m, r in out["results"].items():
        print(f"{m:<16}{r['requests']:>9}{r['failures']:>9}{r['rps']:>9.1f}{r['p50_ms']:>8g}{r['p95_ms']:>8g}"
              f"{r['p99_ms']:>8g}")
    print(f"served with {batching_label(cfg.record(), {'service': report.service})}")
    for m, s in out.get("slo", {}).items():
        print(f"SLO p95 <= {args.slo_p95_ms:g} ms: {m} holds up to {s['max_users']} users at {s['rps']:.1f} req/s")
    print(f"run_id {report.run_id}")
    if args.output:
        from rag.outputs import write_atomic
        from rag.runs import RunStore

        try:
            write_atomic(args.output, json.dumps(out, indent=2))
        except OSError as e:
            RunStore.default().set_status(report.run_id, "failed", str(e))
            print(f"error: {e} (run {report.run_id} marked failed)", file=sys.stderr)
            return 2
        print(f"wrote {args.output}")
    return 0


def add_loadtest_command(sub) -> None:
    from loadtests.batcher import DEFAULT_MAX_BATCH, DEFAULT_WINDOW_MS

    lt = sub.add_parser("loadtest", help="load-test models through the HTTP service with Locust (127.0.0.1)")
    lt.add_argument("--models", type=_models, default=["minilm", "bm25"], help="comma-separated, e.g. minilm,bm25")
    lt.add_argument("--endpoint", default="search", help="search, rag, or milvus (Milvus alone, no model)")
    lt.add_argument("--users", type=int, default=10, help="concurrent users per model (max 500)")
    lt.add_argument("--spawn-rate", type=float, default=5.0, help="users started per second")
    lt.add_argument("--duration", type=int, default=20, help="seconds per model (max 900)")
    lt.add_argument("--k", type=int, default=10)
    lt.add_argument("--dataset", default="sample", help="'sample' or a BEIR folder: what is indexed and asked")
    lt.add_argument("--host", help="an already running service URL (default: start one on 127.0.0.1)")
    lt.add_argument("--processes", type=int, default=1,
                    help="Locust load-generator processes (one master forks N workers)")
    lt.add_argument("--workers", type=int, default=0,
                    help="start a Locust --master and N separate --worker processes (all on 127.0.0.1)")
    lt.add_argument("--slo-p95-ms", type=float, help="also find the most users whose p95 stays under this")
    lt.add_argument("--slo-max-users", type=int, default=64)
    lt.add_argument("--slo-step-seconds", type=int, default=10)
    lt.add_argument("--no-batching", action="store_true",
                    help="the service serves one request at a time (default: micro-batches concurrent queries)")
    lt.add_argument("--batch-window-ms", type=float, default=DEFAULT_WINDOW_MS,
                    help=f"micro-batch window (default {DEFAULT_WINDOW_MS:g} ms)")
    lt.add_argument("--max-batch", type=int, default=DEFAULT_MAX_BATCH,
                    help=f"queries per encode() call at most (default {DEFAULT_MAX_BATCH})")
    lt.add_argument("--output", help="write the JSON result here")
    lt.set_defaults(func=cmd_loadtest)
