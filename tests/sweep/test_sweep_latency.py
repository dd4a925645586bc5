"""The sweep's latency sample times what serving one query costs, and nothing else (issue 27, item 2).

Real Milvus Lite and real MiniLM throughout: the Milvus client's methods and the model's forward pass are
wrapped only to count the calls that go through them (each call still runs). No timing is asserted.
"""

from __future__ import annotations

import os
from collections import Counter

import psutil
import pytest

from evaluators.sweep.latency import latency_sample, time_queries
from evaluators.sweep.run import query_path, run_setup
from evaluators.sweep.setups import grid
from evaluators.sweep.sources import Sources
from rag.models.registry import resolve


class Counted:
    """Counts the Milvus client's calls (by method), the model's forward passes (texts per pass) and the
    embedding cache's reads and writes while every call goes through to the real thing."""

    def __init__(self, wb, enc):
        self.milvus: Counter = Counter()
        self.forwards: list[int] = []
        self.cache = 0
        self._undo = []
        client = wb.store.client
        for name in dir(type(client)):
            if not name.startswith("_") and callable(getattr(client, name)):
                self._wrap(client, name, self._milvus_call(name))
        if enc is not None:
            self._wrap(enc.raw.model, "forward", lambda features, *a, **k: self.forwards.append(
                int(features["input_ids"].shape[0])))
            for name in ("get_many", "put_many"):
                self._wrap(enc.cache, name, lambda *a, **k: setattr(self, "cache", self.cache + 1))

    def _milvus_call(self, name):
        return lambda *a, **k: self.milvus.update([name])

    def _wrap(self, obj, name, note):
        real = getattr(obj, name)

        def counted(*a, **k):
            note(*a, **k)
            return real(*a, **k)
        object.__setattr__(obj, name, counted)
        self._undo.append((obj, name))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for obj, name in self._undo:
            object.__delattr__(obj, name)


def built(wb, ds, setup):
    c = Sources(ds).get(setup)
    return c, wb.store.ensure_collection(c.dataset, resolve(setup.model), wb.index_config, c.label).name


@pytest.mark.parametrize("model, rpc", [("minilm", "search"), ("bm25", "search")])
def test_a_timed_query_makes_the_services_calls_and_nothing_else(retriever, sample, model, rpc):
    """Per timed query: one model forward pass of one text (MiniLM), one Milvus search RPC, no embedding
    cache, no collection checks, exactly what the load-test service's ``encode_and_search`` does for one
    ``/search`` of the same query."""
    from loadtests.batcher import encode_and_search
    from loadtests.service_state import LoadedModel

    setup = grid([model], ks=[4])[0]
    chunked, name = built(retriever, sample, setup)
    spec = resolve(model)
    enc = spec.encoder()
    path = query_path(retriever, setup, name, lambda cid: chunked.dataset.doc(cid).full_text)
    path("warm-up")  # the collection is checked once per store (the sweep's batched pass did it before)
    queries = latency_sample(sample.judged_queries, 5)
    with Counted(retriever, enc) as swept:
        lat = time_queries(path, queries)
    n = len(queries) + 1  # time_queries' untimed warm-up query, then each sampled query
    assert lat.n == len(queries)
    assert swept.milvus == Counter({rpc: n})
    assert swept.forwards == ([1] * n if enc is not None else [])
    assert swept.cache == 0
    lm = LoadedModel(model, spec, name, retriever.index_config, enc)
    with Counted(retriever, enc) as served:
        for q in [queries[0], *queries]:
            out = encode_and_search(retriever.store, lm, [(q.text, setup.k)])
            assert not isinstance(out[0], Exception)
    assert (served.milvus, served.forwards, served.cache) == (swept.milvus, swept.forwards, swept.cache)


def test_the_timed_queries_rank_as_the_batched_pass_and_the_sample_is_recorded(retriever, sample):
    """The timed path searches what the quality pass searched: the same documents in the same order for every
    sampled query (scores equal up to float noise: one query embedded alone vs in a batch)."""
    setup = grid(["minilm"], ks=[4])[0]
    chunked, name = built(retriever, sample, setup)
    result = run_setup(retriever, chunked, setup, name, sample=5)
    picked = latency_sample(sample.judged_queries, 5)
    assert list(result.latency_ms) == [q.id for q in picked] and result.latency.n == 5
    path = query_path(retriever, setup, name, lambda cid: chunked.dataset.doc(cid).full_text)
    for q in picked:
        alone = path(q.text)
        assert [d for d, _s in alone] == [d for d, _s in result.rankings[q.id]]
        assert [s for _d, s in alone] == pytest.approx([s for _d, s in result.rankings[q.id]], abs=1e-5)


def test_the_embedded_milvus_runs_numpys_blas_on_one_thread(milvus):
    """A spinning OpenBLAS worker in the server took the core a query's embedding needed (benchmarks/README.md,
    "Issue 27: the sweep's latency sample"): the server starts with one BLAS thread unless the user set it."""
    server = [p for p in psutil.Process(milvus.pid).children(recursive=True) if "milvus_lite" in " ".join(p.cmdline())]
    assert len(server) == 1
    assert server[0].environ().get("OPENBLAS_NUM_THREADS") == os.environ.get("OPENBLAS_NUM_THREADS", "1")
