"""A local Cohere-style ``/rerank`` endpoint for tests: deterministic scores from word overlap.

A remote reranking API is a boundary the tests cannot reach (like the LLM API of
``tests/support/openai_test_server.py``), so this server stands in for it and the workbench's client code
stays real. ``POST /rerank`` takes ``{"model", "query", "documents": [text, ...], "top_n"}`` and answers
``{"model", "results": [{"index", "relevance_score"}, ...]}`` best first, cut at ``top_n``, as Cohere,
Jina and vLLM do. The score (``overlap_score``) is the share of the query's distinct words found in the
document, so a test can compute the expected ranking itself. Requests are kept in ``server.requests``.

Usage:
    def test_x(rerank_server):          # fixture: (base URL, the requests received)
        base, requests = rerank_server
        rerank(f"rerank:overlap@{base}", "query", hits, texts, k=3)
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


def overlap_score(query: str, document: str) -> float:
    words = set(re.findall(r"[a-z0-9]+", query.lower()))
    found = set(re.findall(r"[a-z0-9]+", document.lower()))
    return len(words & found) / len(words) if words else 0.0


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802  (http.server's name)
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        self.server.requests.append({"path": self.path, "body": body,
                                     "authorization": self.headers.get("Authorization")})
        if self.path.rstrip("/") not in ("/rerank", "/v1/rerank"):
            self.send_error(404)
            return
        scored = [{"index": i, "relevance_score": overlap_score(body["query"], d)}
                  for i, d in enumerate(body["documents"])]
        scored.sort(key=lambda r: (-r["relevance_score"], r["index"]))
        out = json.dumps({"model": body.get("model"), "results": scored[:body.get("top_n") or len(scored)]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args):  # quiet
        pass


@pytest.fixture(scope="module")
def rerank_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", server.requests
    server.shutdown()
    server.server_close()
