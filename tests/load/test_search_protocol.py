"""``loadtests.search_protocol``: valid searches answered in uvicorn's protocol, everything else as before.

Two real uvicorn servers (uvloop, as the service runs) over one real state (Milvus Lite, BM25, MiniLM):
one with the search protocol, one with uvicorn's own httptools protocol (the ASGI route, as before),
each in front of a counting wrapper of the same app, spoken to over raw sockets so the bytes on the
wire are what is compared. Where a BM25 search runs (on the event loop when alone, in worker threads
in a burst) is checked on the protocol itself, fed requests in one turn of a real uvloop loop as one
wake-up of the server delivers them.
"""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest

from tests.conftest import free_port
from tests.support.asgi_counting import CountingApp


class _Served:
    def __init__(self, state, http):
        import uvicorn

        from loadtests.service import create_app

        self.app = CountingApp(create_app(state))
        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port, http=http,
                                                    loop="uvloop", log_level="warning", access_log=False,
                                                    proxy_headers=False, lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline and self.thread.is_alive(), "uvicorn did not start"
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture(scope="module")
def servers(milvus):
    """(search protocol, uvicorn's own protocol), both over one state."""
    from loadtests.search_protocol import search_protocol
    from loadtests.service_state import ServiceConfig, ServiceState

    state = ServiceState(ServiceConfig(dataset="sample", models=["bm25", "minilm"]), log=lambda m: None)
    served = search_protocol(state)

    class Quiet(served):
        """As the service runs it (``access_log=False``): pytest's capture handlers on uvicorn's access
        logger would otherwise turn uvicorn's access log on, and with it the path through uvicorn."""

        def __init__(self, *a, **kw):
            super().__init__(*a, **kw)
            self.access_log = False
    fast, plain = _Served(state, Quiet), _Served(state, "httptools")
    fast.state = state
    yield fast, plain
    fast.stop()
    plain.stop()
    state.store.client.close()


def _request(body: bytes, path: str = "/search", method: str = "POST", extra: bytes = b"") -> bytes:
    return (b"%s %s HTTP/1.1\r\nhost: t\r\ncontent-type: application/json\r\ncontent-length: %d\r\n%s\r\n%s"
            % (method.encode(), path.encode(), len(body), extra, body))


def _read_responses(sock: socket.socket, n: int) -> list[tuple[list[bytes], bytes]]:
    """n responses read off the socket: (head lines without the date's value, body) each."""
    buf, out = b"", []
    while len(out) < n:
        while (end := buf.find(b"\r\n\r\n")) < 0:
            chunk = sock.recv(65536)
            assert chunk, f"connection closed after {len(out)} of {n} responses"
            buf += chunk
        head, buf = buf[:end].split(b"\r\n"), buf[end + 4:]
        length = int(next(h for h in head if h.startswith(b"content-length: ")).split(b": ")[1])
        while len(buf) < length:
            buf += sock.recv(65536)
        body, buf = buf[:length], buf[length:]
        out.append(([b"date: ..." if h.startswith(b"date: ") else h for h in head], body))
    return out


def _exchange(served: _Served, *requests: bytes, pause: float = 0.0) -> list[tuple[list[bytes], bytes]]:
    with socket.create_connection(("127.0.0.1", served.port), timeout=30) as s:
        out = []
        for r in requests:
            if pause:  # the body in a second segment
                s.sendall(r[:r.index(b"\r\n\r\n") + 4])
                time.sleep(pause)
                s.sendall(r[r.index(b"\r\n\r\n") + 4:])
            else:
                s.sendall(r)
            out += _read_responses(s, 1)
        return out


def _without_timings(body: bytes) -> dict:
    d = json.loads(body)
    return {**d, "timings": sorted(d["timings"])}


@pytest.mark.parametrize("model", ["bm25", "minilm"])
def test_a_valid_search_is_answered_in_the_protocol_with_the_asgi_routes_bytes(servers, model):
    fast, plain = servers
    body = json.dumps({"model": model, "query": "memory safety without a garbage collector", "k": 5}).encode()
    calls = fast.app.calls, plain.app.calls
    (head_a, a), = _exchange(fast, _request(body))
    (head_b, b), = _exchange(plain, _request(body))
    assert (fast.app.calls, plain.app.calls) == (calls[0], calls[1] + 1)  # the app never saw it here
    # the same head, line by line (the length is each body's own: the timings' digits vary between requests)
    assert head_a == [b"HTTP/1.1 200 OK", b"date: ...", b"server: uvicorn", b"content-type: application/json",
                      b"content-length: %d" % len(a)]
    assert head_b == head_a[:4] + [b"content-length: %d" % len(b)]
    ja = _without_timings(a)
    assert ja == _without_timings(b) and ja["model"] == model and len(ja["hits"]) == 5
    assert ja["timings"] == ["batch_size", "embed_ms", "search_ms", "server_ms", "wait_ms"]


@pytest.mark.parametrize("body", [
    b'{"model": "bm25", "query": "gc", "k": 0}', b'{"model": "bm25", "query": "gc", "k": "3"}',
    b'{"model": "bm25"', b'{"model": "bm25", "query": "' + b"x" * 70_000 + b'"}',  # over 64 KiB: uvicorn reads it
])
def test_anything_else_reaches_the_app_and_gets_the_same_answer(servers, body):
    fast, plain = servers
    calls = fast.app.calls
    (head_a, a), = _exchange(fast, _request(body))
    (head_b, b), = _exchange(plain, _request(body))
    assert fast.app.calls == calls + 1
    if head_a[0] == b"HTTP/1.1 200 OK":  # pydantic's lax int: served by FastAPI (timings' digits vary the length)
        assert head_a[:3] == head_b[:3] and _without_timings(a) == _without_timings(b) and json.loads(a)["k"] == 3
    else:
        assert head_a == head_b and a == b and head_a[0].startswith(b"HTTP/1.1 422 ")


def test_an_unknown_model_is_fastapis_404_byte_for_byte(servers):
    fast, plain = servers
    body = b'{"model": "nope", "query": "gc"}'
    (head_a, a), = _exchange(fast, _request(body))
    (head_b, b), = _exchange(plain, _request(body))
    assert head_a == head_b and head_a[0] == b"HTTP/1.1 404 Not Found"
    assert a == b == b"{\"detail\":\"unknown model 'nope'; known: bm25, minilm\"}"


def test_keep_alive_pipelining_split_bodies_and_connection_close(servers):
    """Three requests in one segment (search, health, search) come back in order on one connection; a body
    sent after its headers is still answered here; ``Connection: close`` goes to uvicorn, which closes."""
    fast, plain = servers
    search = _request(b'{"model": "bm25", "query": "garbage collection", "k": 3}')
    (_, expected), = _exchange(plain, search)
    with socket.create_connection(("127.0.0.1", fast.port), timeout=30) as s:
        s.sendall(search + b"GET /health HTTP/1.1\r\nhost: t\r\n\r\n" + search)
        got = _read_responses(s, 3)
    assert [h[0] for h, _b in got] == [b"HTTP/1.1 200 OK"] * 3
    assert _without_timings(got[0][1]) == _without_timings(got[2][1]) == _without_timings(expected)
    assert json.loads(got[1][1])["status"] == "ok"

    calls = fast.app.calls
    (_, split), = _exchange(fast, search, pause=0.05)
    assert _without_timings(split) == _without_timings(expected) and fast.app.calls == calls

    with socket.create_connection(("127.0.0.1", fast.port), timeout=30) as s:
        s.sendall(_request(b'{"model": "bm25", "query": "garbage collection", "k": 3}', extra=b"connection: close\r\n"))
        (head, body), = _read_responses(s, 1)
        assert b"connection: close" in head and s.recv(10) == b""  # closed by uvicorn after its reply
    assert fast.app.calls == calls + 1 and _without_timings(body) == _without_timings(expected)


def test_concurrent_searches_on_many_connections_each_get_their_own_hits(servers):
    """Eight connections at once (BM25 and MiniLM mixed): the protocol's tasks overlap as the ASGI route's do."""
    from concurrent.futures import ThreadPoolExecutor

    fast, plain = servers
    bodies = [json.dumps({"model": m, "query": q, "k": 4}).encode() for m in ("bm25", "minilm")
              for q in ("garbage collection", "borrow checker", "green threads", "type inference")]
    def hits(served: _Served, body: bytes) -> list[tuple[str, float]]:
        return [(h["id"], h["score"]) for h in json.loads(_exchange(served, _request(body))[0][1])["hits"]]
    want = [hits(plain, b) for b in bodies]
    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda b: hits(fast, b), bodies))
    assert [[d for d, _s in g] for g in got] == [[d for d, _s in w] for w in want]
    # a batch of MiniLM queries is encoded padded together: scores agree to float precision, not bit for bit
    assert all(abs(a - b) < 1e-5 for g, w in zip(got, want) for (_d, a), (_e, b) in zip(g, w))


class _Transport:
    """What the protocol writes to, kept (the socket of one connection)."""

    def __init__(self):
        self.out, self.closed = bytearray(), False

    def write(self, data: bytes) -> None:
        self.out += data

    def get_extra_info(self, name, default=None):
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 50000)}.get(name, default)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def _in_one_turn(state, requests: list[bytes], monkeypatch, lost: bool = False) -> tuple[list[bytes], list[str]]:
    """Each request on its own connection of the search protocol, all delivered in one turn of a uvloop
    loop; the bytes written back on each, and where each Milvus search ran ("loop" or "thread").
    ``lost``: every client goes away right after sending, before the loop's next turn."""
    import asyncio

    import uvloop
    from uvicorn.config import Config
    from uvicorn.server import ServerState

    from loadtests.search_protocol import search_protocol
    from loadtests.service import create_app

    where, search = [], state.store.search

    def recorded(*a, **kw):
        where.append("loop" if threading.current_thread() is threading.main_thread() else "thread")
        return search(*a, **kw)
    monkeypatch.setattr(state.store, "search", recorded)

    async def run() -> list[bytes]:
        config = Config(create_app(state), http="httptools", access_log=False, log_level="warning",
                        proxy_headers=False, lifespan="off")
        config.load()
        conns = []
        for _ in requests:
            proto = search_protocol(state)(config=config, server_state=ServerState(), app_state={})
            transport = _Transport()
            proto.access_log = False
            proto.connection_made(transport)
            conns.append((proto, transport))
        for (proto, _t), request in zip(conns, requests):
            proto.data_received(request)
        if lost:
            for proto, _t in conns:
                proto.connection_lost(None)
        deadline = time.monotonic() + 30
        while not lost and not all(_complete(t.out) for _p, t in conns):
            assert time.monotonic() < deadline, "no reply within 30 s"
            await asyncio.sleep(0.005)
        await asyncio.sleep(0.05)
        for proto, _t in conns:
            if proto.timeout_keep_alive_task is not None:
                proto.timeout_keep_alive_task.cancel()
        return [bytes(t.out) for _p, t in conns]
    return uvloop.run(run()), where


def _complete(out: bytearray) -> bool:
    end = out.find(b"\r\n\r\n")
    if end < 0:
        return False
    length = int(next(h for h in out[:end].split(b"\r\n") if h.startswith(b"content-length: ")).split(b": ")[1])
    return len(out) >= end + 4 + length


def _hits(raw: bytes) -> list[str]:
    return [h["id"] for h in json.loads(raw[raw.index(b"\r\n\r\n") + 4:])["hits"]]


QUERIES = ("garbage collection", "borrow checker", "green threads")


def test_a_lone_bm25_search_runs_on_the_loop_and_a_burst_in_worker_threads(servers, monkeypatch):
    """Alone in flight: searched on the event loop's thread, no task, no hop. Three arriving in one turn:
    each in a worker thread (they overlap), as ``ServiceState.retrieve`` does for the ASGI route. Either
    way: the ASGI route's hits, the timing book counts each search, and nothing is left in flight."""
    fast, plain = servers
    state = fast.state
    bodies = [json.dumps({"model": "bm25", "query": q, "k": 4}).encode() for q in QUERIES]
    want = [[h["id"] for h in json.loads(_exchange(plain, _request(b))[0][1])["hits"]] for b in bodies]
    state.timings.reset()

    (alone,), where = _in_one_turn(state, [_request(bodies[0])], monkeypatch)
    assert alone.startswith(b"HTTP/1.1 200 OK\r\n") and _hits(alone) == want[0] and where == ["loop"]

    burst, where = _in_one_turn(state, [_request(b) for b in bodies], monkeypatch)
    assert [_hits(r) for r in burst] == want and where == ["thread"] * 3
    assert state._in_flight == 0 and state.timings.summary()["search"]["bm25"]["search_ms"]["n"] == 4


def test_a_client_gone_before_its_turn_gets_nothing_and_leaves_nothing_in_flight(servers, monkeypatch):
    fast, _plain = servers
    state = fast.state
    out, where = _in_one_turn(state, [_request(json.dumps({"model": "bm25", "query": q}).encode())
                                      for q in QUERIES[:2]], monkeypatch, lost=True)
    assert out == [b"", b""] and where == [] and state._in_flight == 0
