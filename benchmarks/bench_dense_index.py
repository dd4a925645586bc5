"""Dense search latency at scale, FLAT vs HNSW, Milvus Lite vs a real Milvus server, the same vectors.

Isolates the index from the embedding model: N unit vectors of MiniLM's 384 dimensions (seeded random,
so both servers hold the same data), 50 single-vector queries near corpus points, k = 10, COSINE; each
index searched in two rounds (the second after a 20 s pause, in case a server builds in the background).
Lite: this project's Milvus Lite server (``rag.milvus.server``); server: the PyPI ``milvus`` standalone
in ``.venv-milvus`` (``make milvus-server``), started on free ports and stopped at the end. Use it to
see where Lite stops scaling for dense search (bench_scale.py measures the whole path with real MiniLM
vectors, but takes hours on a shared 2-core machine).

Usage:
    nice .venv/bin/python benchmarks/bench_dense_index.py [--n 100000] [--only lite|server]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from _setup import ROOT, cleanup, isolated_workbench, parse  # noqa: F401  (puts the project on sys.path)


def measure(client, label: str, X, Q, pause: float) -> None:
    from pymilvus import DataType

    n, d = X.shape
    for index, params, search in [("FLAT", {}, {}), ("HNSW", {"M": 16, "efConstruction": 200}, {"ef": 64})]:
        name = f"bench_dense_{index.lower()}"
        if client.has_collection(name):
            client.drop_collection(name)
        schema = client.create_schema(auto_id=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("v", DataType.FLOAT_VECTOR, dim=d)
        ip = client.prepare_index_params()
        ip.add_index(field_name="v", index_type=index, metric_type="COSINE", params=params)
        client.create_collection(name, schema=schema, index_params=ip)
        t = time.perf_counter()
        for i in range(0, n, 5000):
            client.insert(name, [{"id": j, "v": X[j].tolist()} for j in range(i, min(n, i + 5000))])
        client.flush(name)
        for _ in range(300):  # a server indexes in the background: wait until every row is indexed
            info = client.describe_index(name, "v")
            if info.get("pending_index_rows", 0) == 0 and info.get("indexed_rows", n) >= n:
                break
            time.sleep(2)
        client.load_collection(name)
        print(f"{label} {index}: {n:,} vectors inserted, indexed and loaded in {time.perf_counter() - t:.1f} s")
        for rnd in range(2):
            lat = []
            for q in Q:
                t = time.perf_counter()
                client.search(name, data=[q.tolist()], anns_field="v", limit=10,
                              search_params={"metric_type": "COSINE", "params": search})
                lat.append((time.perf_counter() - t) * 1000)
            lat.sort()
            print(f"{label} {index} round {rnd + 1}: p50 {statistics.median(lat):.1f} ms, "
                  f"p95 {lat[int(0.95 * len(lat))]:.1f} ms", flush=True)
            if rnd == 0:
                time.sleep(pause)
        client.drop_collection(name)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--only", choices=["lite", "server"])
    ap.add_argument("--pause", type=float, default=20.0)
    ap.add_argument("--queries", type=int, default=50)
    args = parse(ap, smoke={"n": 2000, "only": "lite", "pause": 0.0, "queries": 5})
    tmp = isolated_workbench()
    import numpy as np

    try:
        rng = np.random.default_rng(0)
        X = rng.standard_normal((args.n, 384)).astype(np.float32)
        X /= np.linalg.norm(X, axis=1, keepdims=True)
        Q = X[rng.choice(args.n, args.queries)] + 0.01
        print(f"# {os.cpu_count()} cores, {time.strftime('%Y-%m-%d %H:%M')}, load {os.getloadavg()[0]:.1f}")
        if args.only != "server":
            from rag.milvus.server import ensure_milvus

            client = ensure_milvus().client()
            measure(client, "Milvus Lite", X, Q, args.pause)
            client.close()
        if args.only != "lite":
            from pymilvus import MilvusClient

            from tests.support.milvus_standalone import ROOT_TOKEN, start_standalone

            server = start_standalone()
            try:
                measure(MilvusClient(uri=server.uri, token=ROOT_TOKEN), "Milvus 2.3.5 server", X, Q, args.pause)
            finally:
                server.stop()
    finally:
        cleanup(tmp)


if __name__ == "__main__":
    main()
