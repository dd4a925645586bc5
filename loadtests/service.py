"""The HTTP service Locust loads: search and RAG over ``rag/``, one collection per model, with timings.

Why a service: a load test has to go through what a user would call, so the cost of HTTP, JSON and
queueing is in the numbers; each response also carries its own timing split (embed / search /
generate), and ``GET /stats/timings`` summarises those server-side, so a chart can show where the
time goes without guessing. Models are loaded (and warmed with one query) once at start-up, and the
collections are the app's own: the collection the app built for the requested index config (type,
metric, params; FLAT by default, the app-wide choice when the Load test page starts it) is reused,
a missing one is built; collections of other index configs are left alone.

Concurrent ``/search`` and ``/rag`` requests for one dense (or hybrid) model are micro-batched by
default (``loadtests.batcher``: one ``encode()`` and one Milvus search for several queries; each
response still carries its own hits and ``wait_ms``/``batch_size``/``embed_ms``/``search_ms``).
``--no-batching`` serves one request at a time, so both can be measured. BM25 has nothing to encode:
its requests are searched one per request, in parallel threads, either way.

Endpoints: ``GET /health``, ``GET /models``, ``GET /questions``, ``POST /search {model, query, k}``,
``POST /rag {model, question, k}``, ``GET /stats/timings``, ``POST /stats/reset`` and
``GET /plan/milvus?model=M`` (collection, queries and query vectors for the direct-Milvus locustfile).

What it serves and how (config, request bodies, loaded models) is ``loadtests.service_state``; this
module is the HTTP layer and the process entry. The process binds 127.0.0.1 unless told otherwise
and reaches Milvus by URI: the app's Milvus Lite server by default (``ensure_milvus``), or
``--milvus-uri``. It exits by itself when the process that started it dies (``exit_with_parent``).

Usage:
    python -m loadtests.service --dataset sample --models minilm,bm25 --port 8000
    curl -s 127.0.0.1:8000/search -H 'content-type: application/json' \\
         -d '{"model": "minilm", "query": "garbage collection", "k": 4}'
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import time
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Query
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from loadtests.batcher import DEFAULT_MAX_BATCH, DEFAULT_WINDOW_MS
from loadtests.fast_search import FastSearch
from loadtests.search_protocol import search_protocol
from loadtests.service_state import (
    RagRequest,
    SearchRequest,
    ServiceConfig,
    ServiceState,
    milvus_guard,
)
from rag.i18n import _


def create_app(state: ServiceState, on_shutdown=None) -> FastSearch:
    """The service's ASGI app over a loaded state (tests pass their own; ``main`` builds one from flags):
    ``POST /search`` with a valid body is answered by ``loadtests.fast_search``, everything else
    (and every invalid search) by the FastAPI app. In the service process most valid searches never
    reach it: ``loadtests.search_protocol`` answers them in uvicorn's protocol, with the same bytes.

    ``on_shutdown`` runs when uvicorn stops gracefully: it re-raises SIGTERM after shutdown, so
    ``atexit`` handlers never run and cleanup has to happen here.
    """
    return FastSearch(create_fastapi_app(state, on_shutdown), state)


def create_fastapi_app(state: ServiceState, on_shutdown=None) -> FastAPI:
    """Every endpoint through FastAPI, ``/search`` too (what the fast path hands invalid bodies to)."""
    @asynccontextmanager
    async def lifespan(_app):
        yield
        if state.generator is not None:
            await state.generator.aclose()
        for b in filter(None, (lm.batcher for lm in state.models.values())):
            b.close()
        if on_shutdown is not None:
            on_shutdown()

    app = FastAPI(title="RAG workbench load-test service", version="1", lifespan=lifespan)
    app.state.retriever = state

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request, exc: RequestValidationError):
        # FastAPI's own handler echoes the input back; a lone surrogate in it ("\ud800") cannot be written
        # as UTF-8 and the reply itself crashed (500 with a traceback). Say what is wrong, not what was sent.
        def clean(v) -> str:
            return str(v).encode("utf-8", "replace").decode("utf-8")
        errors = [{"loc": [clean(x) for x in e.get("loc", ())], "msg": clean(e.get("msg", "")),
                   "type": clean(e.get("type", ""))} for e in exc.errors()]
        return JSONResponse(status_code=422, content={"detail": errors})

    @app.get("/health")
    async def health(deep: bool = False) -> dict:
        """Async, so the trivial endpoint skips the thread pool (the capacity benchmark loads it)."""
        out = {"status": "ok", "dataset": state.dataset.name, "models": list(state.models),
               "milvus": state.info.describe(), "uptime_s": round(time.time() - state.started, 1)}
        if deep:
            from anyio import to_thread

            await to_thread.run_sync(lambda: milvus_guard(state, state.store.ping))
        return out

    @app.get("/models")
    def models() -> dict:
        return {"dataset": state.dataset.name, "generator": state.cfg.generator,
                "generator_error": state.generator_error, **state.cfg.batching_json(),
                "models": [lm.describe(len(state.dataset.documents)) for lm in state.models.values()]}

    @app.get("/questions")
    def questions(limit: int = Query(1000, ge=1, le=100_000)) -> dict:
        return {"dataset": state.dataset.name, "questions": [q.text for q in state.dataset.queries[:limit]]}

    @app.post("/search")
    async def search(req: SearchRequest) -> Response:
        """The body serialised by orjson straight to bytes: FastAPI's own path (``jsonable_encoder``,
        then ``json.dumps``) walks every hit in Python, a fixed cost on each request that doubled a
        2 ms BM25 query's time over HTTP."""
        return _json(await state.search(req))

    @app.post("/rag")
    async def rag(req: RagRequest) -> dict:
        return await state.rag(req)

    @app.get("/stats/timings")
    def timings() -> dict:
        return state.timings.summary()

    @app.post("/stats/reset")
    def reset() -> dict:
        state.timings.reset()
        return {"status": "reset"}

    @app.get("/plan/milvus")
    def plan(model: str, limit: int = Query(1000, ge=1, le=100_000)) -> dict:
        return state.plan_milvus(model, limit)

    return app


def _json(body: dict) -> Response:
    import orjson

    return Response(orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY), media_type="application/json")


# ---------------------------------------------------------------- process entry

def bind(host: str, port: int) -> socket.socket:
    """Bind before the slow model load, so a port in use fails at once with a clear message."""
    # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on sockets whose proto says TCP, and
    # without it every keep-alive response waits ~40 ms on Nagle + delayed ACK.
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise OSError(_("port {port} on {host} is in use or not bindable ({reason}); choose another with --port, or 0 "
                        "for any free port").format(port=port, host=host, reason=e.strerror)) from e
    return sock


def main(argv: list[str] | None = None) -> int:
    env = ServiceConfig.from_settings()
    p = argparse.ArgumentParser(prog="python -m loadtests.service", description=__doc__.split("\n")[0])
    p.add_argument("--dataset", default=env.dataset, help="'sample' or a BEIR folder (env WORKBENCH_DATASET)")
    p.add_argument("--models", default=",".join(env.models or []),
                   help="comma-separated; default: those already indexed for the dataset, else minilm,bm25")
    p.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1: loopback only)")
    p.add_argument("--port", type=int, default=8000, help="0 picks a free port (see --ready-file)")
    p.add_argument("--milvus-uri", default=env.milvus_uri, help="default: the app's Milvus (Lite server)")
    p.add_argument("--generator", default=env.generator, help="generator for /rag (default extractive)")
    p.add_argument("--index", default="FLAT", help="index type served (its collection is reused or built)")
    p.add_argument("--metric", default="COSINE")
    p.add_argument("--index-params", default="{}", help='JSON, e.g. \'{"M": 16, "ef": 64}\'')
    p.add_argument("--bm25-analyzer", default="auto", help="BM25/hybrid analyzer: auto (from the corpus' "
                   "language) or a name in rag.milvus.analyzers")
    p.add_argument("--no-batching", action="store_true", help="one request at a time (default: micro-batch)")
    p.add_argument("--batch-window-ms", type=float, default=DEFAULT_WINDOW_MS, help="micro-batch window")
    p.add_argument("--max-batch", type=int, default=DEFAULT_MAX_BATCH, help="queries per encode() call at most")
    p.add_argument("--ready-file", help="write {url, pid} here once listening (the runner waits on it)")
    a = p.parse_args(argv)
    from rag.processes import exit_with_parent

    exit_with_parent()  # started by the app or the CLI: a killed parent leaves no orphan service
    from rag.data.dataset import DatasetError
    from rag.milvus.server import MilvusUnavailable
    from rag.models.base import ModelUnavailable

    try:
        sock = bind(a.host, a.port)
        from rag.milvus.index_config import IndexConfig

        index = IndexConfig.parse(a.index, a.metric, a.index_params, a.bm25_analyzer)
        cfg = ServiceConfig(a.dataset, [m.strip() for m in a.models.split(",") if m.strip()] or None,
                            a.milvus_uri, a.generator, index.index_type, index.metric, index.params,
                            not a.no_batching, a.batch_window_ms, a.max_batch, index.bm25_analyzer)
        if a.batch_window_ms < 0 or not 1 <= a.max_batch <= 1024:
            raise ValueError(_("--batch-window-ms must be >= 0 and --max-batch 1-1024"))
        state = ServiceState(cfg)
    except (OSError, DatasetError, ModelUnavailable, MilvusUnavailable, ValueError, ImportError) as e:
        print(_("error: {message}").format(message=e), file=sys.stderr, flush=True)
        return 2
    except Exception as e:  # e.g. a MilvusException while building: still one readable line
        print(_("error: {message}").format(message=f"{type(e).__name__}: {e}"), file=sys.stderr, flush=True)
        return 2
    import uvicorn

    host, port = sock.getsockname()[:2]
    url = f"http://{'[' + host + ']' if ':' in host else host}:{port}"
    if a.ready_file:
        Path(a.ready_file).write_text(json.dumps({"url": url, "pid": os.getpid()}))
    print(_("serving {models} on {url}").format(models=", ".join(state.models), url=url), file=sys.stderr, flush=True)
    from rag.processes import event_loop_choice, stop_all  # stop_all: e.g. a Milvus Lite server this process started

    app = create_app(state, on_shutdown=stop_all)
    # keep-alive 75 s (uvicorn's 5 s default drops idle connections that Locust users with a think time
    # reuse, and geventhttpclient does not retry a POST on a closed connection)
    # loop: uvloop unless WORKBENCH_SERVICE_LOOP=asyncio (rag.processes.event_loop_choice; the overhead benchmark
    # times both side by side)
    # proxy_headers=False: no X-Forwarded-* rewriting per request (the service binds 127.0.0.1; nothing reads it).
    # http: uvicorn's C parser (httptools, pinned; not the pure-Python h11) with valid POST /search requests
    # answered in the protocol (loadtests.search_protocol); WORKBENCH_SERVICE_HTTP=asgi serves them through the
    # ASGI app (the overhead benchmark times both side by side)
    http = "httptools" if os.environ.get("WORKBENCH_SERVICE_HTTP") == "asgi" else search_protocol(state)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, timeout_keep_alive=75,
                                           http=http, loop=event_loop_choice("WORKBENCH_SERVICE_LOOP"),
                                           proxy_headers=False))
    server.run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
