"""A local OpenAI-compatible API for tests: a small deterministic judge, not a table of canned scores.

The remote LLM API is the one boundary the tests cannot reach, so this server stands in for it and
everything else stays real (Ragas' own prompts, parsing and score math; LangChain; the openai client).
Ragas sends each judge prompt with the JSON schema of the reply in the text; the server finds the
schema's ``title`` and the ``input: {...}`` block Ragas appends, and answers by reading that input:

- ``StatementGeneratorOutput``: the answer's sentences are the statements;
- ``NLIStatementOutput``: verdict 1 if the statement occurs word for word in the context, else 0
  (so a response copied from its context scores faithfulness 1, a contradicting one 0);
- ``AnswerRelevanceOutput``: the response's first sentence as the question; noncommittal if it
  says it does not know;
- ``ContextPrecisionOutput``: the context is useful if it covers ≥ 35 % of the answer's content words;
- ``ContextRecallOutput``: a reference sentence is attributed if the context covers ≥ 50 % of its
  content words;
- ``StringIO`` with ``output_string``/``prompt_value`` (legacy Ragas' "fix the JSON" retry, still used by
  the test-set generator): re-judges the original prompt; the test-set generator's prompts get small
  input-derived answers.

The metrics (``ragas.metrics.collections`` through instructor) send the schema a second time in a system
message and ask for JSON mode (``response_format``); a reply that does not parse is re-asked with the
conversation so far plus the error (an ``assistant`` message in the request): the server answers the
original prompt again and counts it in ``stats()["reasks"]``.

A prompt without a schema is a RAG generation request: the answer is the context sentence sharing the
most words with the question. ``/v1/embeddings`` returns hashed bag-of-words vectors.

Faults (for failure accounting tests): ``latency`` seconds before every reply, and rules
``{"kind": "http500" | "timeout" | "invalid_json", "match": "text in the prompt", "times": N}``
(``http400`` on ``/v1/embeddings``: a request whose inputs contain ``match`` is rejected whole)
(``times`` None = always). Set them on the object or via ``POST /admin/config``; ``GET /admin/stats``
counts calls, peak concurrency and faults applied.

Judge noise (for judge-reliability tests): ``noise={"mode": "noisy", "p": 0.2, "seed": 7}`` flips each
verdict (context precision's useful / not useful, faithfulness' NLI verdicts, context recall's
attributions) with probability p, decided by a hash of (prompt, repeat index, seed), so a run's flips
are known in advance; ``{"mode": "biased", "kinds": ["context_precision"], "only": 0}`` flips the chosen
verdicts always (tests/support/judge_rules.py ``JudgeNoise``). The repeat index is the request's OpenAI
``seed`` field (0 when absent). p = 0 gives exactly the plain judge's replies.

Every request's ``Authorization`` header is recorded (``srv.authorizations()``: ``[(path, header or
None), ...]``) so tests assert exactly which key an endpoint received.

Usage:
    with JudgeServer(latency=0.0) as srv:
        srv.base_url                 # "http://127.0.0.1:PORT/v1"
        srv.set_faults([{"kind": "http500", "match": "garbage", "times": None}])
        srv.set_noise({"mode": "noisy", "p": 0.3, "seed": 7})   # None: the plain judge
        srv.stats()["calls"]
        srv.authorizations()         # [("/v1/chat/completions", "Bearer sk-..." or None), ...]
    # or standalone:  python tests/support/openai_test_server.py --port 8765 --latency 1
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import threading
import time

import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from tests.support.judge_rules import JudgeNoise, embed, generate_answer, judge, parse_prompt


class _RecordAuth:
    """Records each HTTP request's path and ``Authorization`` header, as plain ASGI (Starlette's
    ``BaseHTTPMiddleware`` ran every request through a task group and a response stream: CPU on the machine
    the benchmarks measure)."""

    def __init__(self, app, record):
        self.app, self.record = app, record

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            auth = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"authorization"), None)
            self.record(scope["path"], auth)
        await self.app(scope, receive, send)


class JudgeServer:
    def __init__(self, latency: float = 0.0, faults: list[dict] | None = None, host: str = "127.0.0.1",
                 port: int = 0, hang_seconds: float = 30.0, noise: dict | None = None):
        self.latency, self.hang_seconds, self.host = latency, hang_seconds, host
        self.port = port or _free_port()
        self._lock = threading.Lock()
        self._faults: list[dict] = []
        self.set_faults(faults or [])
        self.set_noise(noise)
        self.reset_stats()
        self.app = self._build_app()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def set_faults(self, faults: list[dict]) -> None:
        with self._lock:
            self._faults = [{"match": "", "times": None, **f} for f in faults]

    def set_noise(self, noise: dict | None) -> None:
        """The judge's noise (``JudgeNoise.from_json``'s dict), or None for the plain judge."""
        self.noise = JudgeNoise.from_json(noise)

    def reset_stats(self) -> None:
        with self._lock:
            self._stats = {"calls": 0, "chat_calls": 0, "embedding_calls": 0, "by_title": {}, "faults_applied": 0,
                           "in_flight": 0, "max_in_flight": 0, "prompt_tokens": 0, "completion_tokens": 0,
                           "reasks": 0}
            self._auth: list[tuple[str, str | None]] = []

    def authorizations(self) -> list[tuple[str, str | None]]:
        """(path, Authorization header or None) of every request since the last reset, in order."""
        with self._lock:
            return list(self._auth)

    def keys_seen(self) -> set[str | None]:
        """The distinct Authorization headers the API paths received (None: none sent)."""
        return {a for p, a in self.authorizations() if p.startswith("/v1/")}

    def _record_auth(self, path: str, authorization: str | None) -> None:
        with self._lock:
            self._auth.append((path, authorization))

    def stats(self) -> dict:
        with self._lock:
            return json.loads(json.dumps(self._stats))

    def _fault_for(self, text: str) -> str | None:
        with self._lock:
            for f in self._faults:
                if f["match"] in text and (f["times"] is None or f["times"] > 0):
                    if f["times"] is not None:
                        f["times"] -= 1
                    self._stats["faults_applied"] += 1
                    return f["kind"]
        return None

    def _count(self, key: str, delta: int = 1) -> None:
        with self._lock:
            s = self._stats
            s[key] = s.get(key, 0) + delta
            if key == "in_flight":
                s["max_in_flight"] = max(s["max_in_flight"], s["in_flight"])

    def _count_title(self, title: str) -> None:
        with self._lock:
            self._stats["by_title"][title] = self._stats["by_title"].get(title, 0) + 1

    def _build_app(self) -> FastAPI:
        app = FastAPI()
        app.add_middleware(_RecordAuth, record=self._record_auth)

        @app.get("/v1/models")
        async def models():
            return {"object": "list", "data": [{"id": "test-judge", "object": "model", "owned_by": "tests"}]}

        @app.post("/v1/chat/completions")
        async def chat(request: Request):
            arrived = time.monotonic()
            body = await request.json()
            text = "\n".join(m.get("content") if isinstance(m.get("content"), str)
                             else json.dumps(m.get("content")) for m in body.get("messages", []))
            self._count("calls")
            self._count("chat_calls")
            self._count("in_flight")
            try:
                return await self._chat(body, text, arrived)
            finally:
                self._count("in_flight", -1)

        @app.post("/v1/embeddings")
        async def embeddings(request: Request):
            body = await request.json()
            inputs = body.get("input")
            inputs = [inputs] if isinstance(inputs, str) else inputs
            self._count("calls")
            self._count("embedding_calls")
            if self._fault_for("\n".join(map(str, inputs))) == "http400":  # an API rejecting one input
                return JSONResponse({"error": {"message": "injected: input rejected", "type": "invalid_request_error"}},
                                    400)
            data = [{"object": "embedding", "index": i, "embedding": embed(str(t))} for i, t in enumerate(inputs)]
            n = sum(len(str(t)) // 4 + 1 for t in inputs)
            return {"object": "list", "data": data, "model": body.get("model", "test"),
                    "usage": {"prompt_tokens": n, "total_tokens": n}}

        @app.post("/admin/config")
        async def config(request: Request):
            body = await request.json()
            if "latency" in body:
                self.latency = float(body["latency"])
            if "hang_seconds" in body:
                self.hang_seconds = float(body["hang_seconds"])
            if "faults" in body:
                self.set_faults(body["faults"])
            if "noise" in body:
                self.set_noise(body["noise"])
            return {"ok": True}

        @app.get("/admin/stats")
        async def stats():
            return {**self.stats(), "authorizations": self.authorizations()}

        @app.post("/admin/reset")
        async def reset():
            self.reset_stats()
            self.set_faults([])
            self.set_noise(None)
            return {"ok": True}

        return app

    async def _chat(self, body: dict, text: str, arrived: float):
        """The reply, sent ``latency`` seconds after the request arrived: it is worked out (and serialised) first,
        then the server waits out the rest. Worked out after the wait, the replies of calls that arrived together
        were computed one after another once their waits ended, so the last of 64 left tens of ms late: a
        benchmark of the client's overhead at a 1 s judge read the server's own queue as ours."""
        fault = self._fault_for(text)
        response = self._reply(body, text, fault)
        if self.latency:
            await asyncio.sleep(max(0.0, self.latency - (time.monotonic() - arrived)))
        if fault == "timeout":
            await asyncio.sleep(self.hang_seconds)
        return response

    def _reply(self, body: dict, text: str, fault: str | None) -> JSONResponse:
        if fault == "http500":
            return JSONResponse({"error": {"message": "injected server error", "type": "server_error"}}, 500)
        try:
            title, _ = parse_prompt(text)
            reply = judge(text, self.noise, int(body.get("seed") or 0))
        except (KeyError, ValueError) as e:
            return JSONResponse({"error": {"message": str(e), "type": "invalid_request_error"}}, 400)
        self._count_title(title or "generation")
        if any(m.get("role") == "assistant" for m in body.get("messages", [])):
            self._count("reasks")
        content_text = generate_answer(text) if reply is None else json.dumps(reply)
        if fault == "invalid_json":
            content_text = "Sure! Here is the JSON you asked for: {not json"
        n = int(body.get("n") or 1)
        pt, ct = len(text) // 4 + 1, len(content_text) // 4 + 1
        self._count("prompt_tokens", pt)
        self._count("completion_tokens", ct * n)
        return JSONResponse({"id": f"chatcmpl-{time.time_ns()}", "object": "chat.completion",
                             "created": int(time.time()), "model": body.get("model", "test-judge"),
                             "choices": [{"index": i, "message": {"role": "assistant", "content": content_text},
                                          "finish_reason": "stop", "logprobs": None} for i in range(n)],
                             "usage": {"prompt_tokens": pt, "completion_tokens": ct * n, "total_tokens": pt + ct * n}})

    # ------------------------------------------------------------ lifecycle
    def start(self) -> JudgeServer:
        config = uvicorn.Config(self.app, host=self.host, port=self.port, log_level="warning", lifespan="off",
                                timeout_graceful_shutdown=1)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True, name="judge-server")
        self._thread.start()
        deadline = time.time() + 15
        while not self._server.started:
            if time.time() > deadline or not self._thread.is_alive():
                raise RuntimeError("test OpenAI server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
            self._server = None

    def __enter__(self) -> JudgeServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


@pytest.fixture(scope="module")
def judge_server():
    """A running test server, reset (no faults, no latency, zeroed stats) for each test module."""
    with JudgeServer() as srv:
        yield srv


@pytest.fixture
def llm_server(judge_server):
    """The module's server with faults, noise, latency and stats reset before the test."""
    judge_server.set_faults([])
    judge_server.set_noise(None)
    judge_server.latency = 0.0
    judge_server.reset_stats()
    return judge_server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    p = argparse.ArgumentParser(description="Local OpenAI-compatible test judge")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--latency", type=float, default=0.0)
    p.add_argument("--noise", type=json.loads, default=None, help='e.g. \'{"mode": "noisy", "p": 0.2, "seed": 7}\'')
    a = p.parse_args()
    srv = JudgeServer(latency=a.latency, port=a.port, noise=a.noise).start()
    print(srv.base_url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        srv.stop()


if __name__ == "__main__":
    main()
