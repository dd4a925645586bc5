"""What the HTTP service adds: /search p50 over HTTP ÷ in-process encode + search p50 (goal ≤ 1.15).

The same queries (the dataset's questions, cycled) go to the same Milvus collections two ways, one
request at a time so nothing queues: (a) in this process, ``encoder.embed_query`` + ``MilvusStore.search``
exactly as the service does them; (b) ``POST /search`` to the service in its own process over a
keep-alive HTTP connection on 127.0.0.1, timed by the client, JSON parsed. The two are interleaved in
blocks, so background load on the machine hits both alike. Warm-up requests are not counted.

Usage:
    python benchmarks/bench_service_overhead.py [--n 300] [--models minilm,bm25] [--dataset sample] [--k 10]

Uses a temporary data folder and its own Milvus Lite server, so ./data is untouched.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=300, help="timed queries per model and path")
    ap.add_argument("--models", default="minilm,bm25")
    ap.add_argument("--dataset", default="sample")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--block", type=int, default=25, help="queries per block before switching path")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="wb-bench-")
    os.environ["WORKBENCH_DATA_DIR"] = tmp
    os.environ["WORKBENCH_MILVUS_PORT"] = str(_free_port())

    from loadtests.procs import ServiceProcess
    from rag.embedders import resolve
    from rag.loaders import load_dataset
    from rag.milvus_server import stop_started_servers
    from rag.retrieval import Workbench

    models = [m.strip() for m in args.models.split(",") if m.strip()]
    svc = None
    try:
        ds = load_dataset(args.dataset)
        queries = [q.text for q in ds.queries]
        with Workbench() as wb:
            built = wb.index(ds, models)
            svc = ServiceProcess(args.dataset, models).start()
            host, port = svc.url.removeprefix("http://").split(":")
            conn = http.client.HTTPConnection(host, int(port), timeout=30)

            def over_http(model: str, q: str) -> float:
                t = time.perf_counter()
                conn.request("POST", "/search", json.dumps({"model": model, "query": q, "k": args.k}),
                             {"content-type": "application/json"})
                r = conn.getresponse()
                body = json.loads(r.read())
                assert r.status == 200 and body["hits"], body
                return (time.perf_counter() - t) * 1000

            def in_process(model: str, q: str) -> float:
                spec, enc = resolve(model), resolve(model).encoder()
                t = time.perf_counter()
                vec = None if enc is None else np.asarray([enc.embed_query(q)])
                hits = wb.store.search(built[model].name, spec, [q], args.k, wb.index_config, query_vectors=vec)
                assert hits[0]
                return (time.perf_counter() - t) * 1000

            rows = []
            for model in models:
                for i in range(20):  # warm-up both paths
                    in_process(model, queries[i % len(queries)])
                    over_http(model, queries[i % len(queries)])
                times: dict[str, list[float]] = {"in-process": [], "http": []}
                i = 0
                while i < args.n:
                    for path, fn in (("in-process", in_process), ("http", over_http)):
                        if path == "http":  # a fresh keep-alive connection, opened outside the timing
                            conn.close()
                            over_http(model, queries[i % len(queries)])
                        for j in range(i, min(args.n, i + args.block)):
                            times[path].append(fn(model, queries[j % len(queries)]))
                    i += args.block
                p = {k: (float(np.percentile(v, 50)), float(np.percentile(v, 95))) for k, v in times.items()}
                rows.append({"model": model, "n": args.n, "in_process_p50_ms": round(p["in-process"][0], 2),
                             "in_process_p95_ms": round(p["in-process"][1], 2), "http_p50_ms": round(p["http"][0], 2),
                             "http_p95_ms": round(p["http"][1], 2),
                             "ratio_p50": round(p["http"][0] / p["in-process"][0], 3),
                             "added_p50_ms": round(p["http"][0] - p["in-process"][0], 2)})
                print(json.dumps(rows[-1]), flush=True)
            conn.close()
        print(f"\n{args.dataset}, k = {args.k}, {args.n} sequential queries per model and path")
        print("| model | in-process p50 (ms) | HTTP p50 (ms) | added (ms) | HTTP ÷ in-process (p50) | "
              "in-process p95 | HTTP p95 |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for r in rows:
            print(f"| {r['model']} | {r['in_process_p50_ms']} | {r['http_p50_ms']} | {r['added_p50_ms']} | "
                  f"**{r['ratio_p50']}** | {r['in_process_p95_ms']} | {r['http_p95_ms']} |")
    finally:
        if svc is not None:
            svc.stop()
        stop_started_servers()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
