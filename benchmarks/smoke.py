"""Every benchmark script here in its smoke mode (``--smoke``: tiny sizes), one after another, in one process.

Why one process: each script on its own pays Python's imports of torch, sentence-transformers and Ragas
(7–13 s on a busy 2-core machine), which is most of a smoke run; run here, a script is executed exactly
as ``python benchmarks/NAME.py --smoke`` would (``runpy`` as ``__main__``, its own argv, its own
temporary data folder and Milvus Lite server), only the imports are shared. The services, Locust and
test servers the scripts start are still their own processes. A script that needs a dataset that is
not on this machine (SciFact, outside the repository) is skipped and said so.

Prints one line per script, ``SMOKE ok NAME 4.2 s`` / ``SMOKE skipped NAME: why`` / ``SMOKE FAILED
NAME: error`` (its traceback above), and exits 1 if any failed. ``tests/benchmarks/test_smoke.py`` runs it.

Usage:
    .venv/bin/python benchmarks/smoke.py [NAME ...]      # default: every bench_*.py
"""

from __future__ import annotations

import runpy
import sys
import time
import traceback
from pathlib import Path

from _setup import ROOT

HERE = Path(__file__).resolve().parent
NEEDS_SCIFACT = {"bench_scale"}  # builds its synthetic corpus from SciFact's sentences
SCIFACT = ROOT.parent / "shared" / "datasets" / "scifact"


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


def main() -> None:
    names = sys.argv[1:] or sorted(p.stem for p in HERE.glob("bench_*.py"))
    failed = 0
    for name in names:
        status, detail = run(name)
        failed += status == "FAILED"
        print(f"SMOKE {status} {name} {detail}", flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
