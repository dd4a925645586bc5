"""``cli.py`` run as a user runs it (a subprocess from the project root), several side by side.

Why side by side: each run mostly starts Python, imports torch / sentence-transformers and waits on Milvus
Lite or a load test's service, so on the CI's 2 cores independent runs finish together in about the time of
the longest, not the sum. Each result is the ``subprocess.CompletedProcess`` the run would have given alone.

Usage:
    r_a, r_b = run_clis([("demo", "--models", "bm25"), ("check-regression", "reg.json")])
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_clis(commands: list[tuple[str, ...]], timeout: float = 400) -> list[subprocess.CompletedProcess]:
    """``cli.py`` with each argument list, all started at once with this process' environment; their results
    in the order given once every one has exited (all killed if one outlives ``timeout``)."""
    procs = [subprocess.Popen([sys.executable, "cli.py", *args], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=os.environ.copy()) for args in commands]
    done = []
    try:
        for args, proc in zip(commands, procs):
            out, err = proc.communicate(timeout=timeout)
            done.append(subprocess.CompletedProcess([sys.executable, "cli.py", *args], proc.returncode, out, err))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    return done
