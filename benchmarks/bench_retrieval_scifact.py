"""Retrieval spine benchmark on BEIR SciFact (test split), minilm and bm25.

Prints, all measured in this one run:
  (a) nDCG@10 per model next to the published figures (MiniLM 0.645; BM25 0.665-0.679);
  (b) indexing docs/s of the app's pipeline (cold: empty embedding cache, new collection, embed +
      cache + insert + flush) / raw SentenceTransformer.encode docs/s on the same texts (goal >= 0.90);
  (c) a warm re-run's wall time / the cold run's (collections and embeddings reused; goal <= 0.05).

Usage:
    python benchmarks/bench_retrieval_scifact.py [--dataset ../shared/datasets/scifact]

Uses a temporary data folder and its own Milvus Lite server, so ./data is untouched.
"""

from __future__ import annotations

import argparse
import time

from _setup import ROOT, cleanup, isolated_workbench, parse  # noqa: E402  (puts the project on sys.path)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", default=str(ROOT.parent / "shared" / "datasets" / "scifact"))
    args = parse(ap, smoke={"dataset": "sample"})
    tmp = isolated_workbench()

    from evaluators.retrieval.evaluate import evaluate_retrieval
    from rag.data.loaders import load_dataset
    from rag.models.text import load_sentence_transformer, minilm_path
    from rag.retrieval import Retriever

    try:
        ds = load_dataset(args.dataset)
        texts = [d.full_text for d in ds.documents]
        print(f"{ds.name}: {len(texts)} docs, {len(ds.judged_queries)} judged queries")
        model = load_sentence_transformer(minilm_path())
        model.encode(texts[:64])  # warm up threads and kernels for both sides alike

        t = time.perf_counter()
        model.encode(texts, batch_size=64, normalize_embeddings=True, show_progress_bar=False)
        raw_s = time.perf_counter() - t
        raw_rate = len(texts) / raw_s

        with Retriever() as wb:
            t = time.perf_counter()
            built = wb.index(ds, ["minilm"])["minilm"]
            ours_rate = len(texts) / (time.perf_counter() - t)
            t = time.perf_counter()
            cold = evaluate_retrieval(wb, ds, ["minilm", "bm25"], k=10)  # minilm indexed above; bm25 cold here
            cold_s = time.perf_counter() - t + built.seconds
            t = time.perf_counter()
            warm = evaluate_retrieval(wb, ds, ["minilm", "bm25"], k=10)
            warm_s = time.perf_counter() - t

        published = {"minilm": "0.645 (MTEB)", "bm25": "0.665-0.679 (BEIR / Pyserini)"}
        print("\n(a) nDCG@10 on SciFact test")
        for m in ("minilm", "bm25"):
            print(f"    {m:7s} ours {cold.metrics[m]['ndcg@10']:.4f}   published {published[m]}"
                  f"   (warm re-run {warm.metrics[m]['ndcg@10']:.4f})")
        print("\n(b) indexing throughput, minilm")
        print(f"    raw SentenceTransformer.encode: {raw_rate:8.1f} docs/s ({raw_s:.1f} s)")
        print(f"    app pipeline (embed+cache+insert+flush): {ours_rate:8.1f} docs/s")
        print(f"    ratio {ours_rate / raw_rate:.3f}   (goal >= 0.90)")
        print("\n(c) warm re-run vs cold run (index + search, minilm + bm25)")
        print(f"    cold {cold_s:.1f} s, warm {warm_s:.2f} s, ratio {warm_s / cold_s:.4f}   (goal <= 0.05)")
    finally:
        cleanup(tmp)


if __name__ == "__main__":
    main()
