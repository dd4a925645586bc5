"""Micro-batching in the load-test service: does a load test measure the model, or our serving?

In one run, on the same questions (the dataset's, cycled):

1. **raw model**: ``SentenceTransformer.encode`` of the questions in batches of 32 (and one at a time,
   for reference), in this process, before and after the load phases (the machine is shared; the mean
   of the two is the reference).
2. **service**: ``POST /search`` with Locust (FastHttpUser, no think time) at 1, 8, 32 and 64 users,
   against two services started side by side, one micro-batching (the default) and one with
   ``--no-batching``; each user level runs on one, then the other, so drift hits both alike.

Goals: requests/s at 32 users with batching ÷ raw batched-encode queries/s ≥ 0.6, and p50 at 1 user
with batching ≤ 1.1 × without (the window must not cost a lone user). On a shared machine the raw
figure (another process, another moment) swings with the load, so the script also prints the ratio
to the service's own encode rate in those very batches (mean batch size ÷ mean ``embed_ms``).

At each user level the batching service is also loaded by **wrk** (a C client, ``apt-get install wrk``;
skipped and said so when absent) with as many connections as users, ``benchmarks/wrk_search.lua``:
Locust in Python shares the 2 cores with the service, wrk barely does, so the two side by side say how
much of a figure is the load generator's.

Usage:
    python benchmarks/bench_service_batching.py [--seconds 15] [--users 1,8,32,64] [--window-ms 5]

Uses a temporary data folder and its own Milvus Lite server, so ./data is untouched.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

from _setup import cleanup, isolated_workbench, parse  # noqa: E402  (puts the project on sys.path)


def raw_encode_qps(queries: list[str], batch: int, n: int) -> float:
    from rag.models.registry import resolve

    raw = resolve("minilm").encoder().raw
    texts = [queries[i % len(queries)] for i in range(n)]
    raw.encode(texts[:batch])  # warm
    t = time.perf_counter()
    for s in range(0, n, batch):
        raw.encode(texts[s:s + batch], batch_size=batch)
    return n / (time.perf_counter() - t)


def wrk_rps(url: str, connections: int, seconds: int, queries: list[str], tmp: str, k: int) -> dict | None:
    """requests/s and p50 from wrk (``--latency``) at ``connections``; None when wrk is not installed."""
    if not shutil.which("wrk"):
        return None
    qfile = os.path.join(tmp, "wrk_queries.txt")
    with open(qfile, "w", encoding="utf-8") as f:
        f.write("\n".join(json.dumps(q) for q in queries))
    env = {**os.environ, "WRK_QUERIES": qfile, "WRK_MODEL": "minilm", "WRK_K": str(k)}
    out = subprocess.run(["wrk", "-t", str(min(2, connections)), "-c", str(connections), "-d", f"{seconds}s",
                          "--latency", "-s", os.path.join(os.path.dirname(__file__), "wrk_search.lua"), url],
                         capture_output=True, text=True, env=env, timeout=seconds + 60).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    return {"rps": float(rps.group(1)) if rps else float("nan"),
            "p50_ms": round(float(p50.group(1)) * scale[p50.group(2)], 1) if p50 else float("nan"),
            "non_2xx": int(errors.group(1)) if errors else 0}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=15, help="per user level and mode")
    ap.add_argument("--users", default="1,8,32,64")
    ap.add_argument("--dataset", default="sample")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--window-ms", type=float, default=None, help="the batching service's window (default: its own)")
    ap.add_argument("--max-batch", type=int, default=None)
    ap.add_argument("--n", type=int, default=2048, help="queries per raw-encode measurement")
    ap.add_argument("--idle", type=float, default=2.0, help="seconds between phases, so the other service's "
                    "threads go idle (0 in the smoke run: its figures are not read)")
    args = parse(ap, smoke={"seconds": 1, "users": "1", "n": 64, "idle": 0.0})
    tmp = isolated_workbench()

    from loadtests import procs
    from loadtests.phases import run_phase
    from loadtests.procs import ServiceProcess
    from rag.data.loaders import load_dataset
    from rag.retrieval import Retriever

    users = [int(u) for u in args.users.split(",")]
    services: dict[str, ServiceProcess] = {}
    try:
        ds = load_dataset(args.dataset)
        queries = [q.text for q in ds.queries]
        with Retriever() as wb:
            wb.index(ds, ["minilm"])
        load_before = os.getloadavg()[0]
        raw32_before = raw_encode_qps(queries, 32, args.n)
        raw1 = raw_encode_qps(queries, 1, args.n // 8)
        on = {"batching": True, "batch_window_ms": args.window_ms, "max_batch": args.max_batch}
        for mode, b in (("on", on), ("off", {"batching": False})):
            services[mode] = ServiceProcess(args.dataset, ["minilm"], batching=b)
        with ThreadPoolExecutor(2) as pool:  # both start at once: their imports and model loads overlap
            list(pool.map(ServiceProcess.start, services.values()))
        out_dir = os.path.join(tmp, "locust")
        rows, wrk_rows = [], {}
        for u in users:
            for mode, svc in services.items():
                time.sleep(args.idle)  # let the other service's threads go idle
                r = run_phase(svc.url, "minilm", "search", u, float(u), args.seconds,
                              os.path.join(out_dir, f"{mode}_u{u}"), args.k, service=svc)
                t = procs.get_json(svc.url, "/stats/timings")["search"]["minilm"]
                rows.append({"users": u, "batching": mode, "requests": r.stats.requests,
                             "failures": r.stats.failures, "rps": round(r.stats.rps, 1),
                             "p50_ms": r.stats.p50_ms, "p95_ms": r.stats.p95_ms,
                             "mean_batch": round(t["batch_size"]["mean"], 1),
                             "wait_ms": round(t["wait_ms"]["mean"], 1), "embed_ms": round(t["embed_ms"]["mean"], 1),
                             "search_ms": round(t["search_ms"]["mean"], 1), "load": round(os.getloadavg()[0], 1)})
                print(json.dumps(rows[-1]), flush=True)
            time.sleep(args.idle)
            w = wrk_rps(services["on"].url, u, args.seconds, queries, tmp, args.k)
            if w is not None:
                wrk_rows[u] = w | {"load": round(os.getloadavg()[0], 1)}
                print(json.dumps({"users": u, "client": "wrk", **wrk_rows[u]}), flush=True)
        raw32_after = raw_encode_qps(queries, 32, args.n)
    finally:
        for svc in services.values():
            svc.stop()
        cleanup(tmp)

    raw32 = (raw32_before + raw32_after) / 2
    by = {(r["users"], r["batching"]): r for r in rows}
    print(f"\n{args.dataset}, k = {args.k}, {args.seconds} s per step, load average at the end "
          f"{os.getloadavg()[0]:.1f} (at the start {load_before:.1f})")
    print(f"raw SentenceTransformer.encode: {raw1:.0f} queries/s one at a time; batches of 32: "
          f"{raw32_before:.0f} before, {raw32_after:.0f} after the load phases (mean {raw32:.0f})")
    print("| users | batching | requests/s | p50 (ms) | p95 (ms) | failures | mean batch | wait (ms) | "
          "embed (ms) | search (ms) | load avg |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['users']} | {r['batching']} | {r['rps']} | {r['p50_ms']:g} | {r['p95_ms']:g} | {r['failures']} | "
              f"{r['mean_batch']} | {r['wait_ms']} | {r['embed_ms']} | {r['search_ms']} | {r['load']} |")
    print("wrk (C client), batching service: " + ("; ".join(
        f"{u} connections {w['rps']:.1f} req/s, p50 {w['p50_ms']} ms, non-2xx {w['non_2xx']}, load {w['load']}"
        for u, w in wrk_rows.items()) or "not installed (apt-get install wrk)"))
    if 32 in wrk_rows:
        print(f"wrk requests/s at 32 connections ÷ raw batched-encode queries/s: "
              f"**{wrk_rows[32]['rps'] / raw32:.3f}** (goal ≥ 0.6)")
    if (32, "on") in by:
        print(f"requests/s at 32 users with batching ÷ raw batched-encode queries/s: "
              f"**{by[(32, 'on')]['rps'] / raw32:.3f}** (goal ≥ 0.6; without batching "
              f"{by[(32, 'off')]['rps'] / raw32:.3f})")
    if (32, "on") in by:  # same moment, same process: the service's own encoder rate in its batches
        r = by[(32, "on")]
        enc = r["mean_batch"] / r["embed_ms"] * 1000 if r["embed_ms"] else float("nan")
        print(f"requests/s at 32 users ÷ the service's own batched-encode rate (mean batch ÷ embed ms, same "
              f"requests): **{r['rps'] / enc:.3f}** ({r['rps']} vs {enc:.0f} queries/s)")
    if (1, "on") in by:
        print(f"p50 at 1 user, batching ÷ without: **{by[(1, 'on')]['p50_ms'] / by[(1, 'off')]['p50_ms']:.3f}** "
              f"(goal ≤ 1.1)")


if __name__ == "__main__":
    main()
