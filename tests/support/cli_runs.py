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
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_clis(commands: list[tuple[str, ...]], timeout: float = 400,
             jobs: int | None = None) -> list[subprocess.CompletedProcess]:
    """``cli.py`` with each argument list and this process' environment, at most ``jobs`` at once (default: all);
    their results in the order given (``subprocess.TimeoutExpired`` if one outlives ``timeout``: it is killed)."""
    def one(args: tuple[str, ...]) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "cli.py", *args], cwd=ROOT, capture_output=True, text=True,
                              timeout=timeout, env=os.environ.copy())

    with ThreadPoolExecutor(max_workers=jobs or len(commands)) as pool:
        return list(pool.map(one, commands))
