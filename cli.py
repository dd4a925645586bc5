"""Headless entry for every job the pages do: scripts, CI gates, benchmarks.

    python cli.py retrieval --dataset sample --models minilm,bm25 --k 10 --output results.json

Bad input exits non-zero with one line on stderr saying what is wrong.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _models(text: str) -> list[str]:
    models = [m.strip() for m in text.split(",") if m.strip()]
    if not models:
        raise argparse.ArgumentTypeError("give at least one model, e.g. minilm,bm25")
    return models


def index_config_from_args(args):
    from rag.store import IndexConfig

    return IndexConfig.parse(args.index, args.metric, args.index_params)


def add_index_arguments(p) -> None:
    """--index, --metric, --index-params: the same choices as the Index page, recorded in every run."""
    from rag.store import INDEX_TYPES

    p.add_argument("--index", default="FLAT", help=f"vector index: {', '.join(INDEX_TYPES)} (FLAT = exact)")
    p.add_argument("--metric", default="COSINE", help="COSINE, IP or L2")
    p.add_argument("--index-params", default="{}",
                   help='JSON overrides: HNSW M, efConstruction, ef; IVF nlist, nprobe, e.g. \'{"M": 32}\'')


def _check_output(output: str | None) -> None:
    """Refuse an unwritable --output before any work is done (and before a run is recorded)."""
    from rag.outputs import check_output

    check_output(output)


def _write(output: str | None, payload: dict, run_id: str | None = None) -> None:
    """Write the JSON atomically; if that fails the run that produced it is marked failed with the reason."""
    from rag.outputs import write_atomic

    if output:
        try:
            write_atomic(output, json.dumps(payload, indent=2, ensure_ascii=False))
        except OSError as e:
            if run_id:
                from rag.runs import RunStore

                RunStore.default().set_status(run_id, "failed", str(e))
            raise OSError(f"{e} (run {run_id} marked failed)" if run_id else str(e)) from None
        print(f"wrote {output}")


def cmd_retrieval(args) -> int:
    from evaluators.retrieval_eval import evaluate_retrieval, save_run
    from rag.loaders import load_dataset
    from rag.retrieval import Workbench
    from rag.runs import RunStore

    _check_output(args.output)
    cfg = index_config_from_args(args)  # bad index settings fail before the dataset loads
    ds = load_dataset(args.dataset)
    with Workbench(index_config=cfg) as wb:
        from rag.embedders import resolve

        wb.store.capabilities.require([resolve(m) for m in args.models], wb.index_config)  # before any work
        def progress(model, stage, done, total):
            if stage != "search" and (done == total or done % 1000 < 64):
                print(f"  {model}: {stage} {done}/{total}", file=sys.stderr)
        result = evaluate_retrieval(wb, ds, args.models, k=args.k, progress=progress)
    run_id = save_run(RunStore.default(), ds, result)  # records the index config (result.index)
    frame = result.metrics_frame()
    print(f"{ds.name}: {len(ds.documents)} documents, {len(ds.judged_queries)} judged queries, k={args.k}")
    print(frame.to_string(float_format=lambda x: f"{x:.4f}"))
    print(f"run_id {run_id}")
    _write(args.output, {"run_id": run_id, **result.to_json()}, run_id)
    return 0


def _check_output_dir(output: str) -> Path:
    """--output of ``demo`` is a folder: refuse a file, a missing parent or an unwritable folder before any
    work (the folder itself is created when its parent exists)."""
    import tempfile

    path = Path(output)
    if path.exists() and not path.is_dir():
        raise ValueError(f"--output {output}: is a file; give a folder")
    if not path.exists():
        if not path.resolve().parent.is_dir():
            raise ValueError(f"--output {output}: folder {path.resolve().parent} does not exist")
        try:
            path.mkdir()
        except OSError as e:
            raise ValueError(f"--output {output}: cannot create it ({e.strerror or e})") from None
    try:
        with tempfile.NamedTemporaryFile(dir=path, prefix=".demo.", suffix=".check"):
            pass
    except OSError as e:
        raise ValueError(f"--output {output}: folder is not writable ({e.strerror or e})") from None
    return path


def cmd_demo(args) -> int:
    """The one-click demo on the built-in sample: every step, its status on stderr, report + demo.json."""
    from evaluators.demo import RUNNING, DemoOptions, judged_estimate, plan, run_demo
    from rag.loaders import load_sample
    from rag.outputs import write_atomic
    from rag.retrieval import Workbench
    from rag.runs import RunStore

    out = _check_output_dir(args.output)
    if args.spend_cap <= 0:
        raise ValueError("--spend-cap must be > 0 USD")
    opts = DemoOptions(models=tuple(args.models), spend_cap_usd=args.spend_cap, judged=False if args.no_llm else None)
    ds = load_sample()
    if any(s.key == "rag_judged" and s.status != "skipped" for s in plan(opts)):
        est = judged_estimate(ds, opts)
        print(f"judged step: estimate {est['rows']} rows, {est['total_calls']} LLM calls, ≈{est['total_tokens']:,} "
              f"tokens, ≈${est['cost_usd']:.4f}; spend cap ${opts.spend_cap_usd:g}", file=sys.stderr, flush=True)

    def progress(steps, step):
        if step.status != RUNNING or not step.detail:  # one line per step start and end, not per row
            print(f"  {step.line()}", file=sys.stderr, flush=True)
    with Workbench() as wb:
        result = run_demo(ds, wb, RunStore.default(), opts, progress)
    for s in result.steps:
        print(s.line())
    if result.report_html:
        print(f"wrote {write_atomic(out / 'report.html', result.report_html)}")
    print(f"wrote {write_atomic(out / 'demo.json', json.dumps(result.to_json(), indent=2, ensure_ascii=False))}")
    return 0 if result.ok else 1


# ---------------------------------------------------------------- the embedded Milvus

def cmd_milvus(args) -> int:
    from rag.milvus_server import MilvusInfo, embedded_status, stop_embedded
    from rag.settings import get_settings

    s = get_settings()
    if s.milvus_uri:
        if args.action == "stop":
            raise ValueError(f"MILVUS_URI is set ({s.milvus_uri}): only the embedded Milvus Lite server of a data "
                             "folder can be stopped from here")
        from rag.capabilities import detect
        from rag.embedders import REGISTRY

        token = s.milvus_token.get_secret_value() if s.milvus_token else None
        client = MilvusInfo(uri=s.milvus_uri, token=token, embedded=False).client()
        caps = detect(client)
        client.close()
        print(f"{caps.short()} at {s.milvus_uri} (MILVUS_URI) answers")
        for spec in REGISTRY.values():
            why = caps.model_reason(spec)
            if why:
                print(f"  cannot run: {why}")
        return 0
    if args.action == "stop":
        st = stop_embedded(s)
        print(f"stopped Milvus Lite (pid {st['pid']}, port {st['port']}) of {s.data_dir}" if st
              else f"no embedded Milvus running for {s.data_dir}")
        return 0
    st = embedded_status(s)
    if not st["running"]:
        print(f"no embedded Milvus running for {s.data_dir}")
        return 0
    owners = ", ".join(map(str, st["owners"])) or "none"
    print(f"Milvus Lite (embedded) of {s.data_dir}: running, pid {st['pid']}, {st['uri']}\n"
          f"  owners (processes using it): {owners}; it stops {st['idle_stop_s']:g} s after the last one exits")
    return 0


# ---------------------------------------------------------------- runs, reports, CI gate, exports

def cmd_runs(args) -> int:
    from evaluators.history import runs_frame
    from rag.runs import RunStore

    runs = RunStore.default().list(kind=args.kind, dataset=args.dataset, limit=args.limit)
    if args.json:
        print(json.dumps([{"run_id": r.id, "kind": r.kind, "status": r.status, "created": r.created,
                           "dataset": r.dataset, "dataset_hash": r.dataset_hash,
                           "models": r.config.get("models", [])} for r in runs], indent=2))
    elif not runs:
        print("no runs yet")
    else:
        frame = runs_frame(runs)[["id", "kind", "status", "created", "dataset", "models", "headline"]]
        print(frame.to_string(index=False, max_colwidth=60))
    return 0


def cmd_report(args) -> int:
    from evaluators.report import build_report
    from rag.outputs import write_atomic
    from rag.runs import RunStore

    _check_output(args.output)
    store = RunStore.default()
    ids = store.resolve_ids(args.runs)
    html = build_report(store, ids, metric=args.metric, examples=args.examples, title=args.title)
    path = write_atomic(args.output, html)
    print(f"wrote {path} (runs {', '.join(ids)})")
    return 0


def cmd_gate(args) -> int:
    from evaluators.run_stats import check_gate
    from rag.runs import RunStore

    store = RunStore.default()
    result = check_gate(store, store.get(args.run), args.metric, args.min, args.max, args.model, args.ci_low)
    print(result.message, file=sys.stdout if result.ok else sys.stderr)
    return 0 if result.ok else 1


def cmd_export(args) -> int:
    from rag.export import export_filename, export_rows
    from rag.outputs import write_atomic
    from rag.runs import RunStore

    _check_output(args.output)
    store = RunStore.default()
    run_id = store.get(args.run).id
    output = args.output or export_filename(run_id, args.format)
    _check_output(output)
    path = write_atomic(output, export_rows(store, run_id, args.format))
    print(f"wrote {path} (run {run_id})")
    return 0


def add_run_commands(sub) -> None:
    r = sub.add_parser("runs", help="list stored runs, newest first")
    r.add_argument("--kind", choices=["retrieval", "rag", "load"])
    r.add_argument("--dataset", help="only runs on this dataset name")
    r.add_argument("--limit", type=int, default=50)
    r.add_argument("--json", action="store_true", help="print JSON instead of a table")
    r.set_defaults(func=cmd_runs)

    r = sub.add_parser("report", help="self-contained HTML report for one or more runs")
    r.add_argument("--runs", required=True, help="comma-separated run ids, or 'latest'")
    r.add_argument("--output", default="report.html")
    r.add_argument("--metric", help="main quality metric (default nDCG@k / the first Ragas metric)")
    r.add_argument("--examples", type=int, default=3, help="example queries shown as rank tables")
    r.add_argument("--title")
    r.set_defaults(func=cmd_report)

    r = sub.add_parser("gate", help="CI gate: exit 1 when a run's metric misses a threshold")
    r.add_argument("--run", required=True, help="run id or 'latest'")
    r.add_argument("--metric", required=True, help="e.g. ndcg@10, faithfulness, p95_ms")
    r.add_argument("--min", type=float, help="fail when the value is below this")
    r.add_argument("--max", type=float, help="fail when the value is above this (latency)")
    r.add_argument("--ci-low", type=float, dest="ci_low",
                   help="fail when the lower bound of the 95%% bootstrap CI is below this (retrieval, RAG)")
    r.add_argument("--model", help="only this model (default: every model in the run)")
    r.set_defaults(func=cmd_gate)

    r = sub.add_parser("export", help="export a run: per-query rows (csv, parquet) or the whole run (json)")
    r.add_argument("--run", required=True, help="run id or 'latest'")
    r.add_argument("--format", choices=["csv", "parquet", "json"], default="csv")
    r.add_argument("--output", help="file to write (default run-ID-rows.FORMAT / run-ID.json)")
    r.set_defaults(func=cmd_export)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="cli.py", description="RAG evaluation workbench, headless.")
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("retrieval", help="compare embedding models' retrieval on a dataset")
    r.add_argument("--dataset", required=True, help="'sample' or a BEIR folder")
    r.add_argument("--models", type=_models, default=["minilm", "bm25"], help="comma-separated, e.g. minilm,bm25")
    r.add_argument("--k", type=int, default=10)
    add_index_arguments(r)
    r.add_argument("--output", help="write the JSON result here")
    r.set_defaults(func=cmd_retrieval)
    r = sub.add_parser("demo", help="the one-click demo on the built-in sample: index, compare, RAG, load, report")
    r.add_argument("--output", required=True, help="folder for report.html and demo.json (created if missing)")
    r.add_argument("--models", type=_models, default=["minilm", "bm25", "hybrid"], help="comma-separated")
    r.add_argument("--spend-cap", type=float, default=0.5, help="USD cap of the judged step (with an LLM)")
    r.add_argument("--no-llm", action="store_true", help="skip the judged step even when an LLM is configured")
    r.set_defaults(func=cmd_demo)
    r = sub.add_parser("milvus", help="this data folder's embedded Milvus Lite server: status or stop")
    r.add_argument("action", choices=["status", "stop"])
    r.set_defaults(func=cmd_milvus)
    add_run_commands(sub)
    from evaluators.rag_cli import add_rag_command

    add_rag_command(sub)
    from loadtests.cli_command import add_loadtest_command

    add_loadtest_command(sub)
    for name in ("rag", "loadtest"):  # every run kind takes (and records) the same index settings
        add_index_arguments(sub.choices[name])
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from rag.dataset import DatasetError
    from rag.embedders import ModelUnavailable
    from rag.milvus_server import MilvusUnavailable
    from rag.runs import RunNotFound

    try:
        return args.func(args)
    except (DatasetError, ModelUnavailable, MilvusUnavailable, RunNotFound, ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except Exception as e:  # a Milvus call failing mid-run: one line, not a pymilvus traceback
        if not type(e).__module__.startswith(("pymilvus", "grpc")):
            raise
        print(f"error: Milvus failed: {getattr(e, 'message', None) or e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
