"""The one typer app behind ``python cli.py``, and its single policy for exit codes and errors.

Every command returns its exit code: 0 ok, 1 missed or failed rows (a gate that fails, a RAG run
whose rows failed), 3 a bug (below). Bad input exits 2 with one line ``error: …`` on stderr and no traceback, whether
click refuses the command line (unknown option, a value of the wrong type, a refused ``--output``)
or the job refuses it (unknown dataset, model or run id, bad index settings, Milvus down, a full disk,
a damaged run store: checked before any work by ``guard_store``; a job still delivers its ``--output``). The
policy lives in ``WorkbenchGroup.main`` and ``invoke``, so ``cli.main([...])``, typer's
``CliRunner`` and ``python cli.py`` behave the same. Rich's pretty tracebacks are off: they print
local variables, and a key can be one. A genuine bug (an exception no job raises on purpose) exits 3
with one line naming it and the file its traceback was written to (``logs/cli-errors.log`` in the data
folder, secrets masked), so a user never sees a traceback and a bug report still has one. Libraries'
log records (pymilvus retries, grpc, transformers, …) go to ``logs/workbench.log`` (``rag.logs``), and an
error line about Milvus or the disk ends with that path.
The words of these lines follow ``WORKBENCH_LANG`` (``rag.i18n``: ``错误：…`` in Chinese), and so do the messages
jobs raise (formed in the current language); exit codes, JSON keys and the ``run_id`` line do not change with it.

Usage:
    app = build_app()
    code = typer.main.get_command(app).main(["runs", "--json"], standalone_mode=False)   # 0
"""

from __future__ import annotations

import errno
import sqlite3
import sys

import typer
from typer.core import TyperGroup

from rag.i18n import _

PROG = "cli.py"


def user_error(e: BaseException) -> str | None:
    """The one line a job's refusal prints after ``error: ``, or None for an unexpected exception."""
    from rag.data.dataset import DatasetError
    from rag.logs import where
    from rag.milvus.server import MilvusUnavailable
    from rag.models.base import ModelUnavailable
    from rag.runs import RunNotFound

    if isinstance(e, MilvusUnavailable):
        return f"{e}{where()}"
    if isinstance(e, OSError) and e.errno == errno.ENOSPC:
        return (_("no space left on device ({file}): free some disk space and run the job again").format(
            file=e.filename) if e.filename else _("no space left on device: free some disk space and run the job again")
        ) + where()
    if isinstance(e, sqlite3.DatabaseError):  # the run store failing after its check passed
        text = str(e)
        if "full" in text:
            return _("no space left on device ({file}): free some disk space and run the job again").format(
                file=text) + where()
        if "malformed" in text or "not a database" in text:
            from rag.runs.safety import StoreDamaged
            from rag.settings import get_settings

            return str(StoreDamaged(get_settings().path("runs.sqlite"), text))
        return None
    if isinstance(e, (DatasetError, ModelUnavailable, RunNotFound, ValueError, OSError)):
        return str(e)
    if type(e).__module__.startswith(("pymilvus", "grpc")):  # a Milvus call failing mid-run
        text = " ".join(str(getattr(e, "message", None) or e).split())
        if "no space left" in text.lower():
            text = _("no space left on device: free some disk space and run the job again")
        return _("Milvus failed: {reason}").format(reason=text) + where()
    return None


def log_bug(e: BaseException) -> str:
    """Append the traceback of an unexpected exception (secrets masked) to the data folder's
    ``logs/cli-errors.log``; returns the path, or "its traceback" when it cannot be written."""
    import time
    import traceback

    from rag.runs import scrub
    from rag.settings import get_settings

    try:
        path = get_settings().path("logs", "cli-errors.log")
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as f:
            f.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(sys.argv)}\n")
            f.write(scrub("".join(traceback.format_exception(e))))
        return str(path)
    except Exception:
        return _("its traceback")


def usage_line(e: typer.TyperException) -> str:
    """Click's refusal of a command line as one line: ``--models: give at least one model, …``, or the
    generic message with where to look (``No such option: --modles; see `cli.py retrieval --help```)."""
    param, message = getattr(e, "param", None), " ".join(e.message.split()).removeprefix("Value error, ")
    if isinstance(e, typer.BadParameter) and param is not None and message:
        flag = (param.name or "").upper() if param.param_type_name == "argument" else param.opts[0]
        return message if message.startswith(flag) else f"{flag}: {message}"
    ctx = getattr(e, "ctx", None)
    message = " ".join(e.format_message().split()).rstrip(".")  # click's own words (English: click has no Chinese)
    return _("{message}; see `{command} --help`").format(message=message, command=ctx.command_path) \
        if ctx is not None else message


JOBS = ("retrieval", "rag", "sweep", "loadtest", "demo")  # commands that compute results (and record a run)
STORE_FREE = {"milvus": None, "runs": ("check", "backup", "restore")}  # commands that need no healthy store


def guard_store(name: str | None, args: list[str]):
    """Check the run store before a command does any work. Damaged: a job goes on and records its run
    in a side store (``runs-while-damaged.sqlite``; its results still go to ``--output``), then exits 2
    with the store's one line; any other command stops now with that line (exit 2). Returns
    ``(side store, StoreDamaged)`` for a job on a damaged store, else None."""
    from rag.runs.safety import StoreDamaged, check_store
    from rag.runs.store import redirect_default
    from rag.settings import get_settings

    free = STORE_FREE.get(name or "", ())
    if (name in STORE_FREE and (free is None or (args and args[0] in free))) or {"-h", "--help"} & set(args):
        return None
    redirect_default(None)
    s = get_settings()
    try:
        check_store(s.path("runs.sqlite"))
    except StoreDamaged as e:
        if name not in JOBS:
            raise
        side = s.path("runs-while-damaged.sqlite")
        check_store(side)
        redirect_default(side)
        print(_("warning: {error}; this run goes to {side}").format(error=e, side=side), file=sys.stderr, flush=True)
        return side, e
    return None


def _note_restarts() -> None:
    """Say on stderr when the embedded Milvus was restarted mid-job (``rag.milvus.server.heal``)."""
    from rag.milvus import healing as server

    def note(r: dict) -> None:
        print(_("note: the embedded Milvus Lite server stopped ({reason}); restarted it at {uri} and the job goes on")
              .format(reason=r["reason"], uri=r["uri"]), file=sys.stderr, flush=True)
    if not server.on_restart:
        server.on_restart.append(note)


class WorkbenchGroup(TyperGroup):
    """Commands listed in the order they are added; errors and exit codes as the module says."""

    def list_commands(self, ctx) -> list[str]:
        return list(self.commands)

    def resolve_command(self, ctx, args):
        name, cmd, rest = super().resolve_command(ctx, args)
        ctx.meta["wb_store_damaged"] = guard_store(name, rest)  # before any work
        return name, cmd, rest

    def invoke(self, ctx):
        try:
            rv = super().invoke(ctx)
            damaged = ctx.meta.get("wb_store_damaged")
            if damaged is not None:
                side, error = damaged
                print(_("error: {error}; this run was recorded in {side} instead (its results went to --output as "
                        "usual)").format(error=error, side=side), file=sys.stderr)
                raise typer.Exit(2)
            return rv
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise  # click's own: main() prints them
        except KeyboardInterrupt:
            print(_("error: {message}").format(message=_("interrupted")), file=sys.stderr)
            raise typer.Exit(130) from None
        except Exception as e:
            message = user_error(e)
            if message is None:
                from rag.runs import scrub

                print(_("error: {message}").format(message=_(
                    "unexpected {error}: {detail} (a bug: please report it with {log})").format(
                    error=type(e).__name__, detail=scrub(str(e)), log=log_bug(e))), file=sys.stderr)
                raise typer.Exit(3) from None
            print(_("error: {message}").format(message=message), file=sys.stderr)
            raise typer.Exit(2) from None

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        from rag.logs import setup_logging

        setup_logging()  # library loggers to the data folder's log: no third-party traceback on screen
        _note_restarts()
        try:
            rv = super().main(args=args, prog_name=prog_name or PROG, complete_var=complete_var,
                              standalone_mode=False, **extra)
        except typer.TyperException as e:
            print(_("error: {message}").format(message=usage_line(e)), file=sys.stderr)
            rv = getattr(e, "exit_code", 2)
        except typer.Abort:
            print(_("error: {message}").format(message=_("aborted")), file=sys.stderr)
            rv = 1
        code = rv if isinstance(rv, int) else 0
        if standalone_mode:
            sys.exit(code)
        return code


def build_app() -> typer.Typer:
    """Every command, in the order ``--help`` lists them."""
    from commands import decide, demo, export_setup, loadtest, milvus, rag, retrieval, runs, sweep

    app = typer.Typer(name=PROG, cls=WorkbenchGroup, help="RAG evaluation workbench, headless.",
                      add_completion=False, rich_markup_mode=None, pretty_exceptions_enable=False,
                      context_settings={"help_option_names": ["-h", "--help"]})
    for module in (decide, retrieval, rag, sweep, export_setup, loadtest, runs, milvus, demo):
        module.register(app)
    return app


