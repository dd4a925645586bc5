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

from typing import Annotated

import typer

from commands import options
from commands.options import command
from loadtests.batcher import DEFAULT_MAX_BATCH, DEFAULT_WINDOW_MS
from rag.i18n import _

Opt = typer.Option


def loadtest(models: Annotated[options.NameList, options.models_option()] = "minilm,bm25",
             endpoint: Annotated[str, Opt(help="search, rag, or milvus (Milvus alone, no model)")] = "search",
             users: Annotated[int, Opt(help="concurrent users per model (max 500)")] = 10,
             spawn_rate: Annotated[float, Opt(help="users started per second")] = 5.0,
             duration: Annotated[int, Opt(help="seconds per model (max 900)")] = 20,
             k: int = 10,
             dataset: Annotated[str, Opt(help="'sample' or a BEIR folder: what is indexed and asked")] = "sample",
             host: Annotated[str | None, Opt(help="an already running service URL (default: start one on "
                                                  "127.0.0.1)")] = None,
             processes: Annotated[int, Opt(help="Locust load-generator processes (one master forks N workers)")] = 1,
             workers: Annotated[int, Opt(help="start a Locust --master and N separate --worker processes (all on "
                                              "127.0.0.1)")] = 0,
             slo_p95_ms: Annotated[float | None, Opt(help="also find the most users whose p95 stays under this")]
             = None,
             slo_max_users: int = 64,
             slo_step_seconds: int = 10,
             no_batching: Annotated[bool, Opt("--no-batching", help="the service serves one request at a time "
                                                                   "(default: micro-batches concurrent queries)")]
             = False,
             batch_window_ms: Annotated[float, Opt(help=f"micro-batch window (default {DEFAULT_WINDOW_MS:g} ms)")]
             = DEFAULT_WINDOW_MS,
             max_batch: Annotated[int, Opt(help=f"queries per encode() call at most (default {DEFAULT_MAX_BATCH})")]
             = DEFAULT_MAX_BATCH,
             output: Annotated[str | None, options.output_option()] = None,
             index: options.IndexType = "FLAT", metric: options.Metric = "COSINE",
             index_params: options.IndexParams = "{}",
             bm25_analyzer: options.Bm25Analyzer = "auto") -> int:
    from loadtests.config import LoadConfig
    from loadtests.procs import LoadTestError
    from loadtests.runner import run_load_test
    from rag.milvus.server import MilvusUnavailable
    from rag.models.base import ModelUnavailable
    from rag.runs.models import batching_label

    ix = options.index_config(index, metric, index_params, bm25_analyzer)
    cfg = LoadConfig(models=models, endpoint=endpoint, users=users, spawn_rate=spawn_rate, duration=duration, k=k,
                     dataset=dataset, host=host, processes=processes, workers=workers, slo_p95_ms=slo_p95_ms,
                     slo_max_users=slo_max_users, slo_step_seconds=slo_step_seconds, index_type=ix.index_type,
                     metric=ix.metric, index_params=ix.params, bm25_analyzer=ix.bm25_analyzer,
                     batching=not no_batching,
                     batch_window_ms=batch_window_ms, max_batch=max_batch)

    def progress(ev: dict) -> None:
        if "phase" in ev:
            options.status(f"  {ev['phase']}")
    try:
        report = run_load_test(cfg, progress)
    except (LoadTestError, ModelUnavailable, MilvusUnavailable) as e:
        run = getattr(e, "run_id", None)
        options.status(_("error: {message}").format(message=_("{error} (run {run} marked failed)").format(
            error=e, run=run) if run else e))
        return 2
    out = report.to_json()
    print(f"{_('model'):<16}{_('requests'):>9}{_('failures'):>9}{'rps':>9}{_('p50 ms'):>8}{_('p95 ms'):>8}"
          f"{_('p99 ms'):>8}")
    for m, r in out["results"].items():
        print(f"{m:<16}{r['requests']:>9}{r['failures']:>9}{r['rps']:>9.1f}{r['p50_ms']:>8g}{r['p95_ms']:>8g}"
              f"{r['p99_ms']:>8g}")
    print(_("served with {batching}").format(batching=batching_label(cfg.record(), {"service": report.service})))
    for m, s in out.get("slo", {}).items():
        print(_("SLO p95 <= {limit} ms: {model} holds up to {users} users at {rps} req/s").format(
            limit=f"{slo_p95_ms:g}", model=m, users=s["max_users"], rps=f"{s['rps']:.1f}"))
    print(f"run_id {report.run_id}")  # i18n: internal (read by scripts)
    options.write_json(output, out, report.run_id)
    return 0


def register(app: typer.Typer) -> None:
    command(app, "loadtest", "load-test models through the HTTP service with Locust (127.0.0.1)")(loadtest)
