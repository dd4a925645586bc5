"""``python cli.py milvus start|status|stop``: this data folder's embedded Milvus Lite server.

``start`` starts it (or reuses the running one) and keeps it up after the command exits, until
``stop``: what a script exported from a sweep needs once the app or CLI has exited (otherwise the
server stops ``WORKBENCH_MILVUS_IDLE_S`` seconds after its last user). ``status`` prints its pid, URI
and the processes using it (with ``MILVUS_URI`` set: the server's version and the models it cannot
run); ``stop`` ends it (refused for a ``MILVUS_URI`` server).
"""

from __future__ import annotations

from typing import Annotated, Literal

import typer

from commands.options import command


def milvus(action: Annotated[Literal["start", "status", "stop"], typer.Argument(
        help="start (kept up until stop), status or stop")]) -> int:
    from rag.milvus.server import embedded_status, start_kept, stop_embedded
    from rag.settings import get_settings

    s = get_settings()
    if s.milvus_uri:
        if action != "status":
            raise ValueError(f"MILVUS_URI is set ({s.milvus_uri}): only the embedded Milvus Lite server of a data "
                             f"folder can be {action}ed from here")
        return _remote_status(s)
    if action == "start":
        info = start_kept(s)
        print(f"Milvus Lite (embedded) of {s.data_dir} runs at {info.uri} (pid {info.pid}); it stays up until "
              "`workbench milvus stop`")
        return 0
    if action == "stop":
        st = stop_embedded(s)
        print(f"stopped Milvus Lite (pid {st['pid']}, port {st['port']}) of {s.data_dir}" if st
              else f"no embedded Milvus running for {s.data_dir}")
        return 0
    st = embedded_status(s)
    if not st["running"]:
        print(f"no embedded Milvus running for {s.data_dir}")
        return 0
    owners = ", ".join(map(str, st["owners"])) or "none"
    stops = ("it stays up until `workbench milvus stop` (started by `milvus start`)" if st["kept"] else
             f"it stops {st['idle_stop_s']:g} s after the last one exits")
    print(f"Milvus Lite (embedded) of {s.data_dir}: running, pid {st['pid']}, {st['uri']}\n"
          f"  owners (processes using it): {owners}; {stops}")
    return 0


def _remote_status(s) -> int:
    """The ``MILVUS_URI`` server: does it answer, and which registry models can it not run."""
    from rag.milvus.capabilities import detect
    from rag.milvus.server import MilvusInfo
    from rag.models.registry import REGISTRY

    token = s.milvus_token.get_secret_value() if s.milvus_token else None
    client = MilvusInfo(uri=s.milvus_uri, token=token, embedded=False).client()
    caps = detect(client)
    client.close()
    print(f"{caps.short()} at {s.milvus_uri} (MILVUS_URI) answers")
    for spec in REGISTRY.values():
        why = caps.model_reason(spec)
        if why:
            print(f"  cannot run: {why}")
    return 0


def register(app: typer.Typer) -> None:
    command(app, "milvus", "this data folder's embedded Milvus Lite server: start (kept up until stop), status "
            "or stop")(milvus)
