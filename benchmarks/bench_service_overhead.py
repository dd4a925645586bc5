"""What the HTTP service adds: /search p50 over HTTP ÷ in-process encode + search p50 (goal ≤ 1.15).

The same queries (the dataset's questions, cycled) against the same Milvus collections, one request
at a time so nothing queues:

- **HTTP**: ``POST /search`` to the service (its own process) over a keep-alive connection on
  127.0.0.1, timed by the client, JSON parsed, with two clients in turn: Python's ``http.client``
  (what a user's script would use; its header parsing alone costs ~0.1 ms here) and a lean one
  (``LeanClient``: the request's bytes on a bare socket, the reply read by its Content-Length,
  orjson), which leaves in the figure little but what the service itself adds.
- **in-process, same requests**: the service's own ``embed_ms + search_ms`` for those very requests,
  timed around ``encoder.embed_query`` + ``MilvusStore.search`` inside the service. Same process,
  same warm model, same moment: the cleanest baseline, and the headline ratio.
- **plain process** (the independent baseline, the headline ratio): ``benchmarks/plain_search.py``,
  its own process, the same two calls from its main thread with no HTTP, event loop or thread pool,
  driven in blocks that alternate with the HTTP blocks (with a pause), so only one of the two runs at
  a time and drift on a shared machine hits both alike.
- **in-process, same requests**: the service's own timing of itself, a cross-check (it cannot see
  a model that runs slower inside the service than outside it, which is what the plain process is for).
- **the event loop** (``--compare-loop asyncio``, on by default): a second service on Python's standard asyncio
  loop (``WORKBENCH_SERVICE_LOOP=asyncio``) beside the default uvloop one, timed with the lean client in the
  same blocks, so what uvloop saves is measured side by side, not across runs.

Every line of output carries the load average: on a shared 2-core machine above ~2, the figures say
more about the neighbours than about the service.

Usage:
    python benchmarks/bench_service_overhead.py [--n 400] [--models minilm,bm25] [--dataset sample] [--k 10]

Uses a temporary data folder and its own Milvus Lite server, so ./data is untouched.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import time

import numpy as np
from _setup import ROOT, cleanup, isolated_workbench, load_line, parse  # noqa: E402  (puts the project on sys.path)


def _p(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 2)


class LeanClient:
    """HTTP/1.1 keep-alive POSTs over a bare socket (TCP_NODELAY), the reply read by its Content-Length:
    a client whose own cost is a few tens of microseconds, so the figure is the service's."""

    def __init__(self, host: str, port: int):
        self.sock = socket.create_connection((host, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        self.sock.sendall(b"POST %s HTTP/1.1\r\nhost: bench\r\ncontent-type: application/json\r\n"
                          b"content-length: %d\r\n\r\n%s" % (path.encode(), len(body), body))
        buf = b""
        while (end := buf.find(b"\r\n\r\n")) < 0:
            buf += self.sock.recv(65536)
        head, rest = buf[:end].lower(), buf[end + 4:]
        n = int(head[head.index(b"content-length:") + 15:].split(b"\r\n", 1)[0])
        while len(rest) < n:
            rest += self.sock.recv(65536)
        return int(head[9:12]), rest

    def close(self) -> None:
        self.sock.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=400, help="timed queries per model and path")
    ap.add_argument("--models", default="minilm,bm25")
    ap.add_argument("--dataset", default="sample")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--block", type=int, default=50, help="queries per phase before switching path")
    ap.add_argument("--idle", type=float, default=1.0, help="seconds between phases, so the other process' "
                    "threads go idle (0 in the smoke run: its figures are not read)")
    ap.add_argument("--compare-loop", default="asyncio", help="a second service on this loop ('' for none)")
    args = parse(ap, smoke={"n": 10, "block": 5, "idle": 0.0})
    tmp = isolated_workbench()

    from loadtests.procs import ServiceProcess
    from rag.data.loaders import load_dataset
    from rag.retrieval import Retriever

    models = [m.strip() for m in args.models.split(",") if m.strip()]
    svc = plain = other = None
    print(load_line(), flush=True)
    try:
        ds = load_dataset(args.dataset)
        queries = [q.text for q in ds.queries]
        with Retriever() as wb:
            wb.index(ds, models)
            svc = ServiceProcess(args.dataset, models).start()
            if args.compare_loop:
                os.environ["WORKBENCH_SERVICE_LOOP"] = args.compare_loop
                other = ServiceProcess(args.dataset, models).start()
                os.environ.pop("WORKBENCH_SERVICE_LOOP")
            plain = subprocess.Popen([sys.executable, str(ROOT / "benchmarks" / "plain_search.py"), "--dataset",
                                      args.dataset, "--models", ",".join(models), "--k", str(args.k)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            while (line := plain.stdout.readline()) and line.strip() != "ready":
                pass
            if not line:
                raise RuntimeError("benchmarks/plain_search.py did not start")
            host, port = svc.url.removeprefix("http://").split(":")
            conn = http.client.HTTPConnection(host, int(port), timeout=30)

            def over_http(model: str, q: str) -> tuple[float, float]:
                t = time.perf_counter()
                conn.request("POST", "/search", json.dumps({"model": model, "query": q, "k": args.k}),
                             {"content-type": "application/json"})
                r = conn.getresponse()
                body = json.loads(r.read())
                ms = (time.perf_counter() - t) * 1000
                assert r.status == 200 and body["hits"], body
                return ms, body["timings"]["embed_ms"] + body["timings"]["search_ms"]

            def over_lean(client: LeanClient, model: str, q: str) -> float:
                import orjson

                t = time.perf_counter()
                status, raw = client.post("/search", orjson.dumps({"model": model, "query": q, "k": args.k}))
                body = orjson.loads(raw)
                ms = (time.perf_counter() - t) * 1000
                assert status == 200 and body["hits"], body
                return ms

            def in_plain_process(model: str, start: int, n: int) -> list[float]:
                plain.stdin.write(f"{model} {start} {n}\n")
                plain.stdin.flush()
                return json.loads(plain.stdout.readline())

            rows = []
            for model in models:
                for i in range(min(20, args.n)):  # warm-up (the plain process warmed up at its start)
                    over_http(model, queries[i % len(queries)])
                http_ms, inside_ms, here_ms, lean_ms, other_ms = [], [], [], [], []
                for start in range(0, args.n, args.block):
                    idx = range(start, min(args.n, start + args.block))
                    time.sleep(args.idle)  # let the other process' threads go idle
                    here_ms += in_plain_process(model, idx.start, len(idx))
                    time.sleep(args.idle)
                    conn.close()  # a fresh keep-alive connection, opened by an untimed request
                    over_http(model, queries[0])
                    for j in idx:
                        a, b = over_http(model, queries[j % len(queries)])
                        http_ms.append(a)
                        inside_ms.append(b)
                    time.sleep(args.idle)
                    lean = LeanClient(host, int(port))
                    over_lean(lean, model, queries[0])  # untimed: opens the connection
                    lean_ms += [over_lean(lean, model, queries[j % len(queries)]) for j in idx]
                    lean.close()
                    if other is not None:
                        time.sleep(args.idle)
                        lean = LeanClient(*other.url.removeprefix("http://").split(":"))
                        over_lean(lean, model, queries[0])
                        other_ms += [over_lean(lean, model, queries[j % len(queries)]) for j in idx]
                        lean.close()
                rows.append({"model": model, "n": args.n, "http_p50_ms": _p(http_ms, 50),
                             "http_p95_ms": _p(http_ms, 95), "inside_p50_ms": _p(inside_ms, 50),
                             "here_p50_ms": _p(here_ms, 50), "here_p95_ms": _p(here_ms, 95),
                             "ratio_inside": round(_p(http_ms, 50) / _p(inside_ms, 50), 3),
                             "ratio_here": round(_p(http_ms, 50) / _p(here_ms, 50), 3),
                             "added_p50_ms": round(_p(http_ms, 50) - _p(here_ms, 50), 2),
                             "lean_p50_ms": _p(lean_ms, 50), "lean_p95_ms": _p(lean_ms, 95),
                             "ratio_lean": round(_p(lean_ms, 50) / _p(here_ms, 50), 3),
                             "lean_added_p50_ms": round(_p(lean_ms, 50) - _p(here_ms, 50), 2),
                             "other_loop": args.compare_loop,
                             "other_p50_ms": _p(other_ms, 50) if other_ms else None,
                             "ratio_other": round(_p(other_ms, 50) / _p(here_ms, 50), 3) if other_ms else None,
                             "load": round(os.getloadavg()[0], 1)})
                print(json.dumps(rows[-1]), flush=True)
            conn.close()
        print(f"\n{args.dataset}, k = {args.k}, {args.n} sequential queries per model and path")
        print(load_line())
        print("| model | plain process p50 (ms) | HTTP p50, uvloop, lean client (ms) | lean ÷ plain (goal ≤ 1.15) | "
              "added (ms) | HTTP p50, http.client (ms) | http.client ÷ plain | added (ms) | "
              f"service's own embed + search p50 (ms) | {args.compare_loop or '-'} loop, lean ÷ plain | load |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in rows:
            print(f"| {r['model']} | {r['here_p50_ms']} | {r['lean_p50_ms']} | **{r['ratio_lean']}** | "
                  f"{r['lean_added_p50_ms']} | {r['http_p50_ms']} | {r['ratio_here']} | {r['added_p50_ms']} | "
                  f"{r['inside_p50_ms']} | {r['other_p50_ms']} ms, {r['ratio_other']} | {r['load']} |")
    finally:
        if plain is not None:
            plain.stdin.close()
            plain.wait(timeout=30)
        for s in (svc, other):
            if s is not None:
                s.stop()
        cleanup(tmp)


if __name__ == "__main__":
    main()
