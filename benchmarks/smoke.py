"""Every benchmark script here in its smoke mode (``--smoke``: tiny sizes), one after another, in one process
(or split over ``--jobs N`` such processes running side by side).

Why one process: each script on its own pays Python's imports of torch, sentence-transformers and Ragas
(7–13 s on a busy 2-core machine), which is most of a smoke run; run here, a script is executed exactly
as ``python benchmarks/NAME.py --smoke`` would (``runpy`` as ``__main__``, its own argv, its own
temporary data folder and Milvus Lite server), only the imports are shared. The services, Locust and
test servers the scripts start are still their own processes. A script that needs a dataset that is
not on this machine (SciFact, outside the repository) is skipped and said so.

Why ``--jobs``: most of a smoke run is waiting (Milvus Lite and the load-test service starting, Locust's
seconds of load, the test LLM server), not CPU, so two processes side by side finish in well under the time
of one (the test suite runs ``--jobs 2``). The scripts are dealt out by their usual duration (COST), longest
first, to the process with the least so far; each process still shares its imports between its scripts.

Prints one line per script, ``SMOKE ok NAME 4.2 s`` / ``SMOKE skipped NAME: why`` / ``SMOKE FAILED
NAME: error`` (its traceback above), and exits 1 if any failed. ``tests/benchmarks/test_smoke.py`` runs it.

Usage:
    .venv/bin/python benchmarks/smoke.py [--jobs N] [NAME ...]      # default: every bench_*.py, one process
"""

from __future__ import annotations

import runpy
import subprocess
import sys
import time
import traceback
from pathlib import Path

from _setup import ROOT

HERE = Path(__file__).resolve().parent
NEEDS_SCIFACT = {"bench_scale"}  # builds its synthetic corpus from SciFact's sentences
SCIFACT = ROOT.parent / "shared" / "datasets" / "scifact"
# seconds a smoke run of each script took on a busy 2-core machine (2026-12-06): only to balance --jobs
COST = {"bench_service_overhead": 45, "bench_ragas_concurrency": 37, "bench_service_batching": 20,
        "bench_locust_capacity": 23, "bench_sweep_scifact": 17, "bench_retrieval_scifact": 10,
        "bench_dense_index": 9, "bench_scale": 7}


def run(name: str) -> tuple[str, str]:
    """("ok" | "skipped" | "FAILED", detail) for one script."""
    if name in NEEDS_SCIFACT and not (SCIFACT / "corpus.jsonl").exists():
        return "skipped", f"needs {SCIFACT}"
    path = HERE / f"{name}.py"
    argv = sys.argv
    sys.argv = [str(path), "--smoke"]
    t = time.perf_counter()
    try:
        runpy.run_path(str(path), run_name="__main__")
    except SystemExit as e:
        if e.code not in (0, None):
            return "FAILED", f"exit {e.code}"
    except BaseException as e:  # noqa: BLE001  (a smoke run reports every failure, then goes on)
        traceback.print_exc()
        return "FAILED", f"{type(e).__name__}: {e}"
    finally:
        sys.argv = argv
    return "ok", f"{time.perf_counter() - t:.1f} s"


def deal(names: list[str], jobs: int) -> list[list[str]]:
    """``names`` in ``jobs`` groups of about equal cost: longest first, each to the group with the least."""
    groups: list[list[str]] = [[] for _ in range(max(1, jobs))]
    load = [0.0] * len(groups)
    for name in sorted(names, key=lambda n: -COST.get(n, 15)):
        i = load.index(min(load))
        groups[i].append(name)
        load[i] += COST.get(name, 15)
    return [g for g in groups if g]


def run_parallel(names: list[str], jobs: int) -> int:
    """Each group in its own ``smoke.py NAME ...`` process; their SMOKE lines (and any traceback) passed on
    as each process finishes. The number of processes that failed."""
    procs = [subprocess.Popen([sys.executable, __file__, *group], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for group in deal(names, jobs)]
    failed = 0
    for proc in procs:
        out, err = proc.communicate()
        sys.stdout.write(out)
        sys.stderr.write(err)
        failed += proc.returncode != 0
    sys.stdout.flush()
    return failed


def main() -> None:
    args = sys.argv[1:]
    jobs = 1
    if args[:1] == ["--jobs"]:
        jobs, args = int(args[1]), args[2:]
    names = args or sorted(p.stem for p in HERE.glob("bench_*.py"))
    if jobs > 1:
        sys.exit(1 if run_parallel(names, jobs) else 0)
    failed = 0
    for name in names:
        status, detail = run(name)
        failed += status == "FAILED"
        print(f"SMOKE {status} {name} {detail}", flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
