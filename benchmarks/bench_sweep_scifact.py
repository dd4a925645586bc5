"""Sweep benchmark on BEIR SciFact: minilm / bm25 / hybrid × 2 fusions × 2 k (8 setups), wall time cold and warm.

Prints, all measured in this one run:
  (a) the plan and its time estimate (rates timed just before, ``evaluators.sweep.estimate``);
  (b) the cold sweep's wall time (empty embedding cache, every collection built) and how it splits
      into planning, building and searching, next to the estimate;
  (c) a warm re-run's wall time (collections reused: only the searches) and warm / cold;
  (d) the leaderboard: nDCG@10 (each setup at its own k), letters, p50 / p95 search latency (from the
      timed sample, ``--latency-sample``, with its CI);
  (e) ``cli.py retrieval``'s path (``evaluate_retrieval``) on the same models at the largest k, cold and warm:
      cold sweep ÷ cold retrieval (goal ≤ 1.2), warm sweep ÷ warm retrieval (goal ≤ 1.5), and whether the
      rankings are identical for the setups retrieval also runs (no chunking, no reranker, RRF 60, at that k).

Cold means what a user meets the first time: each cold run is its own fresh Python process (``--cold-only``)
with an empty data folder, its own Milvus Lite and no model loaded, timed from the call (imports excluded,
model loading included), the retrieval first, after a fresh process has read the dataset and the models' files
once, so neither run pays for a cold OS file cache (without that, the first cold run after an idle pause, the
retrieval, took 272 s where the sweep, the same work and more, took 225 s in the next fresh process). The
sweep's cold time is what ``cli.py sweep`` waits for: its plan (checks and the timed estimate) plus the sweep.
(Run in one process, whichever came second found the model libraries warm, which is not the user's situation.)
Warm: the cold sweep's folder (collections built), models loaded in this process by an untimed retrieval first.

To compare the issue's figure (minilm and bm25 at k 10): ``--models minilm,bm25 --ks 10``.

``--latency-only FOLDER`` (issue 27, "the sweep's latency sample"): no cold runs; in FOLDER (built there when
empty, kept) a sweep of ``--models`` at the largest k records its latency sample, then the sweep's timed path
(``evaluators.sweep.run.query_path``, timed by ``time_queries`` as the sweep does) and ``plain_search.py`` (a
bare process: encode + ``MilvusStore.search``, the baseline the service is compared with) take turns in
``--rounds`` blocks on the *same* sampled queries against the same Milvus Lite server; p50 of each with the
load average. Run it once with ``OPENBLAS_NUM_THREADS=2`` in the environment (the server as before this
change: NumPy's BLAS on both cores) and once without (one thread, ``rag.milvus.server.server_threads``).

Usage:
    nice .venv/bin/python benchmarks/bench_sweep_scifact.py [--dataset ../shared/datasets/scifact]

Uses temporary data folders and their own Milvus Lite servers, so ./data is untouched.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

from _setup import ROOT, cleanup, free_port, isolated_workbench, parse  # noqa: E402  (puts the project on sys.path)


def cold_run(kind: str, args: argparse.Namespace) -> None:
    """``--cold-only retrieval|sweep``: one cold run in this fresh process, in the folder ``--folder``; prints
    one JSON line (seconds, and for the sweep its phases, estimate and rankings)."""
    os.environ["WORKBENCH_DATA_DIR"] = args.folder
    os.environ["WORKBENCH_MILVUS_PORT"] = str(free_port())
    from evaluators.retrieval.evaluate import evaluate_retrieval
    from evaluators.sweep.run import plan_sweep, run_sweep
    from evaluators.sweep.setups import grid_from_text
    from rag.data.loaders import load_dataset
    from rag.milvus.server import stop_started_servers
    from rag.retrieval import Retriever

    ds = load_dataset(args.dataset)
    setups = grid_from_text(args.models.split(","), fusion=args.fusion, ks=args.ks)
    if kind == "warmup":  # the OS page cache: the dataset's and the models' files read once, nothing built
        from rag.models.registry import resolve

        t0 = time.perf_counter()
        for m in dict.fromkeys(s.model for s in setups):
            if (enc := resolve(m).encoder()) is not None:
                enc.raw.encode([d.full_text for d in ds.documents[:32]])
        print(json.dumps({"seconds": time.perf_counter() - t0}), flush=True)
        return
    try:
        with Retriever() as wb:
            t0 = time.perf_counter()
            if kind == "retrieval":
                models, k = list(dict.fromkeys(s.model for s in setups)), max(s.k for s in setups)
                res = evaluate_retrieval(wb, ds, models, k=k)
                print(json.dumps({"seconds": time.perf_counter() - t0, "rankings": res.rankings}), flush=True)
                return
            plan = plan_sweep(wb, ds, setups, latency_sample=args.latency_sample)
            phases = {"plan": time.perf_counter() - t0}
            mark = {"t": time.perf_counter(), "stage": "index"}

            def progress(stage, done, total, what):
                now = time.perf_counter()
                phases[mark["stage"]] = phases.get(mark["stage"], 0.0) + now - mark["t"]
                mark.update(t=now, stage=stage)

            res = run_sweep(wb, ds, setups, progress, record=False, latency_sample_size=args.latency_sample)
            progress("done", 0, 0, "")
            print(json.dumps({"seconds": time.perf_counter() - t0, "phases": phases, "plan": plan.describe(),
                              "estimate": plan.estimate.seconds if plan.estimate else None,
                              "rankings": {s.setup.id: s.rankings for s in res.setups}}), flush=True)
    finally:
        stop_started_servers()


def latency_side_by_side(args: argparse.Namespace) -> None:
    """``--latency-only FOLDER``: the sweep's recorded sample, then its timed path and plain_search.py in turns."""
    import numpy as np

    os.environ["WORKBENCH_DATA_DIR"] = args.latency_only
    os.environ["WORKBENCH_MILVUS_PORT"] = str(free_port())
    from _setup import load_line

    from evaluators.sweep.latency import latency_sample, time_queries
    from evaluators.sweep.run import query_path, run_sweep
    from evaluators.sweep.setups import grid_from_text
    from rag.data.loaders import load_dataset
    from rag.milvus.server import stop_started_servers
    from rag.retrieval import Retriever

    ds = load_dataset(args.dataset)
    k = max(int(x) for x in args.ks.split(","))
    setups = grid_from_text(args.models.split(","), fusion=args.fusion, ks=str(k))
    sampled = latency_sample(ds.judged_queries, args.latency_sample)
    where = {q.id: i for i, q in enumerate(ds.queries)}
    plain = None
    print(f"{load_line()}; server OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', '1 (default)')}; "
          f"{ds.name}: {len(ds.documents):,} docs, {len(sampled)} sampled queries, k {k}", flush=True)
    try:
        with Retriever() as wb:
            res = run_sweep(wb, ds, setups, record=False, latency_sample_size=args.latency_sample)
            for r in res.setups:
                print(f"sweep's recorded sample  {r.setup.id:28} p50 {r.p50_ms:7.2f} ms  p95 {r.p95_ms:7.2f} ms  "
                      f"load {os.getloadavg()[0]:.1f}", flush=True)
            plain = subprocess.Popen([sys.executable, str(ROOT / "benchmarks" / "plain_search.py"), "--dataset",
                                      args.dataset, "--models", args.models, "--k", str(k)], cwd=ROOT, text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            while plain.stdout.readline().strip() != "ready":
                pass
            for r in res.setups:
                path = query_path(wb, r.setup, r.collection, lambda cid: ds.doc(cid).full_text)
                swept, bare, loads = [], [], []
                for _round in range(args.rounds):
                    swept += list(time_queries(path, sampled).per_query.values())
                    block = []
                    for q in sampled:
                        plain.stdin.write(f"{r.setup.model} {where[q.id]} 1\n")
                        plain.stdin.flush()
                        block += json.loads(plain.stdout.readline())
                    bare += block
                    loads.append(os.getloadavg()[0])
                p50s, p50b = np.percentile(swept, 50), np.percentile(bare, 50)
                print(f"side by side {r.setup.model:8} sweep's timed path p50 {p50s:7.2f} ms "
                      f"(p95 {np.percentile(swept, 95):7.2f}), plain_search.py p50 {p50b:7.2f} ms "
                      f"(p95 {np.percentile(bare, 95):7.2f}); ratio {p50s / p50b:.2f}; "
                      f"{args.rounds} rounds × {len(sampled)} queries each; load {min(loads):.1f}–{max(loads):.1f}",
                      flush=True)
    finally:
        if plain is not None:
            plain.stdin.close()
            plain.wait(timeout=60)
        stop_started_servers()


def cold(kind: str, args: argparse.Namespace, folder: str) -> dict:
    """Run ``cold_run`` in a fresh process; its JSON line."""
    cmd = [sys.executable, __file__, "--cold-only", kind, "--folder", folder, "--dataset", args.dataset,
           "--models", args.models, "--fusion", args.fusion, "--ks", args.ks,
           "--latency-sample", str(args.latency_sample)]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if out.returncode != 0:
        raise RuntimeError(f"the cold {kind} run failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", default=str(ROOT.parent / "shared" / "datasets" / "scifact"))
    ap.add_argument("--models", default="minilm,bm25,hybrid")
    ap.add_argument("--fusion", default="rrf:60,weighted:0.3")
    ap.add_argument("--ks", default="5,10")
    ap.add_argument("--latency-sample", type=int, default=50)
    ap.add_argument("--latency-only", metavar="FOLDER", help="only the latency sample beside plain_search.py, "
                    "in FOLDER (built there when empty)")
    ap.add_argument("--rounds", type=int, default=3, help="--latency-only: blocks of the sample per path")
    ap.add_argument("--cold-only", choices=["warmup", "retrieval", "sweep"], help=argparse.SUPPRESS)
    ap.add_argument("--folder", help=argparse.SUPPRESS)
    args = parse(ap, smoke={"dataset": "sample", "models": "minilm,bm25", "fusion": "rrf:60", "ks": "3"})
    if args.cold_only:
        return cold_run(args.cold_only, args)
    if args.latency_only:
        return latency_side_by_side(args)
    tmp = isolated_workbench()
    retr_folder = tempfile.mkdtemp(prefix="wb-bench-cold-")

    from evaluators.retrieval.evaluate import evaluate_retrieval
    from evaluators.sweep.run import run_sweep
    from evaluators.sweep.setups import grid_from_text
    from rag.data.loaders import load_dataset
    from rag.retrieval import Retriever

    try:
        ds = load_dataset(args.dataset)
        setups = grid_from_text(args.models.split(","), fusion=args.fusion, ks=args.ks)
        print(f"# {platform.node()} {os.cpu_count()} cores, {time.strftime('%Y-%m-%d %H:%M')}, load "
              f"{os.getloadavg()[0]:.1f}; {ds.name}: {len(ds.documents):,} docs, "
              f"{len(ds.judged_queries)} judged queries", flush=True)
        cold("warmup", args, tempfile.mkdtemp(prefix="wb-bench-warmup-", dir=retr_folder))
        cold_r = cold("retrieval", args, retr_folder)
        cold_s = cold("sweep", args, tmp)  # the warm runs below reuse its folder
        phases = cold_s["phases"]
        print(f"plan: {cold_s['plan']}")
        models, k = list(dict.fromkeys(s.model for s in setups)), max(s.k for s in setups)
        with Retriever() as wb:
            evaluate_retrieval(wb, ds, models, k=k)  # untimed: this process loads the models (warm means warm)
            t0 = time.perf_counter()
            warm = run_sweep(wb, ds, setups, record=False, latency_sample_size=args.latency_sample)
            warm_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            retr = evaluate_retrieval(wb, ds, models, k=k)
            warm_r = time.perf_counter() - t0
        est = cold_s["estimate"] if cold_s["estimate"] is not None else float("nan")
        print(f"cold sweep: {cold_s['seconds']:.1f} s wall, its own process (estimate {est:.0f} s; planning "
              f"{phases.get('plan', 0):.1f} s, building ≈ {phases.get('index', 0):.1f} s, searching ≈ "
              f"{phases.get('search', 0):.1f} s)")
        print(f"warm sweep: {warm_s:.1f} s wall (collections reused); warm / cold = {warm_s / cold_s['seconds']:.3f}")
        rows = {r["setup"]: r for r in warm.leaderboard.get("rows", [])}
        print(f"{'setup':42} {'nDCG':>6} {'letters':>8} {'p50 ms':>7} {'p95 ms':>7}")
        for s in warm.setups:
            r = rows.get(s.setup.id, {})
            lat = s.latency_summary()
            print(f"{s.setup.id:42} {s.metrics.get(f'ndcg@{s.setup.k}', float('nan')):6.3f} "
                  f"{r.get('letters', ''):>8} {s.p50_ms:7.1f} {s.p95_ms:7.1f}   "
                  f"p50 CI {lat.get('p50_ci_low_ms', 0):.1f}–{lat.get('p50_ci_high_ms', 0):.1f}, "
                  f"p95 CI {lat.get('p95_ci_low_ms', 0):.1f}–"
                  f"{lat.get('p95_ci_high_ms', 0):.1f} ({lat.get('latency_n', 0):.0f} queries timed)")
        same = all(cold_s["rankings"][s.setup.id] == _jsonable(s.rankings) for s in warm.setups)
        print(f"warm rankings identical to cold: {same}")
        ratio = cold_s["seconds"] / cold_r["seconds"]
        bare = (cold_s["seconds"] - phases.get("plan", 0)) / cold_r["seconds"]
        print(f"retrieval ({', '.join(models)}, k {k}): cold {cold_r['seconds']:.1f} s (its own process), warm "
              f"{warm_r:.1f} s; cold sweep ÷ cold retrieval **{ratio:.2f}** (goal ≤ 1.2; without the plan "
              f"{bare:.2f}), warm sweep ÷ warm retrieval **{warm_s / warm_r:.2f}** (goal ≤ 1.5); "
              f"load {os.getloadavg()[0]:.1f}")
        alike = [s for s in warm.setups if s.setup.k == k and s.setup.chunk_size is None and s.setup.reranker == "none"
                 and s.setup.fusion in (None, "rrf:60")]
        print(f"rankings identical to retrieval's for {len(alike)} setups: "
              f"{all(s.rankings == retr.rankings[s.setup.model] for s in alike)}; cold retrieval's too: "
              f"{all(_jsonable(retr.rankings[m]) == cold_r['rankings'][m] for m in models)}")
    finally:
        cleanup(tmp)
        shutil.rmtree(retr_folder, ignore_errors=True)


def _jsonable(rankings: dict) -> dict:
    """Rankings as they come back from a JSON line (tuples become lists)."""
    return json.loads(json.dumps(rankings))


if __name__ == "__main__":
    main()
