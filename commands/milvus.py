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
from rag.i18n import _


def milvus(action: Annotated[Literal["start", "status", "stop"], typer.Argument(
        help="start (kept up until stop), status or stop")]) -> int:
    from rag.milvus.server import embedded_status, start_kept, stop_embedded
    from rag.settings import get_settings

    s = get_settings()
    if s.milvus_uri:
        if action != "status":
            raise ValueError((_("MILVUS_URI is set ({uri}): only the embedded Milvus Lite server of a data folder can "
                                "be started from here") if action == "start" else
                              _("MILVUS_URI is set ({uri}): only the embedded Milvus Lite server of a data folder can "
                                "be stopped from here")).format(uri=s.milvus_uri))
        return _remote_status(s)
    if action == "start":
        info = start_kept(s)
        print(_("Milvus Lite (embedded) of {folder} runs at {uri} (pid {pid}); it stays up until "
                "`workbench milvus stop`").format(folder=s.data_dir, uri=info.uri, pid=info.pid))
        return 0
    if action == "stop":
        st = stop_embedded(s)
        print(_("stopped Milvus Lite (pid {pid}, port {port}) of {folder}").format(
            pid=st["pid"], port=st["port"], folder=s.data_dir) if st
              else _("no embedded Milvus running for {folder}").format(folder=s.data_dir))
        return 0
    st = embedded_status(s)
    if not st["running"]:
        print(_("no embedded Milvus running for {folder}").format(folder=s.data_dir))
        return 0
    owners = ", ".join(map(str, st["owners"])) or _("none")
    stops = (_("it stays up until `workbench milvus stop` (started by `milvus start`)") if st["kept"] else
             _("it stops {seconds} s after the last one exits").format(seconds=f"{st['idle_stop_s']:g}"))
    print(_("Milvus Lite (embedded) of {folder}: running, pid {pid}, {uri}").format(
        folder=s.data_dir, pid=st["pid"], uri=st["uri"]))
    print("  " + _("owners (processes using it): {owners}; {stops}").format(owners=owners, stops=stops))
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
    print(_("{server} at {uri} (MILVUS_URI) answers").format(server=caps.short(), uri=s.milvus_uri))
    for spec in REGISTRY.values():
        why = caps.model_reason(spec)
        if why:
            print("  " + _("cannot run: {why}").format(why=why))
    return 0


def register(app: typer.Typer) -> None:
    command(app, "milvus", "this data folder's embedded Milvus Lite server: start (kept up until stop), status "
            "or stop")(milvus)
