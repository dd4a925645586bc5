"""Scale benchmark: BM25 and MiniLM collections far beyond SciFact's 5,183 documents on Milvus Lite.

A deterministic synthetic corpus is built from SciFact text: chunk ``j`` is two SciFact sentences
(sentence ``j mod S`` and a second one chosen by a fixed stride), with id ``sf<j>-<doc id>``, so up
to S² distinct texts exist (the embedding cache never turns a repeat into a free vector). The corpus
is a lazy sequence: chunks are made as the build reads them, so the build path's memory, not the
corpus', is what RSS measures. Measured per model: build chunks/s (after the model is loaded),
peak RSS of this process and of the Milvus Lite server (its process tree, sampled every 0.2 s),
single-query search p50/p95 over SciFact queries, FLAT and HNSW for the dense model. The build
rate is also printed per tenth of the corpus, which shows where Lite slows down.

Usage:
    nice .venv/bin/python benchmarks/bench_scale.py --bm25-chunks 1000000 --dense-chunks 100000
    nice .venv/bin/python benchmarks/bench_scale.py --bm25-chunks 20000 --dense-chunks 2000 --queries 20
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import statistics
import threading
import time
from collections.abc import Iterator, Sequence

from _setup import ROOT, cleanup, isolated_workbench, parse

SCIFACT = ROOT.parent / "shared" / "datasets" / "scifact"


class RssPeak:
    """Peak RSS of this process and of a process tree (the Milvus Lite server), sampled in a thread."""

    def __init__(self, server_pid: int | None, every: float = 0.2):
        import psutil

        self.me, self.every = psutil.Process(), every
        self.server = psutil.Process(server_pid) if server_pid else None
        self.peak_me = self.peak_server = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _tree_rss(self) -> int:
        if self.server is None:
            return 0
        total = 0
        for p in [self.server, *self.server.children(recursive=True)]:
            try:
                total += p.memory_info().rss
            except Exception:
                pass
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_me = max(self.peak_me, self.me.memory_info().rss)
            self.peak_server = max(self.peak_server, self._tree_rss())
            self._stop.wait(self.every)

    def __enter__(self) -> RssPeak:
        self._t.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._t.join()


def scifact_sentences() -> list[tuple[str, str]]:
    """(doc id, sentence) for every SciFact sentence of 20+ characters, in file order."""
    out = []
    with open(SCIFACT / "corpus.jsonl", encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            for s in re.split(r"(?<=[.!?])\s+", d["text"]):
                if len(s) >= 20:
                    out.append((d["_id"], s))
    return out


class SyntheticCorpus(Sequence):
    """``n`` chunks made on demand from SciFact sentences: deterministic, distinct texts, varied ids."""

    def __init__(self, sentences: list[tuple[str, str]], n: int):
        self.s, self.n = sentences, n
        self.stride = 7919  # a prime: the second sentence walks the corpus in another order

    def __len__(self) -> int:
        return self.n

    def _doc(self, j: int):
        from rag.data.dataset import Document

        S = len(self.s)
        doc_id, first = self.s[j % S]
        _, second = self.s[(j // S + 1 + j * self.stride) % S]
        return Document(f"sf{j:07d}-{doc_id}", "", f"{first} {second}")

    def __getitem__(self, j):
        if isinstance(j, slice):
            return [self._doc(i) for i in range(*j.indices(self.n))]
        return self._doc(j)

    def __iter__(self) -> Iterator:
        return (self._doc(j) for j in range(self.n))


class SyntheticDataset:
    """What ``ensure_collection`` reads of a dataset (name, modality, documents, corpus and content hash, queries
    for the language profile that chooses BM25's analyzer), without holding it."""

    modality = "text"
    queries: list = []

    def __init__(self, sentences, n: int):
        self.name = f"scale-{n}"
        self.documents = SyntheticCorpus(sentences, n)
        self._hash = hashlib.sha256(f"{n}:{len(sentences)}:{sentences[0]}:{sentences[-1]}".encode()).hexdigest()[:16]

    def corpus_hash(self) -> str:
        return self._hash

    def content_hash(self) -> str:
        return self._hash


def queries(n: int) -> list[str]:
    with open(SCIFACT / "queries.jsonl", encoding="utf-8") as f:
        return [json.loads(line)["text"] for line in f][:n]


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def build_and_search(store, ds, spec, cfg, qs: list[str], server_pid) -> dict:
    marks: list[tuple[float, int]] = []
    tenth = max(1, len(ds.documents) // 10)

    def progress(stage, done, total):
        if stage == "insert" and (not marks or done - marks[-1][1] >= tenth or done == total):
            marks.append((time.perf_counter(), done))
            if len(marks) > 1:
                (t0, d0), (t1, d1) = marks[-2], marks[-1]
                rate = (d1 - d0) / (t1 - t0)
                print(f"      {spec.name} {cfg.index_type}: {done:>9,}/{total:,}  {rate:8.0f} chunks/s", flush=True)

    with RssPeak(server_pid) as rss:
        built = store.ensure_collection(ds, spec, cfg, progress=progress)
        qv = spec.encoder().embed(qs, role="query") if spec.has_dense else None
        lat = []
        for i, q in enumerate(qs):
            t = time.perf_counter()
            store.search(built.name, spec, [q], 10, cfg, query_vectors=None if qv is None else qv[i:i + 1])
            lat.append((time.perf_counter() - t) * 1000)
    return {"model": spec.name, "index": cfg.index_type if spec.has_dense else "SPARSE_INVERTED_INDEX (BM25)",
            "chunks": built.n_docs, "build_s": round(built.seconds, 1), "model_load_s": round(built.load_seconds, 1),
            "embed_s": round(built.embed_seconds, 1), "cache_hits": built.cache_hits,
            "chunks_per_s": round(built.docs_per_s, 1), "peak_rss_ours_mib": rss.peak_me // 2**20,
            "peak_rss_milvus_mib": rss.peak_server // 2**20, "search_p50_ms": round(statistics.median(lat), 1),
            "search_p95_ms": round(pct(lat, 95), 1), "queries": len(qs)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bm25-chunks", type=int, default=1_000_000)
    ap.add_argument("--dense-chunks", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=100, help="SciFact queries searched one at a time")
    ap.add_argument("--dense-index", nargs="+", default=["FLAT", "HNSW"])
    args = parse(ap, smoke={"bm25_chunks": 300, "dense_chunks": 100, "queries": 3, "dense_index": ["FLAT"]})
    tmp = isolated_workbench()
    try:
        from rag.milvus.index_config import IndexConfig
        from rag.milvus.server import ensure_milvus
        from rag.milvus.store import CHUNK_DOCS, MilvusStore
        from rag.models.devices import runtime_info
        from rag.models.registry import resolve

        sentences = scifact_sentences()
        info = ensure_milvus()
        server = json.loads((__import__("pathlib").Path(tmp) / "milvus" / "server.json").read_text())["pid"]
        store, qs = MilvusStore(info), queries(args.queries)
        print(f"# {platform.node()} {os.cpu_count()} cores, {time.strftime('%Y-%m-%d %H:%M')}, "
              f"{len(sentences):,} SciFact sentences, chunk {CHUNK_DOCS} docs, {runtime_info()}", flush=True)
        rows = []
        if args.bm25_chunks:
            rows.append(build_and_search(store, SyntheticDataset(sentences, args.bm25_chunks), resolve("bm25"),
                                         IndexConfig(), qs, server))
            print(json.dumps(rows[-1]), flush=True)
            store.drop(store.builds(SyntheticDataset(sentences, args.bm25_chunks), "bm25")[0][0])  # free Lite's memory
        if args.dense_chunks:
            for index in args.dense_index:  # the second build reads every vector from the cache
                rows.append(build_and_search(store, SyntheticDataset(sentences, args.dense_chunks), resolve("minilm"),
                                             IndexConfig(index), qs, server))
                print(json.dumps(rows[-1]), flush=True)
        print("\n| model | index | chunks | build s | chunks/s | model load s | cache hits | peak RSS ours MiB "
              "| peak RSS Milvus MiB | p50 ms | p95 ms |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in rows:
            print(f"| {r['model']} | {r['index']} | {r['chunks']:,} | {r['build_s']} | {r['chunks_per_s']:,} | "
                  f"{r['model_load_s']} | {r['cache_hits']:,} | {r['peak_rss_ours_mib']:,} | "
                  f"{r['peak_rss_milvus_mib']:,} | {r['search_p50_ms']} | {r['search_p95_ms']} |")
    finally:
        cleanup(tmp)


if __name__ == "__main__":
    main()
