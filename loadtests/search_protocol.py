"""uvicorn's C-parser protocol with ``POST /search`` answered in the protocol itself, without the ASGI cycle.

Why: at one user a BM25 query is ~2 ms, and what the service adds has to stay under 15 % of it
(issue 27). Measured on this 2-core machine: the service burned 0.29 ms more CPU per query than a
plain process doing the same searches, 0.19 ms of it in the Python interpreter (``perf``, 3,000
queries each); uvicorn's request cycle and the service's own reply cost ~50 µs per request when hot
(a loop of requests in one process) but several times that right after a pymilvus search, which is
what a service does between two requests: the search evicts the HTTP code from the CPU caches, so
every line a request runs counts several times over. So a search request here skips the ASGI
machinery (a ``RequestResponseCycle`` with its event, the ``receive``/``send`` messages, uvicorn's
header checks, two writes) and, when it is a BM25 search alone in flight, the task too: it is counted
in flight when it arrives and searched in a callback of the event loop's next turn (by then every
request that arrived with it is counted, so a burst still goes to the worker threads), by the same
``ServiceState.search_now`` code as the ASGI route's ``search_query``, and answered in one write with
the same bytes as the ASGI route writes (status line, uvicorn's ``date``/``server`` headers,
``content-type``, ``content-length``, body: tested). Other models' searches (batched, or on the
model's thread) are each a task awaiting ``search_query``, as under the ASGI route.

Only when it is certainly safe: HTTP/1.1 keep-alive, exactly ``POST /search``, no ``Expect``, no
upgrade, nothing else in flight on the connection, no access log or concurrency limit, a body under
64 KiB that ``parse_search`` accepts. Anything else (an invalid body, a pipelined request, another
route) goes through uvicorn and the ASGI app exactly as before, so every validation message and
error is FastAPI's. ``WORKBENCH_SERVICE_HTTP=asgi`` serves every request through the ASGI app (the
overhead benchmark times both side by side).

Usage:
    uvicorn.Config(app, http=search_protocol(state), ...)   # loadtests.service
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from loadtests.fast_search import answer, answer_now, parse_search

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
        state = self.state
        lm = state.models.get(parsed[0])
        if lm is not None and state.may_search_on_loop(lm):
            state.arrived()  # counted now, so requests that arrived together all count before any is searched
            self.loop.call_soon(self._search, cycle, lm, parsed)
        else:
            self._task(cycle, parsed, counted=False)
        return None

    def _search(self, cycle: _InFlight, lm, parsed: tuple[str, str, int]) -> None:
        """A counted BM25 search, on the loop's next turn: here and now when it is alone in flight, else
        in the worker threads through ``search_query`` (``ServiceState.retrieve``, which uncounts it)."""
        state = self.state
        if cycle.disconnected:  # the client went away meanwhile
            return state.gone()
        if not state.search_on_loop_now(lm):  # (the model is found: search_query cannot fail before uncounting)
            return self._task(cycle, parsed, counted=True)
        return self._write(cycle, *answer_now(state, lm, parsed))  # (search_now uncounts it)

    def _task(self, cycle: _InFlight, parsed: tuple[str, str, int], counted: bool) -> None:
        task = self.loop.create_task(self._reply(cycle, parsed, counted))
        task.add_done_callback(self.tasks.discard)
        self.tasks.add(task)  # uvicorn's graceful shutdown waits for it, as for its own cycles

    def _to_uvicorn(self) -> None:
        """Start uvicorn's own cycle for this request now (the parser still holds its method, version and
        keep-alive) and give it the body read so far."""
        body, self._body = bytes(self._body), None
        super().on_headers_complete()
        if body:
            super().on_body(body)

    async def _reply(self, cycle: _InFlight, parsed: tuple[str, str, int], counted: bool) -> None:
        self._write(cycle, *await answer(self.state, parsed, counted))

    def _write(self, cycle: _InFlight, status: int, headers: list[tuple[bytes, bytes]], out: bytes) -> None:
        """The reply in one write, as uvicorn writes it (``RequestResponseCycle.send``), then the
        connection's next request or its keep-alive timer (``on_response_complete``)."""
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
