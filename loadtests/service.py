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

The process binds 127.0.0.1 unless told otherwise and reaches Milvus by URI: the app's Milvus Lite
server by default (``ensure_milvus``), or ``--milvus-uri``.

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
import threading
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import FastAPI, HTTPException, Query
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from loadtests.batcher import DEFAULT_MAX_BATCH, DEFAULT_WINDOW_MS, MicroBatcher, encode_and_search, warm_up
from loadtests.results import TimingBook

DEFAULT_MODELS = ("minilm", "bm25")
MAX_QUERY_CHARS = 2000
MAX_K = 100


class SearchRequest(BaseModel):
    model: str = Field(min_length=1, max_length=200)
    query: str = Field(min_length=1, max_length=MAX_QUERY_CHARS)
    k: int = Field(default=10, ge=1, le=MAX_K)


class RagRequest(BaseModel):
    model: str = Field(min_length=1, max_length=200)
    question: str = Field(min_length=1, max_length=MAX_QUERY_CHARS)
    k: int = Field(default=4, ge=1, le=MAX_K)


@dataclass
class ServiceConfig:
    """What the service serves; every field also comes from a CLI flag or an environment variable."""
    dataset: str = "sample"
    models: list[str] | None = None       # None: the models already indexed for the dataset, else DEFAULT_MODELS
    milvus_uri: str | None = None         # None: the app's Milvus (ensure_milvus)
    generator: str = "extractive"
    index_type: str = "FLAT"              # the index config served (reused if built, else built)
    metric: str = "COSINE"
    index_params: dict = field(default_factory=dict)
    batching: bool = True                 # micro-batch concurrent queries per dense model (loadtests.batcher)
    batch_window_ms: float = DEFAULT_WINDOW_MS
    max_batch: int = DEFAULT_MAX_BATCH

    def batching_json(self) -> dict:  # what load runs record and the page shows
        return {"batching": self.batching, "batch_window_ms": self.batch_window_ms, "max_batch": self.max_batch}

    @classmethod
    def from_env(cls) -> ServiceConfig:
        models = os.environ.get("WORKBENCH_SERVICE_MODELS", "")
        return cls(dataset=os.environ.get("WORKBENCH_DATASET", "sample"),
                   models=[m for m in models.split(",") if m.strip()] or None,
                   milvus_uri=os.environ.get("WORKBENCH_SERVICE_MILVUS_URI") or None,
                   generator=os.environ.get("WORKBENCH_GENERATOR", "extractive"))


@dataclass
class LoadedModel:
    key: str                     # the spec string the model is asked for by (``oai:m@http://h/v1``)
    spec: object                 # rag.embedders.ModelSpec
    collection: str
    index: object                # rag.store.IndexConfig the collection was built with
    encoder: object | None       # CachedEncoder for dense parts, None for BM25
    lock: threading.Lock = field(default_factory=threading.Lock)  # shared by every user of the same encoder
    batcher: MicroBatcher | None = None  # None: one request at a time (--no-batching, or BM25)

    def describe(self, rows: int) -> dict:
        dense = f"{self.index.index_type}/{self.index.metric}"
        index = {"dense": dense, "sparse": "BM25", "hybrid": f"{dense} + BM25"}.get(self.spec.kind, dense)
        return {"name": self.key, "label": self.spec.label, "kind": self.spec.kind,
                "collection": self.collection, "rows": rows, "index": index}


_encoder_locks: dict[str, threading.Lock] = {}


def encoder_lock(model_id: str) -> threading.Lock:
    """One lock per underlying encoder (minilm and hybrid share MiniLM): HF fast tokenizers are not
    safe to call from two threads at once ("Already borrowed"), and on 2 cores the model is CPU-bound
    anyway, so serialising costs nothing."""
    return _encoder_locks.setdefault(model_id, threading.Lock())


class ServiceState:
    """The loaded dataset, Milvus connection, models and generator; everything a request needs."""

    def __init__(self, cfg: ServiceConfig, log=lambda msg: print(msg, file=sys.stderr, flush=True)):
        from rag.embedders import REGISTRY, resolve_all
        from rag.loaders import load_dataset
        from rag.milvus_server import MilvusInfo, ensure_milvus
        from rag.store import IndexConfig, MilvusStore

        self.cfg, self.log = cfg, log
        self.dataset = load_dataset(cfg.dataset)
        if cfg.milvus_uri:
            token = os.environ.get("MILVUS_TOKEN") or None
            self.info = MilvusInfo(uri=cfg.milvus_uri, token=token, embedded=False)
        else:
            self.info = ensure_milvus()
        self.store = MilvusStore(self.info)
        self.store.ping()
        index = IndexConfig(cfg.index_type, cfg.metric, dict(cfg.index_params))  # bad settings fail here
        names = cfg.models or [m for m in REGISTRY if self.store.builds(self.dataset, m)] or list(DEFAULT_MODELS)
        specs = resolve_all(names)  # keyed by the spec strings asked for; unknown names fail here, before any work
        if not cfg.models:  # defaults this server cannot run (bm25 on Milvus 2.3) are left out, saying why
            for why in filter(None, map(self.store.capabilities.model_reason, specs.values())):
                log(f"warning: {why}: not served")
            specs = {k: sp for k, sp in specs.items() if not self.store.capabilities.model_reason(sp)} or specs
        self.store.capabilities.require(list(specs.values()), index)  # before any build
        self.models: dict[str, LoadedModel] = {}
        for key, spec in specs.items():
            t = time.perf_counter()
            built = self.store.ensure_collection(self.dataset, spec, index)
            name, how = built.name, "reused" if built.reused else "built"
            lm = LoadedModel(key, spec, name, index, spec.encoder(), encoder_lock(spec.model_id))
            self.models[key] = lm
            warm = self.dataset.queries[0].text if self.dataset.queries else "warm-up"
            lm.batcher = warm_up(self.store, lm, warm, self.info.uri, cfg.batching_json())
            log(f"model {key}: collection {name} {how}, warm in {time.perf_counter() - t:.1f} s")
        self.generator, self.generator_error = _make_generator(cfg.generator)
        if self.generator_error:
            log(f"warning: /rag disabled: {self.generator_error}")
        self.timings = TimingBook()
        self.started = time.time()

    # ---------------------------------------------------------------- the two operations
    def model(self, name: str) -> LoadedModel:
        from rag.embedders import model_key

        lm = self.models.get(model_key(name))
        if lm is None:
            raise HTTPException(404, f"unknown model '{name}'; known: {', '.join(self.models)}")
        return lm

    async def retrieve(self, lm: LoadedModel, query: str, k: int) -> tuple[list[tuple[str, float]], dict]:
        """Hits and timings (wait, batch size, embed, Milvus search): batched with other requests for
        the same model, or alone in a worker thread (``--no-batching``, BM25)."""
        if lm.batcher is not None:
            return await lm.batcher.submit(query, k)
        from anyio import to_thread

        r = (await to_thread.run_sync(lambda: encode_and_search(self.store, lm, [(query, k)], self.info.uri)))[0]
        if isinstance(r, BaseException):
            raise r
        hits, timings = r
        return hits, {"wait_ms": timings.pop("wait_ms"), "batch_size": 1, **timings}

    async def search(self, req: SearchRequest) -> dict:
        lm = self.model(req.model)
        t = time.perf_counter()
        hits, timings = await self.retrieve(lm, req.query, req.k)
        timings["server_ms"] = (time.perf_counter() - t) * 1000
        self.timings.add("search", lm.key, timings)
        return {"model": lm.key, "k": req.k, "timings": _rounded(timings),
                "hits": [{"id": d, "title": self._title(d), "score": round(s, 6)} for d, s in hits]}

    async def rag(self, req: RagRequest) -> dict:
        """Retrieve (batched, like /search), then await the generator (LLM calls are async)."""
        from rag.generators import Context

        lm = self.model(req.model)
        if self.generator is None:
            raise HTTPException(503, f"no generator: {self.generator_error}")
        t = time.perf_counter()
        hits, timings = await self.retrieve(lm, req.question, req.k)
        contexts = [self._doc(d) | {"score": round(s, 6)} for d, s in hits]
        t_gen = time.perf_counter()
        try:
            answer = await self.generator.agenerate(req.question, [Context(c["id"], c["title"], c["text"])
                                                                   for c in contexts])
        except Exception as e:  # an LLM endpoint down or refusing: the generator's fault, not ours
            raise HTTPException(502, f"generator {self.cfg.generator} failed: {type(e).__name__}: "
                                     f"{str(e)[:300]}") from e
        timings["generate_ms"] = (time.perf_counter() - t_gen) * 1000
        timings["server_ms"] = (time.perf_counter() - t) * 1000
        self.timings.add("rag", lm.key, timings)
        return {"model": lm.key, "k": req.k, "answer": answer.text, "contexts": contexts,
                "generator": self.cfg.generator, "timings": _rounded(timings)}

    def _title(self, doc_id: str) -> str:
        try:
            return self.dataset.doc(doc_id).title
        except KeyError:
            return ""

    def _doc(self, doc_id: str) -> dict:
        try:
            d = self.dataset.doc(doc_id)
            return {"id": d.id, "title": d.title, "text": d.text}
        except KeyError:
            return {"id": doc_id, "title": "", "text": ""}

    def plan_milvus(self, model: str, limit: int) -> dict:
        """What the direct-Milvus locustfile needs to issue the same searches without a model."""
        lm = self.model(model)
        queries = [q.text for q in self.dataset.queries[:limit]]
        vectors = None
        if lm.encoder is not None:
            with lm.lock:
                vectors = [[round(float(x), 7) for x in v] for v in lm.encoder.embed(queries)]
        return {"uri": self.info.uri, "collection": lm.collection, "model": lm.key, "kind": lm.spec.kind,
                "index_type": lm.index.index_type, "metric": lm.index.metric,
                "index_params": dict(lm.index.params), "queries": queries,
                "vectors": vectors}


def _rounded(timings: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 3) for k, v in timings.items()}


def _milvus_guard(state: ServiceState, fn):
    """Run a Milvus call; its failure is a 503 that names the database, not a bare 500."""
    try:
        return fn()
    except HTTPException:
        raise
    except Exception as e:  # pymilvus raises MilvusException / grpc errors when the server is gone
        raise HTTPException(503, f"Milvus at {state.info.uri} failed: {type(e).__name__}: {str(e)[:300]}") from e


def _make_generator(name: str):
    """(generator, None) from ``rag.generators``, or (None, why): /search still serves without one."""
    try:
        from rag.generators import make_generator

        gen = make_generator(name)
    except Exception as e:  # unknown name, no API key, ...: /rag answers 503 with this
        return None, f"generator '{name}' unavailable: {e}"
    embed = getattr(gen, "embed", None)
    if embed is not None:  # the extractive baseline embeds with MiniLM: share the encoder's lock
        lock = encoder_lock(resolve_model_id("minilm"))

        def locked_embed(texts):
            with lock:
                return embed(texts)
        gen.embed = locked_embed
    return gen, None


def resolve_model_id(name: str) -> str:
    from rag.embedders import resolve

    return resolve(name).model_id


def create_app(state: ServiceState, on_shutdown=None) -> FastAPI:
    """The FastAPI app over a loaded state (tests pass their own; ``main`` builds one from flags).

    ``on_shutdown`` runs when uvicorn stops gracefully: it re-raises SIGTERM after shutdown, so
    ``atexit`` handlers never run and cleanup has to happen here.
    """
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
    app.state.workbench = state

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

            await to_thread.run_sync(lambda: _milvus_guard(state, state.store.ping))
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
    async def search(req: SearchRequest) -> dict:
        return await state.search(req)

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
        raise OSError(f"port {port} on {host} is in use or not bindable ({e.strerror}); "
                      "choose another with --port, or 0 for any free port") from e
    return sock


def _watch_parent(pid: int) -> None:
    """Exit when the process that started us is gone, so a killed app leaves no orphan service."""
    def loop():
        while True:
            time.sleep(1.0)
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                os._exit(0)
    threading.Thread(target=loop, daemon=True, name="parent-watchdog").start()


def main(argv: list[str] | None = None) -> int:
    env = ServiceConfig.from_env()
    p = argparse.ArgumentParser(prog="python -m loadtests.service", description=__doc__.split("\n")[0])
    p.add_argument("--dataset", default=env.dataset, help="'sample' or a BEIR folder (env WORKBENCH_DATASET)")
    p.add_argument("--models", default=",".join(env.models or []),
                   help="comma-separated; default: those already indexed for the dataset, else minilm,bm25")
    p.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1: loopback only)")
    p.add_argument("--port", type=int, default=8000, help="0 picks a free port (see --ready-file)")
    p.add_argument("--milvus-uri", default=env.milvus_uri, help="default: the app's Milvus (Lite server)")
    p.add_argument("--generator", default=env.generator, help="rag.generators name for /rag (default extractive)")
    p.add_argument("--index", default="FLAT", help="index type served (its collection is reused or built)")
    p.add_argument("--metric", default="COSINE")
    p.add_argument("--index-params", default="{}", help='JSON, e.g. \'{"M": 16, "ef": 64}\'')
    p.add_argument("--no-batching", action="store_true", help="one request at a time (default: micro-batch)")
    p.add_argument("--batch-window-ms", type=float, default=DEFAULT_WINDOW_MS, help="micro-batch window")
    p.add_argument("--max-batch", type=int, default=DEFAULT_MAX_BATCH, help="queries per encode() call at most")
    p.add_argument("--ready-file", help="write {url, pid} here once listening (the runner waits on it)")
    a = p.parse_args(argv)
    if os.environ.get("WORKBENCH_PARENT_PID", "").isdigit():
        _watch_parent(int(os.environ["WORKBENCH_PARENT_PID"]))
    from rag.dataset import DatasetError
    from rag.embedders import ModelUnavailable
    from rag.milvus_server import MilvusUnavailable

    try:
        sock = bind(a.host, a.port)
        from rag.store import IndexConfig

        index = IndexConfig.parse(a.index, a.metric, a.index_params)
        cfg = ServiceConfig(a.dataset, [m.strip() for m in a.models.split(",") if m.strip()] or None,
                            a.milvus_uri, a.generator, index.index_type, index.metric, index.params,
                            not a.no_batching, a.batch_window_ms, a.max_batch)
        if a.batch_window_ms < 0 or not 1 <= a.max_batch <= 1024:
            raise ValueError("--batch-window-ms must be >= 0 and --max-batch 1-1024")
        state = ServiceState(cfg)
    except (OSError, DatasetError, ModelUnavailable, MilvusUnavailable, ValueError, ImportError) as e:
        print(f"error: {e}", file=sys.stderr, flush=True)
        return 2
    except Exception as e:  # e.g. a MilvusException while building: still one readable line
        print(f"error: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
        return 2
    import uvicorn

    host, port = sock.getsockname()[:2]
    url = f"http://{'[' + host + ']' if ':' in host else host}:{port}"
    if a.ready_file:
        Path(a.ready_file).write_text(json.dumps({"url": url, "pid": os.getpid()}))
    print(f"serving {', '.join(state.models)} on {url}", file=sys.stderr, flush=True)
    from rag.milvus_server import stop_started_servers  # a Milvus Lite server this process had to start

    app = create_app(state, on_shutdown=stop_started_servers)
    # keep-alive 75 s (uvicorn's 5 s default drops idle connections that Locust users with a think time
    # reuse, and geventhttpclient does not retry a POST on a closed connection)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, timeout_keep_alive=75))
    server.run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
