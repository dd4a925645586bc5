"""uvicorn's C-parser protocol with ``POST /search`` answered in the protocol itself, without the ASGI cycle.

Why: at one user a BM25 query is ~2 ms, and what the service adds has to stay under 15 % of it. Timed
inside the service (CPU per request, this 2-core machine, load ~10): 0.28 ms of its own beside the
search, 0.13 ms of it from the request's bytes arriving to ``FastSearch`` being called. uvicorn's
request cycle costs 15 µs when hot (a loop of requests in one process) but ~100 µs right after a
pymilvus search, which is what a service does between two requests: the search evicts the HTTP code
from the CPU caches, so every line the request runs counts six times over. Here a search request
skips the ASGI machinery (a ``RequestResponseCycle`` with its event, the ``receive``/``send``
messages, uvicorn's header checks, two writes): the body is collected by the parser's callbacks,
checked by ``loadtests.fast_search.parse_search``, searched by the same ``ServiceState.search_query``
and answered in one write, with the same bytes as the ASGI route writes (status line, uvicorn's
``date``/``server`` headers, ``content-type``, ``content-length``, body: tested).

Only when it is certainly safe: HTTP/1.1 keep-alive, exactly ``POST /search``, no ``Expect``, no
upgrade, nothing else in flight on the connection, no access log or concurrency limit, a body under
64 KiB that ``parse_search`` accepts. Anything else (an invalid body, a pipelined request, another
route) goes through uvicorn and the ASGI app exactly as before, so every validation message and
error is FastAPI's. Concurrency is untouched: each request is still its own task awaiting
``search_query``, so micro-batching and the BM25 threads behave as under the ASGI route.

Usage:
    uvicorn.Config(app, http=search_protocol(state), ...)   # loadtests.service
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from loadtests.fast_search import answer, parse_search

MAX_BODY = 64 * 1024  # a valid search body is far smaller (2,000 characters at most): above, uvicorn reads it


class _InFlight:
    """Stands in for uvicorn's ``RequestResponseCycle`` while a search answered here is in flight, with
    the attributes uvicorn reads or sets on a cycle: it queues a pipelined request behind it, marks it
    disconnected when the client goes, and asks it to close the connection after its reply on shutdown."""

    def __init__(self):
        self.response_complete = self.disconnected = False
        self.keep_alive = True
        self.message_event = asyncio.Event()  # set by uvicorn on connection loss; nothing waits on it


class SearchProtocol(HttpToolsProtocol):
    """``HttpToolsProtocol`` answering valid ``POST /search`` requests itself (module docstring);
    ``state`` is set by ``search_protocol``."""

    state = None
    _body: bytearray | None = None  # the search body being collected; None: uvicorn handles this request

    def on_headers_complete(self) -> None:
        self._body = None
        p = self.parser
        if (self.url == b"/search" and p.get_method() == b"POST" and p.get_http_version() == "1.1"
                and p.should_keep_alive() and not p.should_upgrade() and not self.expect_100_continue
                and not self.access_log and self.limit_concurrency is None
                and (self.cycle is None or self.cycle.response_complete)):
            self._body = bytearray()  # decided at the message's end, once the body is known
            return
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if self._body is None:
            return super().on_body(body)
        self._body += body
        if len(self._body) > MAX_BODY:  # not a search this path answers: hand it to uvicorn as it stands
            self._to_uvicorn()
        return None

    def on_message_complete(self) -> None:
        if self._body is None:
            return super().on_message_complete()
        body = bytes(self._body)
        content_type = next((v for k, v in self.headers if k == b"content-type"), None)
        parsed = parse_search(body, content_type)
        if parsed is None:  # FastAPI says what is wrong, as before
            self._to_uvicorn()
            return super().on_message_complete()
        self._body = None
        self.cycle = cycle = _InFlight()
        task = self.loop.create_task(self._reply(cycle, parsed))
        task.add_done_callback(self.tasks.discard)
        self.tasks.add(task)  # uvicorn's graceful shutdown waits for it, as for its own cycles
        return None

    def _to_uvicorn(self) -> None:
        """Start uvicorn's own cycle for this request now (the parser still holds its method, version and
        keep-alive) and give it the body read so far."""
        body, self._body = bytes(self._body), None
        super().on_headers_complete()
        if body:
            super().on_body(body)

    async def _reply(self, cycle: _InFlight, parsed: tuple[str, str, int]) -> None:
        status, headers, out = await answer(self.state, parsed)
        if cycle.disconnected:
            return
        head = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers + headers:
            head += [name.lower(), b": ", value, b"\r\n"]
        if not cycle.keep_alive:  # the server is shutting down: as uvicorn, say so and close after the reply
            head.append(b"connection: close\r\n")
        head += [b"\r\n", out]
        self.transport.write(b"".join(head))
        cycle.response_complete = True
        if not cycle.keep_alive:
            self.transport.close()
        self.on_response_complete()


def search_protocol(state) -> type[SearchProtocol]:
    """The protocol class uvicorn instantiates per connection, bound to the service's state."""
    return type("SearchProtocol", (SearchProtocol,), {"state": state})
