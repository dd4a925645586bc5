"""Sweep benchmark on BEIR SciFact: minilm / bm25 / hybrid × 2 fusions × 2 k (8 setups), wall time cold and warm.

Prints, all measured in this one run:
  (a) the plan and its time estimate (rates timed just before, ``evaluators.sweep.estimate``);
  (b) the cold sweep's wall time (empty embedding cache, every collection built) and how it splits
      into building and searching, next to the estimate;
  (c) a warm re-run's wall time (collections reused: only the 8 × 300 searches) and warm / cold;
  (d) the leaderboard: nDCG@10 (each setup at its own k), letters, p50 / p95 search latency (from the
      timed sample, ``--latency-sample``, with its CI);
  (e) ``cli.py retrieval``'s path (``evaluate_retrieval``) on the same models at the largest k, warm in the
      same folder and cold in a fresh one (empty cache, its own Milvus Lite): warm sweep ÷ warm retrieval
      (goal ≤ 1.5) and cold sweep ÷ cold retrieval (goal ≤ 1.2), and whether the rankings are identical
      for the setups retrieval also runs (no chunking, no reranker, RRF 60, at that k).

To compare the issue's figure (minilm and bm25 at k 10): ``--models minilm,bm25 --ks 10``.

Usage:
    nice .venv/bin/python benchmarks/bench_sweep_scifact.py [--dataset ../shared/datasets/scifact]

Uses a temporary data folder and its own Milvus Lite server, so ./data is untouched.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

from _setup import ROOT, cleanup, isolated_workbench, parse  # noqa: E402  (puts the project on sys.path)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", default=str(ROOT.parent / "shared" / "datasets" / "scifact"))
    ap.add_argument("--models", default="minilm,bm25,hybrid")
    ap.add_argument("--fusion", default="rrf:60,weighted:0.3")
    ap.add_argument("--ks", default="5,10")
    ap.add_argument("--latency-sample", type=int, default=50)
    args = parse(ap, smoke={"dataset": "sample", "models": "minilm,bm25", "fusion": "rrf:60", "ks": "3"})
    tmp = isolated_workbench()

    from evaluators.retrieval.evaluate import evaluate_retrieval
    from evaluators.sweep.run import plan_sweep, run_sweep
    from evaluators.sweep.setups import grid_from_text
    from rag.data.loaders import load_dataset
    from rag.retrieval import Retriever

    try:
        ds = load_dataset(args.dataset)
        setups = grid_from_text(args.models.split(","), fusion=args.fusion, ks=args.ks)
        print(f"# {platform.node()} {os.cpu_count()} cores, {time.strftime('%Y-%m-%d %H:%M')}, load "
              f"{os.getloadavg()[0]:.1f}; {ds.name}: {len(ds.documents):,} docs, "
              f"{len(ds.judged_queries)} judged queries")
        with Retriever() as wb:
            t = time.perf_counter()
            plan = plan_sweep(wb, ds, setups)
            print(f"plan ({time.perf_counter() - t:.1f} s to time it): {plan.describe()}")
            phases: dict[str, float] = {}
            mark = {"t": time.perf_counter(), "stage": "index"}

            def progress(stage, done, total, what):
                now = time.perf_counter()
                phases[mark["stage"]] = phases.get(mark["stage"], 0.0) + now - mark["t"]
                mark.update(t=now, stage=stage)

            t0 = time.perf_counter()
            cold = run_sweep(wb, ds, setups, progress, record=False, latency_sample_size=args.latency_sample)
            cold_s = time.perf_counter() - t0
            progress("done", 0, 0, "")
            t0 = time.perf_counter()
            warm = run_sweep(wb, ds, setups, record=False, latency_sample_size=args.latency_sample)
            warm_s = time.perf_counter() - t0
            models, k = list(dict.fromkeys(s.model for s in setups)), max(s.k for s in setups)
            t0 = time.perf_counter()
            retr = evaluate_retrieval(wb, ds, models, k=k)
            warm_r = time.perf_counter() - t0
        cleanup(tmp)
        tmp = isolated_workbench()  # a fresh folder: empty embedding cache, no collections, its own Milvus Lite
        with Retriever() as wb:
            t0 = time.perf_counter()
            evaluate_retrieval(wb, ds, models, k=k)
            cold_r = time.perf_counter() - t0
        est = plan.estimate.seconds if plan.estimate else float("nan")
        print(f"cold sweep: {cold_s:.1f} s wall (estimate {est:.0f} s; building ≈ {phases.get('index', 0):.1f} s, "
              f"searching ≈ {phases.get('search', 0):.1f} s)")
        print(f"warm sweep: {warm_s:.1f} s wall (collections reused); warm / cold = {warm_s / cold_s:.3f}")
        rows = {r["setup"]: r for r in cold.leaderboard.get("rows", [])}
        print(f"{'setup':42} {'nDCG':>6} {'letters':>8} {'p50 ms':>7} {'p95 ms':>7}")
        for s in cold.setups:
            r = rows.get(s.setup.id, {})
            lat = s.latency_summary()
            print(f"{s.setup.id:42} {s.metrics.get(f'ndcg@{s.setup.k}', float('nan')):6.3f} "
                  f"{r.get('letters', ''):>8} {s.p50_ms:7.1f} {s.p95_ms:7.1f}   "
                  f"p50 CI {lat.get('p50_ci_low_ms', 0):.1f}–{lat.get('p50_ci_high_ms', 0):.1f}, "
                  f"p95 CI {lat.get('p95_ci_low_ms', 0):.1f}–"
                  f"{lat.get('p95_ci_high_ms', 0):.1f} ({lat.get('latency_n', 0):.0f} queries timed)")
        same = all(a.rankings == b.rankings for a, b in zip(cold.setups, warm.setups))
        print(f"warm rankings identical to cold: {same}")
        print(f"retrieval ({', '.join(models)}, k {k}): cold {cold_r:.1f} s, warm {warm_r:.1f} s; "
              f"cold sweep ÷ cold retrieval **{cold_s / cold_r:.2f}** (goal ≤ 1.2), warm sweep ÷ warm retrieval "
              f"**{warm_s / warm_r:.2f}** (goal ≤ 1.5); load {os.getloadavg()[0]:.1f}")
        alike = [s for s in cold.setups if s.setup.k == k and s.setup.chunk_size is None and s.setup.reranker == "none"
                 and s.setup.fusion in (None, "rrf:60")]
        print(f"rankings identical to retrieval's for {len(alike)} setups: "
              f"{all(s.rankings == retr.rankings[s.setup.model] for s in alike)}")
    finally:
        cleanup(tmp)


if __name__ == "__main__":
    main()
