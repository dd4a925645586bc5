"""Shared set-up for the benchmark scripts: the project importable, a throw-away data folder and a free
port for Milvus Lite, so a benchmark never touches ./data or a running app.

Usage:
    from _setup import cleanup, free_port, isolated_workbench
    tmp = isolated_workbench()      # before importing rag.*
    try: ...
    finally: cleanup(tmp)           # stops the Milvus Lite server this process started, removes tmp
"""

from __future__ import annotations

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
    return tmp


def cleanup(tmp: str) -> None:
    from rag.milvus.server import stop_started_servers

    stop_started_servers()
    shutil.rmtree(tmp, ignore_errors=True)
