"""What the HTTP service adds: /search p50 over HTTP ÷ in-process encode + search p50 (goal ≤ 1.15).

The same queries (the dataset's questions, cycled) against the same Milvus collections, one request
at a time so nothing queues:

- **HTTP**: ``POST /search`` to the service (its own process) over a keep-alive connection on
  127.0.0.1, timed by the client, JSON parsed.
- **in-process, same requests**: the service's own ``embed_ms + search_ms`` for those very requests,
  timed around ``encoder.embed_query`` + ``MilvusStore.search`` inside the service. Same process,
  same warm model, same moment: the cleanest baseline, and the headline ratio.
- **in-process, this process**: the same two calls made here, in phases while the service is idle
  (two PyTorch processes interleaved query by query slow each other down on 2 cores, so the phases
  alternate in blocks with a pause). Noisier on a shared machine; reported as a cross-check.

Usage:
    python benchmarks/bench_service_overhead.py [--n 400] [--models minilm,bm25] [--dataset sample] [--k 10]

Uses a temporary data folder and its own Milvus Lite server, so ./data is untouched.
"""

from __future__ import annotations

import argparse
import http.client
import json
import time

import numpy as np
from _setup import cleanup, isolated_workbench, parse  # noqa: E402  (puts the project on sys.path)


def _p(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 2)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=400, help="timed queries per model and path")
    ap.add_argument("--models", default="minilm,bm25")
    ap.add_argument("--dataset", default="sample")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--block", type=int, default=50, help="queries per phase before switching path")
    args = parse(ap, smoke={"n": 10, "block": 5})
    tmp = isolated_workbench()

    from loadtests.procs import ServiceProcess
    from rag.data.loaders import load_dataset
    from rag.models.registry import resolve
    from rag.retrieval import Retriever

    models = [m.strip() for m in args.models.split(",") if m.strip()]
    svc = None
    try:
        ds = load_dataset(args.dataset)
        queries = [q.text for q in ds.queries]
        with Retriever() as wb:
            built = wb.index(ds, models)
            svc = ServiceProcess(args.dataset, models).start()
            host, port = svc.url.removeprefix("http://").split(":")
            conn = http.client.HTTPConnection(host, int(port), timeout=30)

            def over_http(model: str, q: str) -> tuple[float, float]:
                t = time.perf_counter()
                conn.request("POST", "/search", json.dumps({"model": model, "query": q, "k": args.k}),
                             {"content-type": "application/json"})
                r = conn.getresponse()
                body = json.loads(r.read())
                ms = (time.perf_counter() - t) * 1000
                assert r.status == 200 and body["hits"], body
                return ms, body["timings"]["embed_ms"] + body["timings"]["search_ms"]

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
                http_ms, inside_ms, here_ms = [], [], []
                for start in range(0, args.n, args.block):
                    idx = range(start, min(args.n, start + args.block))
                    time.sleep(1.0)  # let the other process' threads go idle
                    here_ms += [in_process(model, queries[j % len(queries)]) for j in idx]
                    time.sleep(1.0)
                    conn.close()  # a fresh keep-alive connection, opened by an untimed request
                    over_http(model, queries[0])
                    for j in idx:
                        a, b = over_http(model, queries[j % len(queries)])
                        http_ms.append(a)
                        inside_ms.append(b)
                rows.append({"model": model, "n": args.n, "http_p50_ms": _p(http_ms, 50),
                             "http_p95_ms": _p(http_ms, 95), "inside_p50_ms": _p(inside_ms, 50),
                             "here_p50_ms": _p(here_ms, 50), "here_p95_ms": _p(here_ms, 95),
                             "ratio_inside": round(_p(http_ms, 50) / _p(inside_ms, 50), 3),
                             "ratio_here": round(_p(http_ms, 50) / _p(here_ms, 50), 3),
                             "added_p50_ms": round(_p(http_ms, 50) - _p(inside_ms, 50), 2)})
                print(json.dumps(rows[-1]), flush=True)
            conn.close()
        print(f"\n{args.dataset}, k = {args.k}, {args.n} sequential queries per model and path")
        print("| model | HTTP p50 (ms) | in-process p50, same requests (ms) | HTTP ÷ in-process | added (ms) | "
              "in-process p50, this process (ms) | HTTP ÷ that |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for r in rows:
            print(f"| {r['model']} | {r['http_p50_ms']} | {r['inside_p50_ms']} | **{r['ratio_inside']}** | "
                  f"{r['added_p50_ms']} | {r['here_p50_ms']} | {r['ratio_here']} |")
    finally:
        if svc is not None:
            svc.stop()
        cleanup(tmp)


if __name__ == "__main__":
    main()
