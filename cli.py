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


def _write(output: str | None, payload: dict) -> None:
    if output:
        Path(output).write_text(json.dumps(payload, indent=2, ensure_ascii=False))
        print(f"wrote {output}")


def cmd_retrieval(args) -> int:
    from rag.loaders import load_dataset
    from rag.retrieval import Workbench, save_run
    from rag.runs import RunStore
    from rag.store import IndexConfig

    ds = load_dataset(args.dataset)
    with Workbench(index_config=IndexConfig(args.index, args.metric)) as wb:
        def progress(model, stage, done, total):
            if stage != "search" and (done == total or done % 1000 < 64):
                print(f"  {model}: {stage} {done}/{total}", file=sys.stderr)
        result = wb.retrieve(ds, args.models, k=args.k, progress=progress)
    run_id = save_run(RunStore.default(), ds, result, {"index_type": args.index, "metric": args.metric})
    frame = result.metrics_frame()
    print(f"{ds.name}: {len(ds.documents)} documents, {len(ds.judged_queries)} judged queries, k={args.k}")
    print(frame.to_string(float_format=lambda x: f"{x:.4f}"))
    print(f"run_id {run_id}")
    _write(args.output, {"run_id": run_id, **result.to_json()})
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="cli.py", description="RAG evaluation workbench, headless.")
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("retrieval", help="compare embedding models' retrieval on a dataset")
    r.add_argument("--dataset", required=True, help="'sample' or a BEIR folder")
    r.add_argument("--models", type=_models, default=["minilm", "bm25"], help="comma-separated, e.g. minilm,bm25")
    r.add_argument("--k", type=int, default=10)
    r.add_argument("--index", default="FLAT", help="FLAT (exact), HNSW, IVF_FLAT, IVF_SQ8")
    r.add_argument("--metric", default="COSINE", help="COSINE, IP or L2")
    r.add_argument("--output", help="write the JSON result here")
    r.set_defaults(func=cmd_retrieval)
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
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
