"""Local stand-ins for the embedding providers' APIs, each speaking one wire format and recording
what it was sent (path, the auth header, model, input type per text, dims), on 127.0.0.1.

Wire formats (as ``rag.models.provider_api`` sends them and the providers document them):
- ``openai``: POST ``/embeddings`` ``{model, input, dimensions?}`` -> ``{data: [{embedding, index}], usage}``
  (DashScope compatible mode, Zhipu, SiliconFlow);
- ``cohere``: POST ``/v2/embed`` ``{model, texts, input_type, embedding_types, output_dimension?}``
  -> ``{embeddings: {float: [...]}, meta: {billed_units: {input_tokens}}}``;
- ``voyage``: POST ``/embeddings`` ``{model, input, input_type, output_dimension?}`` -> OpenAI-shaped;
- ``jina``: POST ``/embeddings`` ``{model, input, task, dimensions?}`` -> OpenAI-shaped;
- ``gemini``: POST ``/models/M:batchEmbedContents`` (key in ``x-goog-api-key``) ``{requests: [{model,
  content: {parts: [{text}]}, taskType, outputDimensionality?}]}`` -> ``{embeddings: [{values}]}``.

A vector is a hashed bag of words of the text (so rankings are real) plus a component for the input
type, so a query embedded as a document comes back different. Tokens billed: words per text.
``reject_over`` (words) answers HTTP 400 "input too long" like a provider whose limit was exceeded.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DIM = 32


def vector(text: str, side: str, dim: int = DIM) -> list[float]:
    v = [0.0] * dim
    for w in re.findall(r"\w+", text.lower()):
        v[int(hashlib.md5(w.encode()).hexdigest(), 16) % (dim - 1)] += 1.0
    v[dim - 1] = 0.5 if side in ("query", "search_query", "retrieval.query", "RETRIEVAL_QUERY") else 0.0
    return v


class ProviderServer:
    """Usage: with ProviderServer("cohere") as srv: ... srv.base_url, srv.requests (list of dicts)."""

    def __init__(self, wire: str, reject_over: int | None = None):
        self.wire, self.reject_over = wire, reject_over
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):  # quiet
                pass

            def do_POST(self):  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                status, reply = server._answer(self.path, dict(self.headers), body)
                data = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}" + ("/v1" if self.wire in ("openai", "voyage", "jina") else
                                          "/v1beta" if self.wire == "gemini" else "")

    def keys_seen(self) -> set[str | None]:
        return {r["key"] for r in self.requests}

    def _answer(self, path: str, headers: dict, body: dict) -> tuple[int, dict]:
        h = {k.lower(): v for k, v in headers.items()}
        key = h.get("x-goog-api-key") if self.wire == "gemini" else h.get("authorization")
        if self.wire == "gemini":
            texts = [r["content"]["parts"][0]["text"] for r in body["requests"]]
            sides = [r.get("taskType") for r in body["requests"]]
            model = body["requests"][0]["model"] if body["requests"] else None
            dims = body["requests"][0].get("outputDimensionality") if body["requests"] else None
        else:
            texts = body.get("texts") if self.wire == "cohere" else body.get("input")
            side = body.get({"cohere": "input_type", "voyage": "input_type", "jina": "task"}.get(self.wire, ""))
            sides = [side] * len(texts)
            model = body.get("model")
            dims = body.get({"cohere": "output_dimension", "voyage": "output_dimension"}.get(self.wire, "dimensions"))
        self.requests.append({"path": path, "key": key, "model": model, "texts": texts, "sides": sides,
                              "dims": dims, "body": body})
        if self.reject_over and any(len(t.split()) > self.reject_over for t in texts):
            return 400, {"error": {"message": f"input too long: exceeds the {self.reject_over} token limit"}}
        dim = dims or DIM
        vecs = [vector(t, s, max(dim, 2)) for t, s in zip(texts, sides)]
        tokens = sum(len(t.split()) for t in texts)
        if self.wire == "cohere":
            return 200, {"id": "x", "embeddings": {"float": vecs}, "texts": texts,
                         "meta": {"billed_units": {"input_tokens": tokens}}}
        if self.wire == "gemini":
            return 200, {"embeddings": [{"values": v} for v in vecs]}
        return 200, {"object": "list", "model": model, "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
                     "data": [{"object": "embedding", "index": i, "embedding": v}
                              for i, v in reversed(list(enumerate(vecs)))]}  # out of order: clients sort

    def __enter__(self) -> ProviderServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)
