"""``python cli.py`` with a fault injected mid-build, run as a user runs it (a subprocess).

    FAULT=kill-embedded KILLS=1 python tests/support/fault_cli.py retrieval --dataset sample ...

Builds stream in chunks of ``CHUNK`` documents (``rag.milvus.store.CHUNK_DOCS``); after each inserted
chunk the fault strikes (at most ``KILLS`` times, once per build; only in ``FAULT_MODEL``'s build if set):
- ``kill-embedded``: SIGKILL this data folder's embedded Milvus Lite server (the watchdog and its child);
- ``kill-pid``: SIGKILL the process ``FAULT_PID`` (a Milvus reached by ``MILVUS_URI``);
- ``fill-disk``: write ``FAULT_FILL`` until the file system says ENOSPC (a small tmpfs data folder).
Each build's result (model, reused, cache hits) is appended to ``FAULT_LOG`` as JSON lines.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, os.getcwd())

import psutil  # noqa: E402

import rag.milvus.store as ms  # noqa: E402

ms.CHUNK_DOCS = int(os.environ.get("CHUNK", "8"))
left = [int(os.environ.get("KILLS", "1"))]
fault = os.environ.get("FAULT", "kill-embedded")


def _kill(pid: int) -> None:
    proc = psutil.Process(pid)
    victims = [*proc.children(recursive=True), proc]
    for p in victims:
        p.kill()
    psutil.wait_procs(victims, timeout=10)


def _fill(path: Path) -> None:
    with path.open("ab") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass


building: list[str] = []  # the model whose collection is being built


def strike(done: int) -> None:
    if left[0] <= 0 or done != ms.CHUNK_DOCS:  # once per build, after its first chunk
        return
    if os.environ.get("FAULT_MODEL") and building[-1:] != [os.environ["FAULT_MODEL"]]:
        return
    left[0] -= 1
    if fault == "kill-embedded":
        from rag.milvus.server import embedded_status

        _kill(embedded_status()["pid"])
    elif fault == "kill-pid":
        _kill(int(os.environ["FAULT_PID"]))
    elif fault == "fill-disk":
        _fill(Path(os.environ["FAULT_FILL"]))


ms._after_chunk = strike
_build = ms.MilvusStore._ensure_collection


def logged_build(self, dataset, spec, *args, **kwargs):
    building.append(spec.name)
    result = _build(self, dataset, spec, *args, **kwargs)
    if os.environ.get("FAULT_LOG"):
        with open(os.environ["FAULT_LOG"], "a") as f:
            f.write(json.dumps({"model": result.model, "reused": result.reused, "cache_hits": result.cache_hits,
                                "uri": self.info.uri}) + "\n")
    return result


ms.MilvusStore._ensure_collection = logged_build

import cli  # noqa: E402

cli.run()
