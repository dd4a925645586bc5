"""Shared set-up for the benchmark scripts: the project importable, a throw-away data folder and a free
port for Milvus Lite, so a benchmark never touches ./data or a running app.

Usage:
    from _setup import cleanup, free_port, isolated_workbench
    tmp = isolated_workbench()      # before importing rag.*
    try: ...
    finally: cleanup(tmp)           # stops the Milvus Lite server this process started, removes tmp

    args = parse(ap, smoke={"n": 200, "seconds": 2})   # --smoke: tiny sizes, seconds (the test suite runs it)

Why a smoke mode: a benchmark that is never run rots (an import moves, a test server moves, and nobody
notices until the next full run). ``tests/benchmarks/test_smoke.py`` runs every script here with
``--smoke`` from outside the repository, so a change that breaks one fails the suite; the full runs stay
manual and are recorded in README.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def isolated_workbench() -> str:
    tmp = tempfile.mkdtemp(prefix="wb-bench-")
    os.environ["WORKBENCH_DATA_DIR"] = tmp
    os.environ["WORKBENCH_MILVUS_PORT"] = str(free_port())
    if "rag.settings" in sys.modules:  # a second script in one process (benchmarks/smoke.py): new folder, new port
        sys.modules["rag.settings"].reset_settings()
    return tmp


def cleanup(tmp: str) -> None:
    from rag.milvus.server import stop_started_servers

    stop_started_servers()
    shutil.rmtree(tmp, ignore_errors=True)


def parse(ap: argparse.ArgumentParser, smoke: dict) -> argparse.Namespace:
    """``ap.parse_args()`` plus ``--smoke``: with it, every option in ``smoke`` (dest -> value) is set to
    its tiny value, and a line says the figures that follow mean nothing."""
    ap.add_argument("--smoke", action="store_true",
                    help="tiny sizes, seconds: checks the script still runs (its figures mean nothing)")
    args = ap.parse_args()
    if args.smoke:
        for dest, value in smoke.items():
            setattr(args, dest, value)
        print(f"# smoke run ({', '.join(f'{k}={v}' for k, v in smoke.items())}): the figures mean nothing",
              flush=True)
    return args


def cpu_steal(stat: str = "/proc/stat") -> tuple[int, int] | None:
    """(steal, total) CPU time of all CPUs so far, in clock ticks (``/proc/stat``); None without it.

    Steal is time a virtual CPU had work but the hypervisor ran someone else's. On this shared VM it, more than
    the load average, tells a quiet run from a disturbed one: the load average counts only our own processes,
    while a neighbour on the host can take a quarter of our CPU time (measured: 26 % during one benchmark)."""
    try:
        with open(stat) as f:
            fields = [int(x) for x in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    return (fields[7], sum(fields)) if len(fields) == 8 else None


def steal_pct(since: tuple[int, int] | None, now: tuple[int, int] | None = None) -> float | None:
    """Steal as a percentage of all CPU time from ``since`` to ``now`` (``cpu_steal()`` readings; ``now`` defaults to
    one taken here); None if unknown."""
    now = now or cpu_steal()
    if now is None or since is None or now[1] <= since[1]:
        return None
    return round(100 * (now[0] - since[0]) / (now[1] - since[1]), 1)


_last_line = cpu_steal()


def load_line() -> str:
    """Machine and load, for every figure: cores, date, the 1/5/15-minute load averages, and the CPU time the
    hypervisor stole since the previous such line (or since the script started)."""
    import platform
    import time

    global _last_line
    one, five, fifteen = os.getloadavg()
    steal, _last_line = steal_pct(_last_line), cpu_steal()
    return (f"# {platform.node()}, {os.cpu_count()} cores, {time.strftime('%Y-%m-%d %H:%M')}, "
            f"load average {one:.1f} / {five:.1f} / {fifteen:.1f}"
            + ("" if steal is None else f", steal {steal} % of CPU time since the last line"))
