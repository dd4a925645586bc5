"""What the load-test service serves: its config, request bodies, loaded models and request handling.

``ServiceState`` loads the dataset, connects to Milvus, reuses or builds one collection per model for
the requested index config, loads and warms each model once, and answers ``search``/``rag``/
``plan_milvus``; ``loadtests.service`` puts it behind HTTP. Kept apart from the HTTP layer so tests
(and the benchmarks) can build a state once and serve it in-process.

Usage:
    state = ServiceState(ServiceConfig(dataset="sample", models=["bm25"]))
    await state.search(SearchRequest(model="bm25", query="garbage collection", k=4))
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
from dataclasses import dataclass, field

from fastapi import HTTPException
from pydantic import BaseModel, Field

from loadtests.batcher import (
    DEFAULT_MAX_BATCH,
    DEFAULT_WINDOW_MS,
    MicroBatcher,
    encode_and_search,
    model_thread,
    warm_up,
)
from loadtests.results import TimingBook
from rag.i18n import _

DEFAULT_MODELS = ("minilm", "bm25")
# Side-by-side switches for the benchmarks (benchmarks/README.md, issue 27), not settings a user needs:
# WORKBENCH_SERVICE_MODEL_THREAD=0 runs a model's encodes as before commit da79640 (warm-up on the main
# thread, batches on the batcher's own thread, --no-batching in the shared pool); WORKBENCH_SERVICE_SEARCH_ON
# says where a BM25 search (nothing to encode) runs: "auto" (on the event loop when it is the only request
# in flight, else in worker threads: ``ServiceState.retrieve``), "threads" (always in worker threads, as
# before) or "loop" (always on the event loop).
MODEL_THREAD = os.environ.get("WORKBENCH_SERVICE_MODEL_THREAD", "1") != "0"
SEARCH_ON = os.environ.get("WORKBENCH_SERVICE_SEARCH_ON", "auto")
MAX_QUERY_CHARS = 2000
MAX_MODEL_CHARS = 200
MAX_K = 100


class SearchRequest(BaseModel):
    model: str = Field(min_length=1, max_length=MAX_MODEL_CHARS)
    query: str = Field(min_length=1, max_length=MAX_QUERY_CHARS)
    k: int = Field(default=10, ge=1, le=MAX_K)


class RagRequest(BaseModel):
    model: str = Field(min_length=1, max_length=MAX_MODEL_CHARS)
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
    bm25_analyzer: str = "auto"           # BM25/hybrid analyzer asked for (rag.milvus.analyzers)

    def batching_json(self) -> dict:  # what load runs record and the page shows
        return {"batching": self.batching, "batch_window_ms": self.batch_window_ms, "max_batch": self.max_batch}

    @classmethod
    def from_settings(cls, s=None) -> ServiceConfig:
        """The defaults of the service's flags: ``WORKBENCH_DATASET``, ``WORKBENCH_SERVICE_MODELS``,
        ``WORKBENCH_SERVICE_MILVUS_URI``, ``WORKBENCH_GENERATOR`` (``rag.settings.Settings``)."""
        from rag.settings import get_settings

        s = s or get_settings()
        return cls(dataset=s.service_dataset, models=[m.strip() for m in s.service_models.split(",") if m.strip()]
                   or None, milvus_uri=s.service_milvus_uri or None, generator=s.service_generator)


@dataclass
class LoadedModel:
    key: str                     # the spec string the model is asked for by (``oai:m@http://h/v1``)
    spec: object                 # rag.models.spec.ModelSpec
    collection: str
    index: object                # rag.milvus.index_config.IndexConfig the collection was built with
    encoder: object | None       # CachedEncoder for dense parts, None for BM25
    lock: threading.Lock = field(default_factory=threading.Lock)  # shared by every user of the same encoder
    batcher: MicroBatcher | None = None  # None: one request at a time (--no-batching, or BM25)
    analyzer: str = ""           # the BM25 analyzer of its collection (BM25, hybrid)
    executor: object | None = None       # the model's own thread (``loadtests.batcher.model_thread``); None: BM25

    def encoded(self) -> dict:
        """How it encodes what it serves (the load run's "Models as encoded"): prompts, dims, max tokens."""
        prompts = self.spec.prompts().record() if self.encoder is not None else {}
        model = getattr(getattr(self.encoder, "raw", None), "model", None)
        limit = getattr(model, "max_seq_length", None) or getattr(getattr(self.encoder, "raw", None), "max_tokens",
                                                                   None)
        return {"query_prompt": prompts.get("query_prompt"), "document_prompt": prompts.get("document_prompt"),
                "dim": self.encoder.dim if self.encoder is not None else None,
                "max_tokens": int(limit) if limit else None,
                "counted_with": "as served (cuts not counted under load)" if self.encoder is not None
                else "no token limit (BM25 indexes every word)"}

    def describe(self, rows: int) -> dict:
        dense = f"{self.index.index_type}/{self.index.metric}"
        index = {"dense": dense, "sparse": "BM25", "hybrid": f"{dense} + BM25"}.get(self.spec.kind, dense)
        out = {"name": self.key, "label": self.spec.label, "kind": self.spec.kind,
               "collection": self.collection, "rows": rows, "index": index, "encoded": self.encoded()}
        return {**out, "bm25_analyzer": self.analyzer} if self.analyzer else out


_encoder_locks: dict[str, threading.Lock] = {}


def encoder_lock(model_id: str) -> threading.Lock:
    """One lock per underlying encoder (minilm and hybrid share MiniLM): HF fast tokenizers are not
    safe to call from two threads at once ("Already borrowed"), and on 2 cores the model is CPU-bound
    anyway, so serialising costs nothing."""
    return _encoder_locks.setdefault(model_id, threading.Lock())


class ServiceState:
    """The loaded dataset, Milvus connection, models and generator; everything a request needs."""

    def __init__(self, cfg: ServiceConfig, log=lambda msg: print(msg, file=sys.stderr, flush=True)):
        from rag.data.loaders import load_dataset
        from rag.milvus.index_config import IndexConfig
        from rag.milvus.server import MilvusInfo, ensure_milvus
        from rag.milvus.store import MilvusStore
        from rag.models.registry import REGISTRY, resolve_all
        from rag.settings import get_settings

        self.cfg, self.log = cfg, log
        self.dataset = load_dataset(cfg.dataset)
        self.dataset.require_text("the load-test service")
        if cfg.milvus_uri:
            self.info = MilvusInfo(uri=cfg.milvus_uri, token=get_settings().milvus_key, embedded=False)
        else:
            self.info = ensure_milvus()
        self.store = MilvusStore(self.info)
        self.store.ping()
        index = IndexConfig(cfg.index_type, cfg.metric, dict(cfg.index_params), cfg.bm25_analyzer)  # fails here
        names = cfg.models or [m for m in REGISTRY if self.store.builds(self.dataset, m)] or list(DEFAULT_MODELS)
        specs = resolve_all(names)  # keyed by the spec strings asked for; unknown names fail here, before any work
        if not cfg.models:  # defaults this server cannot run (bm25 on Milvus 2.3) are left out, saying why
            for why in filter(None, map(self.store.capabilities.model_reason, specs.values())):
                log(_("warning: {why}: not served").format(why=why))
            specs = {k: sp for k, sp in specs.items() if not self.store.capabilities.model_reason(sp)} or specs
        self.store.capabilities.require(list(specs.values()), index)  # before any build
        self.models: dict[str, LoadedModel] = {}
        for key, spec in specs.items():
            t = time.perf_counter()
            built = self.store.ensure_collection(self.dataset, spec, index)
            name, how = built.name, "reused" if built.reused else "built"
            enc = spec.encoder()
            lm = LoadedModel(key, spec, name, index, enc, encoder_lock(spec.model_id), analyzer=built.analyzer,
                             executor=model_thread(spec.model_id) if enc is not None and MODEL_THREAD else None)
            self.models[key] = lm
            warm = self.dataset.queries[0].text if self.dataset.queries else "warm-up"
            lm.batcher = warm_up(self.store, lm, warm, self.info.uri, cfg.batching_json())
            log(f"model {key}: collection {name} {how}" + (f", BM25 analyzer {built.analyzer}" if built.analyzer
                                                            else "") + f", warm in {time.perf_counter() - t:.1f} s")
        self.generator, self.generator_error = _make_generator(cfg.generator)
        if self.generator_error:
            log(_("warning: /rag disabled: {error}").format(error=self.generator_error))
        self.timings = TimingBook()
        self.started = time.time()
        self._in_flight = 0  # /search and /rag requests retrieving now (``retrieve``), counted on the loop

    # ---------------------------------------------------------------- the two operations
    def model(self, name: str) -> LoadedModel:
        from rag.models.registry import model_key

        lm = self.models.get(name) or self.models.get(model_key(name))
        if lm is None:
            raise HTTPException(404, _("unknown model '{name}'; known: {known}").format(
                name=name, known=", ".join(self.models)))
        return lm

    def may_search_on_loop(self, lm: LoadedModel) -> bool:
        """Whether a search of this model can run on the event loop: BM25 (nothing to encode, no batcher,
        no model thread), unless ``WORKBENCH_SERVICE_SEARCH_ON=threads``. It does when it is the only
        request in flight (``search_on_loop_now``)."""
        return lm.encoder is None and lm.batcher is None and lm.executor is None and SEARCH_ON in ("auto", "loop")

    def arrived(self) -> None:
        """Count a search request in flight as it arrives (``loadtests.search_protocol``), before it is
        searched: ``search_now``, ``retrieve(counted=True)`` or ``gone`` uncounts it."""
        self._in_flight += 1

    def gone(self) -> None:
        """Uncount an ``arrived`` request that will not be searched (its client went away)."""
        self._in_flight -= 1

    def search_on_loop_now(self, lm: LoadedModel) -> bool:
        """``may_search_on_loop`` and nothing else in flight (or ``WORKBENCH_SERVICE_SEARCH_ON=loop``), the
        request itself already counted in ``_in_flight``."""
        return self.may_search_on_loop(lm) and (SEARCH_ON == "loop" or self._in_flight == 1)

    async def retrieve(self, lm: LoadedModel, query: str, k: int,
                       counted: bool = False) -> tuple[list[tuple[str, float]], dict]:
        """Hits and timings (wait, batch size, embed, Milvus search): batched with other requests for
        the same model, or alone on the model's thread (``--no-batching``), or (BM25, nothing to encode)
        on the event loop when it is the only request in flight, else in worker threads.

        Why BM25 alone runs on the loop: handing a 2 ms search to a worker thread and back costs
        0.25-0.35 ms here (two thread wake-ups), a sixth of the query. Why only alone: on the loop the
        searches of concurrent users would run one after another, where threads overlap one's Python
        with another's wait for Milvus. ``sleep(0)`` first lets requests that arrived with this one
        register, so a burst is seen as one and goes to the threads. ``counted``: the request was counted
        when it arrived (``arrived``, ``loadtests.search_protocol``), so a burst is already seen and there
        is nothing to wait for; it is uncounted here when done either way."""
        if not counted:
            self._in_flight += 1
        try:
            if lm.batcher is not None:
                return await lm.batcher.submit(query, k)
            work = lambda: encode_and_search(self.store, lm, [(query, k)], self.info.uri)  # noqa: E731
            if lm.executor is not None:  # the model's own thread (one OpenMP team), never the shared pool
                r = (await asyncio.get_running_loop().run_in_executor(lm.executor, work))[0]
            else:
                if SEARCH_ON == "auto" and not counted:
                    await asyncio.sleep(0)
                if self.search_on_loop_now(lm):
                    r = work()[0]
                else:  # searched in parallel worker threads
                    from anyio import to_thread

                    r = (await to_thread.run_sync(work))[0]
        finally:
            self._in_flight -= 1
        return _one(r)

    async def search(self, req: SearchRequest) -> dict:
        return await self.search_query(req.model, req.query, req.k)

    async def search_query(self, model: str, query: str, k: int, counted: bool = False) -> dict:
        """``search`` with the request's fields already checked (``loadtests.fast_search``'s hot path)."""
        lm = self.model(model)
        t = time.perf_counter()
        hits, timings = await self.retrieve(lm, query, k, counted)
        return self._searched(lm, k, hits, timings, t)

    def search_now(self, lm: LoadedModel, query: str, k: int) -> dict:
        """The search of one ``arrived`` request alone in flight, run here and now on the event loop (what
        ``search_query`` does for it, without a task: ``loadtests.search_protocol``); uncounted when done."""
        t = time.perf_counter()
        try:
            hits, timings = _one(encode_and_search(self.store, lm, [(query, k)], self.info.uri)[0])
        finally:
            self._in_flight -= 1
        return self._searched(lm, k, hits, timings, t)

    def _searched(self, lm: LoadedModel, k: int, hits: list, timings: dict, t: float) -> dict:
        timings["server_ms"] = (time.perf_counter() - t) * 1000
        self.timings.add("search", lm.key, timings)
        title = self.dataset.title
        return {"model": lm.key, "k": k, "timings": _rounded(timings),
                "hits": [{"id": d, "title": title(d), "score": round(s, 6)} for d, s in hits]}

    async def rag(self, req: RagRequest) -> dict:
        """Retrieve (batched, like /search), then await the generator (LLM calls are async)."""
        from rag.models.generators import Context

        lm = self.model(req.model)
        if self.generator is None:
            raise HTTPException(503, _("no generator: {error}").format(error=self.generator_error))
        t = time.perf_counter()
        hits, timings = await self.retrieve(lm, req.question, req.k)
        contexts = [self._doc(d) | {"score": round(s, 6)} for d, s in hits]
        t_gen = time.perf_counter()
        try:
            answer = await self.generator.agenerate(req.question, [Context(c["id"], c["title"], c["text"])
                                                                   for c in contexts])
        except Exception as e:  # an LLM endpoint down or refusing: the generator's fault, not ours
            raise HTTPException(502, _("generator {generator} failed: {error}").format(
                generator=self.cfg.generator, error=f"{type(e).__name__}: {str(e)[:300]}")) from e
        timings["generate_ms"] = (time.perf_counter() - t_gen) * 1000
        timings["server_ms"] = (time.perf_counter() - t) * 1000
        self.timings.add("rag", lm.key, timings)
        return {"model": lm.key, "k": req.k, "answer": answer.text, "contexts": contexts,
                "generator": self.cfg.generator, "timings": _rounded(timings)}

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
                vectors = [[round(float(x), 7) for x in v] for v in lm.encoder.embed(queries, role="query")]
        return {"uri": self.info.uri, "collection": lm.collection, "model": lm.key, "kind": lm.spec.kind,
                "index_type": lm.index.index_type, "metric": lm.index.metric,
                "index_params": dict(lm.index.params), "queries": queries,
                "vectors": vectors}


def _rounded(timings: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 3) for k, v in timings.items()}


def _one(r) -> tuple[list[tuple[str, float]], dict]:
    """One request's ``(hits, timings)`` from ``encode_and_search``'s list (its error raised), the
    timings as a reply lists them: wait, batch size, embed, search."""
    if isinstance(r, BaseException):
        raise r
    hits, timings = r
    return hits, {"wait_ms": timings.pop("wait_ms"), "batch_size": 1, **timings}


def milvus_guard(state: ServiceState, fn):
    """Run a Milvus call; its failure is a 503 that names the database, not a bare 500."""
    try:
        return fn()
    except HTTPException:
        raise
    except Exception as e:  # pymilvus raises MilvusException / grpc errors when the server is gone
        raise HTTPException(503, _("Milvus at {uri} failed: {error}").format(
            uri=state.info.uri, error=f"{type(e).__name__}: {str(e)[:300]}")) from e


def _make_generator(name: str):
    """(generator, None) from ``rag.models.generators``, or (None, why): /search still serves without one."""
    try:
        from rag.models.generators import make_generator

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
    from rag.models.registry import resolve

    return resolve(name).model_id
