"""``POST /search``, the route a load test hammers, served as raw ASGI in front of the FastAPI app.

Why: the service must report the model's speed, not its own. Through FastAPI a well-formed search
request pays for routing, a ``Request`` object, the dependency solver, pydantic validation of the
body and the exception middlewares on every call: measured on this machine (idle, 2 cores), the
service added 0.9 ms to a 1.8 ms BM25 query. Here a request that is certainly valid is parsed with
orjson, checked by hand against the same limits as ``SearchRequest`` and answered directly;
everything else (a body that is not a JSON object of the right types and sizes, another content
type, JSON orjson refuses such as a lone surrogate) is handed to the FastAPI route unchanged, so every
validation error keeps FastAPI's exact status and message. Errors the search itself raises
(unknown model 404, a model or Milvus failure) are ``HTTPException``s answered here as FastAPI's own
handler would: ``{"detail": ...}`` with the same status and headers, serialised the same way.

In the service process, ``loadtests.search_protocol`` answers most valid searches before the ASGI
layer (through ``answer`` / ``answer_now`` below, the same bytes); this app still serves those it
hands on (a pipelined request, ``Connection: close``, HTTP/1.0) and every ASGI server (tests'
``TestClient``, ``WORKBENCH_SERVICE_HTTP=asgi``).

Usage:
    app = FastSearch(create_fastapi_app(state), state)   # what uvicorn serves (``loadtests.service``)
"""

from __future__ import annotations

import json
import logging

import orjson
from fastapi import HTTPException

from loadtests.service_state import MAX_K, MAX_MODEL_CHARS, MAX_QUERY_CHARS

_JSON = [(b"content-type", b"application/json")]
_log = logging.getLogger(__name__)


def parse_search(body: bytes, content_type: bytes | None) -> tuple[str, str, int] | None:
    """(model, query, k) when ``SearchRequest`` would accept the body as it is, else None (let FastAPI
    say what is wrong). Strict on types on purpose: pydantic's lax coercions (``"k": "5"``, ``5.0``)
    stay FastAPI's to judge."""
    if content_type is None or content_type.split(b";", 1)[0].strip().lower() != b"application/json":
        return None
    try:
        obj = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if type(obj) is not dict:
        return None
    model, query, k = obj.get("model"), obj.get("query"), obj.get("k", 10)
    if (type(model) is str and 0 < len(model) <= MAX_MODEL_CHARS and type(query) is str
            and 0 < len(query) <= MAX_QUERY_CHARS and type(k) is int and 1 <= k <= MAX_K):
        return model, query, k
    return None


def error_body(detail) -> bytes:
    """``{"detail": ...}`` byte for byte as Starlette's ``JSONResponse`` writes it."""
    return json.dumps({"detail": detail}, ensure_ascii=False, allow_nan=False, indent=None,
                      separators=(",", ":")).encode("utf-8")


def _ok(reply: dict) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    out = orjson.dumps(reply, option=orjson.OPT_SERIALIZE_NUMPY)
    return 200, _JSON + [(b"content-length", b"%d" % len(out))], out


def _failed(e: Exception) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """A search's error as FastAPI would answer it: an ``HTTPException`` as its own handler does, anything
    else as Starlette's ServerErrorMiddleware (a plain 500, the traceback to the log)."""
    if isinstance(e, HTTPException):
        out, status = error_body(e.detail), e.status_code
        headers = _JSON + [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (e.headers or {}).items()]
    else:
        _log.error("POST /search failed", exc_info=e)
        out, status, headers = b"Internal Server Error", 500, [(b"content-type", b"text/plain; charset=utf-8")]
    return status, headers + [(b"content-length", b"%d" % len(out))], out


async def answer(state, parsed: tuple[str, str, int],
                 counted: bool = False) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """(status, headers with content-length, body) for a checked search: what this module and
    ``loadtests.search_protocol`` write, the same bytes either way (``counted``: see
    ``ServiceState.retrieve``)."""
    try:
        return _ok(await state.search_query(*parsed, counted=counted))
    except Exception as e:
        return _failed(e)


def answer_now(state, lm, parsed: tuple[str, str, int]) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """``answer`` for a request searched here and now on the event loop (``ServiceState.search_now``)."""
    try:
        return _ok(state.search_now(lm, parsed[1], parsed[2]))
    except Exception as e:
        return _failed(e)


class FastSearch:
    """ASGI app: ``POST /search`` answered here when the body is valid, everything else by ``app``."""

    def __init__(self, app, state):
        self.app, self.state = app, state

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["path"] != "/search" or scope["method"] != "POST":
            return await self.app(scope, receive, send)
        chunks = []
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away before sending its body
                return None
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        content_type = next((v for k, v in scope["headers"] if k == b"content-type"), None)
        parsed = parse_search(body, content_type)
        if parsed is None:
            return await self.app(scope, _replay(body, receive), send)
        status, headers, out = await answer(self.state, parsed)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": out})
        return None


def _replay(body: bytes, receive):
    """A ``receive`` that hands the already-read body over once, then whatever the server sends next."""
    sent = False

    async def again():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()
    return again
