"""Supervise one embedded Milvus Lite server and stop it when no process that uses it is left.

Run as a script (stdlib + psutil only, so it starts in a fraction of a second): it starts
``milvus-lite server`` as its child, and every second reads the owner files in ``--owners``
(``<pid>.json`` with the process' start time, written by ``rag.milvus.server`` for each process
that uses the server). When no owner has been alive for ``--grace`` seconds, or on SIGTERM, it stops
the server and exits; while the ``--keep`` file exists (``cli.py milvus start``) it waits for SIGTERM
(``cli.py milvus stop``), so scripts exported from a sweep can use the server after the workbench exits.
Why: a CLI or app killed with ``kill -9`` runs no exit handler, and the
server it started used to keep running forever (seen after a killed ``cli.py rag``).

The child also gets ``PR_SET_PDEATHSIG`` so it dies with this watchdog even if the watchdog is
killed with SIGKILL.

Usage (what ``rag.milvus.server`` runs):
    python rag/milvus/watchdog.py --data-dir D/milvus/store --port P --owners D/milvus/owners --grace 30
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil


def live_owners(owners: Path) -> list[int]:
    """Pids of owner processes still running (same pid *and* start time: pids get reused)."""
    alive = []
    for f in owners.glob("*.json"):
        try:
            rec = json.loads(f.read_text())
            p = psutil.Process(int(rec["pid"]))
            if p.status() != psutil.STATUS_ZOMBIE and abs(p.create_time() - float(rec["created"])) < 1.0:
                alive.append(p.pid)
                continue
        except (psutil.Error, ValueError, KeyError, OSError):
            pass
        f.unlink(missing_ok=True)  # a dead owner
    return sorted(alive)


def _die_with_parent() -> None:
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data-dir", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--owners", required=True)
    p.add_argument("--grace", type=float, default=30.0)
    p.add_argument("--keep", default=None, help="while this file exists, never stop for idleness (`milvus start`)")
    a = p.parse_args(argv)
    owners = Path(a.owners)
    child = subprocess.Popen([sys.executable, "-m", "milvus_lite", "server", "--data-dir", a.data_dir,
                              "--host", "127.0.0.1", "--port", str(a.port)], stdin=subprocess.DEVNULL,
                             preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append("SIGTERM"))
    signal.signal(signal.SIGINT, lambda *_: stop.append("SIGINT"))
    last_owner = time.monotonic()
    while not stop and child.poll() is None:
        time.sleep(0.5)
        if live_owners(owners) or (a.keep and Path(a.keep).exists()):
            last_owner = time.monotonic()
        elif time.monotonic() - last_owner > a.grace:
            stop.append(f"no owner alive for {a.grace:g} s")
    if child.poll() is not None:
        print(f"watchdog: Milvus Lite exited with code {child.returncode}", flush=True)  # i18n: internal (log)
        return child.returncode or 1
    print(f"watchdog: stopping Milvus Lite (pid {child.pid}): {stop[0]}", flush=True)  # i18n: internal (log)
    child.terminate()
    try:
        child.wait(10)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait(5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
