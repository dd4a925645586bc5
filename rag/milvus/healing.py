"""Healing: the embedded Milvus Lite server that dies during a job is restarted once and the job goes on.

Why: killed mid-build (a 3,600-document BEIR corpus), the job was lost although the workbench owns that
server and a second run recovered it with the same numbers. ``MilvusStore`` (``rag.milvus.store``) runs
each build, search and ping through ``heal``: a lost connection to *our* server (its pid gone) restarts
it on the same data folder and port (when free) and the call runs again; complete collections are reused
and the embedding cache keeps what was embedded. A second death within ``RESTART_WINDOW_S``, a server
that still runs but does not answer, or a ``MILVUS_URI`` server going away is ``MilvusUnavailable``:
one line and a hint. Every restart is a JSON line in ``<data>/milvus/restarts.jsonl`` (the app's
sidebar shows the latest) and goes to the ``on_restart`` listeners (the CLI prints a note).

Usage:
    try:
        store.client.list_collections()
    except Exception as e:
        if is_connection_loss(e):
            info = heal(info, e, restarted_at=None)   # the restarted server, or MilvusUnavailable
    last_restart()                                    # {"time", "old_pid", "new_pid", "uri", "reason", ...}
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path

from rag import processes
from rag.i18n import _
from rag.milvus.server import LiteServer, MilvusInfo, MilvusUnavailable, _owned_server, ensure_milvus
from rag.settings import Settings, get_settings

RESTART_WINDOW_S = 300.0  # a server that dies again within this long after a restart is not restarted again
on_restart: list = []  # callables given each restart record (the CLI prints a note line)


def restarts_file(settings: Settings | None = None) -> Path:
    return (settings or get_settings()).path("milvus", "restarts.jsonl")


def server_gone(info: MilvusInfo, settings: Settings | None = None) -> bool:
    """True when ``info`` is this folder's embedded server and it no longer runs (killed, crashed)."""
    if not info.embedded:
        return False
    st = _owned_server(settings or get_settings())
    return st is None or int(st["pid"]) != info.pid


def is_connection_loss(e: BaseException) -> bool:
    """A Milvus call failed because the server is gone or does not answer (not a refused request)."""
    if isinstance(e, MilvusUnavailable):
        return True
    if not type(e).__module__.startswith(("pymilvus", "grpc")):
        return False
    text = str(getattr(e, "message", None) or e).lower()
    return any(w in text for w in ("fail connecting", "unavailable", "connection refused", "connect failed",
                                   "deadline exceeded", "socket closed", "server unavailable"))


def heal(info: MilvusInfo, error: BaseException, restarted_at: float | None,
         settings: Settings | None = None) -> MilvusInfo:
    """After a Milvus call lost its server: the restarted embedded server to continue on, or
    ``MilvusUnavailable`` with one line and a hint (a server by URI, a server that is still up, or a
    second death within ``RESTART_WINDOW_S`` of a restart: something is wrong that a restart won't fix)."""
    s = settings or get_settings()
    why = " ".join(str(getattr(error, "message", None) or error).split())[:200]
    if not info.embedded or not server_gone(info, s):
        raise MilvusUnavailable(_(
            "{server} stopped answering during the job ({why}). {hint} Run the job again: complete collections "
            "are reused and the embedding cache keeps what was embedded.").format(
                server=info.describe(), why=why, hint=info.fix_hint())) from None
    if restarted_at is not None and time.monotonic() - restarted_at < RESTART_WINDOW_S:
        raise MilvusUnavailable(_(
            "The embedded Milvus Lite server of {folder} stopped again after it was restarted (see {log}). Run the "
            "job again: complete collections are reused and the embedding cache keeps what was embedded. If it "
            "keeps stopping, check free disk space and memory.").format(
                folder=s.data_dir, log=s.path("logs", "milvus.log"))) from None
    return restart_embedded(info, why, s)


def restart_embedded(info: MilvusInfo, reason: str, settings: Settings | None = None) -> MilvusInfo:
    """Start this folder's embedded server again after it died, on the same port when free (a client
    or an exported script keeps its URI), and record the restart for the app's sidebar. Another
    process may have restarted it first: then that server is reused."""
    s = settings or get_settings()
    for dead in [c for c in processes.children() if isinstance(c, LiteServer) and c.pid == info.pid]:
        processes.forget(dead)
    new = ensure_milvus(s, port=info.port)
    record = {"time": time.time(), "old_pid": info.pid, "new_pid": new.pid, "old_uri": info.uri, "uri": new.uri,
              "by": os.getpid(), "reason": reason[:300]}
    with restarts_file(s).open("a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")
    for listener in on_restart:
        listener(record)
    return new


def last_restart(settings: Settings | None = None) -> dict | None:
    """The latest recorded restart of this folder's embedded server, or None."""
    try:
        lines = restarts_file(settings).read_text(encoding="utf-8").strip().splitlines()
        return json.loads(lines[-1]) if lines else None
    except (OSError, ValueError):
        return None


class Healing:
    """What ``MilvusStore`` mixes in: ``_healing(call)`` runs a Milvus call, and after a lost server the
    restarted one (``heal``) takes over (``reconnect``) and the call runs again.

    Usage:
        class MilvusStore(Healing): ...         # has .info, .client, ._complete, .restarted_at
        self._healing(lambda: self.client.list_collections())
    """

    info: MilvusInfo
    restarted_at: float | None = None  # monotonic time of the last restart this store made

    def _healing(self, call: Callable):
        while True:
            try:
                return call()
            except Exception as e:
                if not is_connection_loss(e):
                    raise
                new = heal(self.info, e, self.restarted_at)  # or MilvusUnavailable: one line and a hint
                self.restarted_at = time.monotonic()
                self.reconnect(new)

    def reconnect(self, info: MilvusInfo) -> None:
        """Talk to ``info`` from now on (the restarted server); what was seen complete is checked again."""
        old, self.info = self.client, info
        try:
            old.close()
        except Exception:
            pass
        self.client = info.client()
        self._complete.clear()
