"""Where library chatter goes: the data folder's log file, never the terminal or the page.

Why: when the embedded Milvus died mid-build, pymilvus printed 18 tracebacks (its retry decorator
logs every failed attempt through its own stderr handler) above our one-line error; a full disk gave
4 more. A user needs the one line (what failed, what to do) and where the details are. So the CLI
and the app call ``setup_logging`` once: the root logger writes to ``<data>/logs/workbench.log``
(rotating, 2 MB × 3), Python warnings go there too, and the loggers of pymilvus, grpc, httpx,
transformers, Ragas and LangChain lose their own console handlers and propagate to it.

Libraries add their console handlers when they are imported (pymilvus: ``logging.config.dictConfig``
with ``propagate: False``; transformers: a stderr handler on its first log record), which is after
start-up here (imports are lazy to keep ``--help`` fast). So their loggers are made ``_Routed`` up front:
a logger that refuses console handlers and always propagates, whatever the library configures later.
``reroute`` converts loggers that already exist (cheap, idempotent; ``rag.milvus.server`` calls it
where a client is made). Without ``setup_logging`` (a library user, the tests) nothing is changed.

Usage:
    log_path = setup_logging()     # Path of the log, e.g. data/logs/workbench.log
    reroute()                      # after importing a library that adds its own console handler
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
from pathlib import Path

THIRD_PARTY = ("pymilvus", "pymilvus.milvus_client", "pymilvus.bulk_writer", "grpc", "httpx", "httpcore", "openai",
               "transformers", "sentence_transformers",
               "ragas", "langchain", "langchain_core", "langchain_openai", "langchain_community",
               "huggingface_hub", "urllib3", "instructor", "milvus_lite", "torch", "asyncio", "py.warnings")
LOG_NAME = "workbench.log"

_handler: logging.Handler | None = None


class _Routed(logging.Logger):
    """A library's logger that keeps no console handler and always propagates (to the log file)."""

    def addHandler(self, hdlr: logging.Handler) -> None:  # noqa: N802 (logging's name)
        if not _is_console(hdlr):
            super().addHandler(hdlr)

    @property
    def propagate(self) -> bool:
        return True

    @propagate.setter
    def propagate(self, value: bool) -> None:
        pass  # pymilvus and transformers set False: their records would then reach no file


def log_path(settings=None) -> Path:
    """The log file of this data folder (``<data>/logs/workbench.log``)."""
    from rag.settings import get_settings

    return (settings or get_settings()).path("logs", LOG_NAME)


def setup_logging(settings=None) -> Path:
    """Send every log record (ours and the libraries') to the data folder's log file; returns its path.
    Called again (another data folder in the same process, the tests) it moves the file handler."""
    global _handler
    path = log_path(settings)
    root = logging.getLogger()
    if _handler is not None and Path(getattr(_handler, "baseFilename", "")) == path.resolve():
        reroute()
        return path
    if _handler is not None:
        root.removeHandler(_handler)
        _handler.close()
    _handler = logging.handlers.RotatingFileHandler(path, maxBytes=2_000_000, backupCount=3, encoding="utf-8",
                                                    delay=True)
    _handler.setFormatter(logging.Formatter("%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"))
    root.addHandler(_handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    logging.captureWarnings(True)
    logging.raiseExceptions = False  # a log file that cannot be written (disk full) prints no "Logging error"
    reroute()
    return path


def _is_console(h: logging.Handler) -> bool:
    return (isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler)
            and getattr(h, "stream", None) in (sys.stderr, sys.stdout, sys.__stderr__, sys.__stdout__))


def reroute() -> None:
    """Strip the console handlers of the libraries in ``THIRD_PARTY`` (and their child loggers) so their
    records reach the log file only. A no-op until ``setup_logging`` ran."""
    if _handler is None:
        return
    names = [n for n in list(logging.Logger.manager.loggerDict)
             if any(n == p or n.startswith(p + ".") for p in THIRD_PARTY)]
    for name in names:
        logger = logging.getLogger(name)
        for h in [h for h in logger.handlers if _is_console(h)]:
            logger.removeHandler(h)
        if type(logger) is logging.Logger:
            logger.__class__ = _Routed
    manager = logging.Logger.manager
    for name in THIRD_PARTY:  # not created yet: created routed, before the library configures it
        if name not in manager.loggerDict or isinstance(manager.loggerDict[name], logging.PlaceHolder):
            old, manager.loggerClass = manager.loggerClass, _Routed
            try:
                logging.getLogger(name)
            finally:
                manager.loggerClass = old


def where() -> str:
    """`` (details: PATH)`` for an error line, or "" when nothing is logged to a file."""
    from rag.i18n import _

    return _(" (details: {path})").format(path=_handler.baseFilename) if _handler is not None else ""
