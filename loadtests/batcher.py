"""Dynamic micro-batching: concurrent queries for one model are embedded by one ``encode()`` call and
searched in Milvus as one request with several query vectors.

Why: on 2 cores MiniLM embeds the sample's questions at ~104 queries/s one at a time but ~546/s in
batches of 32, and one Milvus search with 32 vectors costs little more than one with a single vector.
A service that embeds one request at a time under a lock measures its own queue, not the model.

How: requests are queued per model on the event loop. One collector task per model takes up to
``max_batch`` of them and hands them to ``run`` (a plain function, run on the batcher's own thread so
the event loop keeps accepting requests); requests that arrive meanwhile form the next batch. The
window only applies once concurrency has been seen (the last batch had more than one request, or
requests queued while it ran) and for requests arriving within 100 ms of the last batch: then the
collector waits up to ``window_ms`` after the encoder is free for more requests to join. A lone
user never waits (its batches are all of one, so the window stays off), which keeps its latency that
of one-at-a-time serving.

Every encode of one model runs on one thread (``model_thread``): the warm-up, every batch, and with
``--no-batching`` every request. Why: PyTorch's intra-op threads are an OpenMP team per calling thread,
so a model called from the main thread at warm-up and then from a pool of worker threads keeps several
teams of spinning threads on 2 cores, and an op's barrier waits whenever one of them is descheduled.
Measured on this machine under load: MiniLM one query at a time, 2 intra-op threads, p50 514 ms from
the thread that first ran the model next to 43 ms from another thread (1 team each). A plain process
has one team; so does the service now.

``run(items)`` gets ``[(query, k), ...]`` and returns one entry per item, either ``(hits, timings)`` or an
exception for that item alone: one bad request fails by itself, not its batch.

Usage:
    batcher = MicroBatcher("minilm", run=state.search_batch, window_ms=5, max_batch=32)
    hits, timings = await batcher.submit("garbage collection", k=10)   # timings: wait_ms, batch_size, ...
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from rag.i18n import _

DEFAULT_WINDOW_MS = 5.0
DEFAULT_MAX_BATCH = 32
# Concurrency seen in the last batch counts only for a request that arrives this soon after the encoder
# became free: under load the next requests come back within milliseconds; a lone request after a
# burst must not pay the window.
CONCURRENCY_MEMORY_S = 0.1

_model_threads: dict[str, ThreadPoolExecutor] = {}
_model_threads_lock = threading.Lock()


def model_thread(model_id: str) -> ThreadPoolExecutor:
    """The one thread that runs every encode of ``model_id`` in this process (minilm and hybrid share
    MiniLM's), so PyTorch keeps one OpenMP team per model; see the module docstring."""
    with _model_threads_lock:
        if model_id not in _model_threads:
            _model_threads[model_id] = ThreadPoolExecutor(1, thread_name_prefix=f"model-{model_id[-24:]}")
        return _model_threads[model_id]


Result = tuple[list[tuple[str, float]], dict[str, float]]
RunBatch = Callable[[list[tuple[str, int]]], list["Result | BaseException"]]


@dataclass
class _Pending:
    query: str
    k: int
    future: asyncio.Future
    arrived: float


class MicroBatcher:
    """Collects one model's concurrent queries into batches; see the module docstring."""

    def __init__(self, name: str, run: RunBatch, window_ms: float = DEFAULT_WINDOW_MS,
                 max_batch: int = DEFAULT_MAX_BATCH, executor: ThreadPoolExecutor | None = None):
        if window_ms < 0 or max_batch < 1:
            raise ValueError(_("the batch window must be >= 0 ms and the max batch >= 1"))
        self.name, self.run = name, run
        self.window, self.max_batch = window_ms / 1000, max_batch
        # one thread per model: batches of one model run one after another (the encoder is one), on the
        # model's own thread when given (``model_thread``)
        self._own = executor is None
        self.executor = executor or ThreadPoolExecutor(1, thread_name_prefix=f"batch-{name}")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: list[_Pending] = []
        self._arrived: asyncio.Event | None = None
        self._task: asyncio.Task | None = None
        self._concurrent = False  # seen in the last batch: turns the window on
        self._free_since = 0.0    # when the last batch finished

    async def submit(self, query: str, k: int) -> Result:
        """This query's own hits and timings (``wait_ms``, ``batch_size`` plus what ``run`` measured)."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a new event loop (a test client, a restarted server): fresh state
            self._loop, self._queue, self._arrived, self._task = loop, [], asyncio.Event(), None
        fut = loop.create_future()
        self._queue.append(_Pending(query, k, fut, time.perf_counter()))
        self._arrived.set()
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._collect(), name=f"batcher-{self.name}")
        return await fut

    async def _collect(self) -> None:
        loop = asyncio.get_running_loop()
        free_since = self._free_since
        while self._queue:
            if self._concurrent and self.window > 0 and self._queue[0].arrived - free_since < CONCURRENCY_MEMORY_S:
                await self._fill(free_since)
            batch, self._queue = self._queue[:self.max_batch], self._queue[self.max_batch:]
            start = time.perf_counter()
            try:
                results = await loop.run_in_executor(self.executor, self.run, [(p.query, p.k) for p in batch])
            except Exception as e:  # ``run`` itself broke: every request of this batch gets the error
                results = [e] * len(batch)
            free_since = self._free_since = time.perf_counter()
            self._concurrent = len(batch) > 1 or bool(self._queue)
            for p, r in zip(batch, results):
                if p.future.done():  # the client went away (request cancelled)
                    continue
                if isinstance(r, BaseException):
                    p.future.set_exception(r)
                else:
                    hits, timings = r
                    p.future.set_result((hits, {"wait_ms": (start - p.arrived) * 1000 + timings.pop("wait_ms", 0.0),
                                                "batch_size": len(batch), **timings}))

    async def _fill(self, free_since: float) -> None:
        """Wait until the batch is full or ``window`` has passed since the encoder became free (or since
        the first request arrived, whichever is later)."""
        deadline = max(self._queue[0].arrived, free_since) + self.window
        while len(self._queue) < self.max_batch:
            left = deadline - time.perf_counter()
            if left <= 0:
                return
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), left)
            except TimeoutError:
                return

    def describe(self) -> dict:
        return {"batching": True, "batch_window_ms": self.window * 1000, "max_batch": self.max_batch}

    def close(self) -> None:
        if self._own:
            self.executor.shutdown(wait=False, cancel_futures=True)


def warm_up(store, lm, query: str, milvus_uri: str, batching: dict) -> MicroBatcher | None:
    """Warm the model and Milvus with one query and one batch of 8 (so the first batched request does
    not pay the batch shapes' first run), on the model's own thread (``lm.executor``, which serves it
    afterwards); the model's batcher, or None (batching off, or BM25)."""
    def warm():
        for n in (1, 8):
            for r in encode_and_search(store, lm, [(query, 1)] * n, milvus_uri):
                if isinstance(r, BaseException):
                    raise RuntimeError(r.detail)
    if lm.executor is not None:
        lm.executor.submit(warm).result()
    else:
        warm()
    if not batching.get("batching", True) or lm.encoder is None:
        return None
    return MicroBatcher(lm.key, lambda items: encode_and_search(store, lm, items, milvus_uri),
                        batching.get("batch_window_ms", DEFAULT_WINDOW_MS),
                        batching.get("max_batch", DEFAULT_MAX_BATCH), executor=lm.executor)


def encode_and_search(store, lm, items: list[tuple[str, int]], milvus_uri: str = "Milvus") -> list:
    """One batch: one ``encode()`` call for every query (under the encoder's lock), then one Milvus
    search per distinct k with all of that k's query vectors. Returns ``(hits, timings)`` or an
    ``HTTPException`` per item. If the batch's encode fails, each query is encoded alone, so only the
    query that cannot be embedded fails; a failed search fails only the requests of that k."""
    import numpy as np
    from fastapi import HTTPException

    out: list = [None] * len(items)
    vectors: list = [None] * len(items)
    t0 = t_lock = t1 = time.perf_counter()
    if lm.encoder is not None:
        encode = lm.encoder.encode_queries  # the query side: its prompt (E5's "query: "), an API's input type
        with lm.lock:
            t_lock = time.perf_counter()
            try:
                vectors = list(encode([q for q, _k in items]))
            except Exception:
                for i, (q, _k) in enumerate(items):
                    try:
                        vectors[i] = encode([q])[0]
                    except Exception as e:  # this query's own fault (bad text) or the model's (remote API)
                        code = 422 if isinstance(e, (TypeError, ValueError)) else 502
                        out[i] = HTTPException(code, _("model {model} could not embed the query: {error}").format(
                            model=lm.key, error=f"{type(e).__name__}: {str(e)[:300]}"))
        t1 = time.perf_counter()
    by_k: dict[int, list[int]] = {}
    for i, (_q, k) in enumerate(items):
        if out[i] is None:
            by_k.setdefault(k, []).append(i)
    for k, idx in by_k.items():
        vecs = None if lm.encoder is None else np.asarray([vectors[i] for i in idx])
        try:
            found = store.search(lm.collection, lm.spec, [items[i][0] for i in idx], k, lm.index, query_vectors=vecs)
        except Exception as e:  # pymilvus raises MilvusException / grpc errors when the server is gone
            err = HTTPException(503, _("Milvus at {uri} failed: {error}").format(
                uri=milvus_uri, error=f"{type(e).__name__}: {str(e)[:300]}"))
            for i in idx:
                out[i] = err
            continue
        for i, hits in zip(idx, found):
            out[i] = hits
    t2 = time.perf_counter()
    timings = {"wait_ms": (t_lock - t0) * 1000, "embed_ms": (t1 - t_lock) * 1000, "search_ms": (t2 - t1) * 1000}
    return [r if isinstance(r, BaseException) else (r, dict(timings)) for r in out]
