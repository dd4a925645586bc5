"""The independent baseline: a plain Python process that embeds and searches one query at a time.

No HTTP, no event loop, no thread pool: the model called from the main thread as a user's script would
(``encoder.raw.encode([query])``, then ``MilvusStore.search`` with that vector), against the same
Milvus collections as the service. ``bench_service_overhead.py`` starts it as its own process and
drives it in blocks over stdin (so it and the service take turns, never run at once):

    stdin:  minilm 0 50          (model, first query index, how many)
    stdout: [12.1, 11.8, ...]    (one JSON list of milliseconds per block)

Usage:
    python benchmarks/plain_search.py --dataset sample --models minilm,bm25 --k 10
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from _setup import ROOT  # noqa: F401  (puts the project on sys.path)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", default="sample")
    ap.add_argument("--models", default="minilm,bm25")
    ap.add_argument("--k", type=int, default=10)
    args = ap.parse_args()
    import numpy as np

    from rag.data.loaders import load_dataset
    from rag.models.registry import resolve
    from rag.retrieval import Retriever

    ds = load_dataset(args.dataset)
    queries = [q.text for q in ds.queries]
    with Retriever() as wb:
        models = {}
        for m in args.models.split(","):
            spec = resolve(m)
            models[m] = (spec, spec.encoder(), wb.store.ensure_collection(ds, spec, wb.index_config).name)

        def one(m: str, q: str) -> float:
            spec, enc, name = models[m]
            t = time.perf_counter()
            vec = None if enc is None else np.asarray(enc.raw.encode([q]))
            assert wb.store.search(name, spec, [q], args.k, wb.index_config, query_vectors=vec)[0]
            return (time.perf_counter() - t) * 1000

        for m in models:  # warm-up, untimed
            for q in queries[:10]:
                one(m, q)
        print("ready", flush=True)
        for line in sys.stdin:
            m, start, n = line.split()
            print(json.dumps([one(m, queries[(int(start) + i) % len(queries)]) for i in range(int(n))]), flush=True)


if __name__ == "__main__":
    main()
