"""Is the load generator ever the bottleneck? Locust's rate on a trivial endpoint ÷ the rate under test.

The same Locust setup the app uses (``loadtests/locustfile.py``, FastHttpUser, one process, the same
users) first hits ``GET /health`` (no model, no Milvus: what Locust plus the HTTP stack can push),
then ``POST /search`` for each model. The ratio trivial ÷ search is how much headroom the generator
has (goal ≥ 10). Locust's own CPU use during each search phase is reported too: a generator far
from 100 % of a core is not what limits the numbers. Service and Locust share the machine's cores,
as they do in the app, so this is a lower bound on Locust's capacity.

Usage:
    python benchmarks/bench_locust_capacity.py [--users 16] [--seconds 15] [--models minilm,bm25]

Uses a temporary data folder and its own Milvus Lite server, so ./data is untouched.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from _setup import ROOT, cleanup, isolated_workbench, parse  # noqa: E402  (puts the project on sys.path)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=16)
    ap.add_argument("--seconds", type=int, default=15)
    ap.add_argument("--models", default="minilm,bm25")
    args = parse(ap, smoke={"users": 2, "seconds": 3, "models": "bm25"})
    tmp = isolated_workbench()

    import psutil

    from loadtests.procs import LocustProcess, ServiceProcess
    from loadtests.results import read_final, read_history

    models = [m.strip() for m in args.models.split(",") if m.strip()]
    locustfile = ROOT / "loadtests" / "locustfile.py"
    svc = None

    def phase(endpoint: str, model: str) -> dict:
        prefix = Path(tmp) / f"{endpoint}_{model}"
        loc = LocustProcess.headless(locustfile, svc.url, args.users, args.users, args.seconds, prefix,
                                     ["--model", model, "--endpoint", endpoint])
        samples, proc = [], psutil.Process(loc.pid)  # (epoch s, Locust CPU s) to cost steady-state requests
        while loc.poll() is None:
            try:
                t = proc.cpu_times()
                samples.append((time.time(), t.user + t.system))
            except psutil.Error:
                pass
            time.sleep(0.25)
        stats = read_final(prefix)["Aggregated"]
        assert stats.requests and not stats.failures, (endpoint, model, stats)
        hist = [r for r in read_history(prefix) if r["requests"] > 0]
        a, b = hist[1], hist[-1]  # skip the first second (imports, spawning); whole seconds only
        cpu = [c for ts, c in samples if a["ts"] <= ts <= b["ts"] + 1]
        cost_ms = 1000 * (cpu[-1] - cpu[0]) / max(1.0, b["requests"] - a["requests"])
        return {"endpoint": endpoint, "model": model, "rps": round(stats.rps, 1), "p50_ms": stats.p50_ms,
                "p95_ms": stats.p95_ms, "locust_cpu_ms_per_req": round(cost_ms, 3),
                "locust_core_pct": round(stats.rps * cost_ms / 10, 1),
                "locust_capacity_rps": round(1000 / cost_ms) if cost_ms > 0 else None}

    try:
        svc = ServiceProcess("sample", models).start()
        phase("search", models[0])  # warm-up (not counted): first requests load lazy parts
        trivial = phase("health", models[0])
        print(json.dumps(trivial), flush=True)
        rows = []
        for m in models:
            r = phase("search", m)
            r["ratio"] = round(trivial["rps"] / r["rps"], 1)
            r["capacity_ratio"] = round(trivial["locust_capacity_rps"] / r["rps"], 1)
            rows.append(r)
            print(json.dumps(r), flush=True)
        print(f"\n{args.users} users, {args.seconds} s per phase, one Locust process (FastHttpUser), "
              f"service and Locust on the same {os.cpu_count()} cores")
        print("| phase | req/s | p50 (ms) | p95 (ms) | Locust CPU (% of a core) | trivial req/s ÷ this | "
              "Locust capacity (1 core) ÷ this |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        print(f"| GET /health (trivial) | {trivial['rps']} | {trivial['p50_ms']:g} | {trivial['p95_ms']:g} | "
              f"{trivial['locust_core_pct']} | 1 | {trivial['locust_capacity_rps']} req/s |")
        for r in rows:
            print(f"| POST /search [{r['model']}] | {r['rps']} | {r['p50_ms']:g} | {r['p95_ms']:g} | "
                  f"{r['locust_core_pct']} | **{r['ratio']}** | **{r['capacity_ratio']}** |")
    finally:
        if svc is not None:
            svc.stop()
        cleanup(tmp)


if __name__ == "__main__":
    main()
