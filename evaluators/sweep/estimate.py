"""How long a sweep will take, said before it starts, from rates measured on this machine just now.

Why measured and not assumed: the same sweep takes seconds on a GPU box and many minutes on two busy
cores, so a fixed table would mislead. Before a sweep, ``measure_rates`` times the real parts briefly:
each dense model embedding a few of the documents it must index (documents/s, after its load) and one
query (ms), a Milvus round trip, each cross-encoder scoring a few (query, passage) pairs. The estimate
is then plain arithmetic (``estimate``): documents still to embed (the embedding cache already holds
the rest) over each model's rate, plus each setup's quality pass (its judged queries in batches of
``SEARCH_BATCH``, one query's time per batch), plus its timed latency sample and warm-up query at its
model's query time, plus reranking at its depth for every query. It leaves out Milvus inserting and
indexing and a model's first load, so it is said as "about", with the rates it used. Rates are
measured once per process and model (a page re-runs its plan on every click).

Usage:
    rates = measure_rates(wb, {"minilm": texts}, ["minilm", "bm25"], ["none"])
    est = estimate({"minilm": 310}, setups, n_queries=16, rates=rates)
    est.describe()     # "about 40 s (embedding 310 documents: 28 s; 96 searches: 12 s; rates measured now)"
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from evaluators.sweep.latency import LATENCY_SAMPLE
from evaluators.sweep.setups import Setup
from rag.i18n import _

PROBE_DOCS = 16      # documents a dense model embeds to measure its rate
PROBE_PAIRS = 8      # (query, passage) pairs a cross-encoder scores to measure its rate
SEARCH_BATCH = 64    # queries per Milvus call in the quality pass (``MilvusStore.search``'s batch)


@dataclass
class Rates:
    embed_per_s: dict[str, float] = field(default_factory=dict)   # dense model -> documents/s
    query_ms: dict[str, float] = field(default_factory=dict)      # model -> ms per search (embedding + Milvus)
    pair_ms: dict[str, float] = field(default_factory=dict)       # reranker -> ms per (query, passage) pair


@dataclass
class Estimate:
    index_seconds: float
    search_seconds: float
    units: int          # documents / chunks still to embed
    searches: int       # timed searches: each setup's latency sample and its warm-up query
    unmeasured: list[str] = field(default_factory=list)  # parts no rate covers (said, never guessed)

    @property
    def seconds(self) -> float:
        return self.index_seconds + self.search_seconds

    def describe(self) -> str:
        parts = [_("embedding {n} documents/chunks: {time}").format(n=self.units, time=_duration(
            self.index_seconds))] if self.units else []
        parts += [_("{n} searches: {time}").format(n=self.searches, time=_duration(self.search_seconds)),
                  _("rates measured now")]
        if self.unmeasured:
            parts.append(_("not counted: {what}").format(what=", ".join(self.unmeasured)))
        return _("about {time} ({parts})").format(time=_duration(self.seconds), parts=_("; ").join(parts))


def _duration(seconds: float) -> str:
    if round(seconds) < 60:
        return f"{max(1, round(seconds))} s"
    if round(seconds / 60) < 60:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


def estimate(to_embed: dict[str, int], setups: list[Setup], n_queries: int, rates: Rates,
             sample: int = LATENCY_SAMPLE) -> Estimate:
    """The arithmetic: ``to_embed`` (dense model -> documents/chunks not in the embedding cache) at each
    model's rate; per setup, its quality pass (⌈``n_queries`` ÷ ``SEARCH_BATCH``⌉ batches at one query's
    time) and its ``sample`` + 1 timed searches at its model's query time, and its reranker's depth × time
    per pair for every query and timed search."""
    unmeasured: list[str] = []
    index = 0.0
    for model, units in to_embed.items():
        if units and model in rates.embed_per_s:
            index += units / rates.embed_per_s[model]
        elif units:
            unmeasured.append(_("embedding with {model}").format(model=model))
    search, searches = 0.0, 0
    timed = (n_queries if sample <= 0 else min(sample, n_queries)) + 1
    batches = -(-n_queries // SEARCH_BATCH)
    for s in setups:
        searches += timed
        ms = rates.query_ms.get(s.model, 0.0)
        rerank_ms = 0.0
        if s.reranker != "none":
            if s.reranker in rates.pair_ms:
                rerank_ms = rates.pair_ms[s.reranker] * s.fetch
            elif (what := _("reranking with {reranker}").format(reranker=s.reranker)) not in unmeasured:
                unmeasured.append(what)
        search += (timed * (ms + rerank_ms) + batches * ms + n_queries * rerank_ms) / 1000
    return Estimate(index, search, sum(to_embed.values()), searches, unmeasured)


_measured: dict[tuple, float] = {}  # (what, model or reranker) -> rate, once per process


def _timed(fn, *args, **kwargs) -> float:
    t = time.perf_counter()
    fn(*args, **kwargs)
    return time.perf_counter() - t


def measure_rates(wb, texts: dict[str, list[str]], models: list[str], rerankers: list[str]) -> Rates:
    """Time the real parts briefly (see the module docstring); ``texts``: dense model -> documents it
    will embed (its first ``PROBE_DOCS`` are timed, the model loaded first)."""
    from evaluators.sweep.setups import _cross_encoder, is_local_reranker, reranker_folder
    from rag.models.registry import resolve

    rates = Rates()
    milvus_ms = min(_timed(wb.store.client.list_collections) for _ in range(3)) * 1000
    for model in dict.fromkeys(models):
        enc = resolve(model).encoder(wb.settings)
        query_ms = 0.0
        if enc is not None:
            if ("query", model) not in _measured:
                enc.load()
                enc.embed_query("warm-up")
                _measured[("query", model)] = _timed(enc.embed_query, "how long will this take") * 1000
            query_ms = _measured[("query", model)]
            probe = texts.get(model, [])[:PROBE_DOCS]
            if probe and ("embed", model) not in _measured:
                _measured[("embed", model)] = len(probe) / max(_timed(enc.raw.encode, probe), 1e-9)
            if ("embed", model) in _measured:
                rates.embed_per_s[model] = _measured[("embed", model)]
        rates.query_ms[model] = query_ms + milvus_ms
    for spec in dict.fromkeys(rerankers):
        if is_local_reranker(spec):
            if ("pair", spec) not in _measured:
                ce = _cross_encoder(reranker_folder(spec))
                pairs = [("how long will this take", "a passage of some length " * 8)] * PROBE_PAIRS
                ce.predict(pairs[:1], show_progress_bar=False)
                seconds = _timed(ce.predict, pairs, show_progress_bar=False)
                _measured[("pair", spec)] = seconds * 1000 / PROBE_PAIRS
            rates.pair_ms[spec] = _measured[("pair", spec)]
    return rates
