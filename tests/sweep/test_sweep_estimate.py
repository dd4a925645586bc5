"""The time estimate before a sweep: its arithmetic with fixed rates, and a real plan's measured rates."""

from __future__ import annotations

from evaluators.sweep.estimate import Rates, _duration, estimate
from evaluators.sweep.setups import Setup


def test_the_estimate_is_documents_over_rates_plus_every_search():
    setups = [Setup(model="minilm", k=4), Setup(model="bm25", k=4),
              Setup(model="bm25", k=3, reranker="ce:/models/ce", depth=8)]
    rates = Rates(embed_per_s={"minilm": 31.0}, query_ms={"minilm": 20.0, "bm25": 5.0}, pair_ms={"ce:/models/ce": 2.5})
    est = estimate({"minilm": 310}, setups, n_queries=16, rates=rates)
    # 310 / 31 = 10 s. Each setup: 17 timed searches (all 16 queries, fewer than the sample of 50, + warm-up)
    # and 1 batch of 16 for quality, each at one query's time: 18 × 20 ms + 18 × 5 ms; the reranked setup
    # also rescores 8 pairs × 2.5 ms for its 17 timed searches and its 16 batched queries:
    # 18 × 5 + 33 × 20 = 750 ms. In all 360 + 90 + 750 = 1.2 s
    assert (est.index_seconds, est.searches, est.units) == (10.0, 51, 310)
    assert abs(est.search_seconds - 1.2) < 1e-12 and abs(est.seconds - 11.2) < 1e-12
    assert est.describe() == ("about 11 s (embedding 310 documents/chunks: 10 s; 51 searches: 1 s; "
                              "rates measured now)")


def test_only_the_latency_sample_is_timed_one_by_one():
    setups = [Setup(model="minilm", k=10)]
    est = estimate({}, setups, n_queries=300, rates=Rates(query_ms={"minilm": 20.0}), sample=50)
    # 51 timed searches (sample + warm-up) and ⌈300 ÷ 64⌉ = 5 batches, each at 20 ms: 1.12 s (was 301 × 20 ms)
    assert est.searches == 51 and abs(est.search_seconds - 1.12) < 1e-12
    every = estimate({}, setups, n_queries=300, rates=Rates(query_ms={"minilm": 20.0}), sample=0)
    assert every.searches == 301 and abs(every.search_seconds - 6.12) < 1e-12


def test_what_no_rate_covers_is_said_not_guessed():
    setups = [Setup(model="st:/m", k=2, reranker="rerank:m@http://h", depth=4)] * 2
    est = estimate({"st:/m": 40}, setups, n_queries=9, rates=Rates(query_ms={"st:/m": 10.0}))
    assert (est.index_seconds, est.searches) == (0.0, 20) and abs(est.search_seconds - 0.22) < 1e-12  # 2 × 11 × 10 ms
    assert est.unmeasured == ["embedding with st:/m", "reranking with rerank:m@http://h"]
    assert est.describe().endswith("; not counted: embedding with st:/m, reranking with rerank:m@http://h)")
    nothing_to_embed = estimate({}, setups[:1], n_queries=9, rates=Rates(query_ms={"st:/m": 100.0}))
    assert nothing_to_embed.describe() == ("about 1 s (10 searches: 1 s; rates measured now; "
                                           "not counted: reranking with rerank:m@http://h)")


def test_durations_read_as_a_person_says_them():
    assert [_duration(s) for s in (0.2, 44.4, 59.6, 125, 3599, 7200)] == ["1 s", "44 s", "1 min", "2 min",
                                                                          "1.0 h", "2.0 h"]


def test_a_real_plan_measures_its_rates_and_counts_what_the_cache_lacks(retriever, sample):
    from evaluators.sweep.run import plan_sweep
    from rag.data.chunking import chunk_dataset

    setups = [Setup(model="minilm", chunk_size=77, chunk_overlap=7, k=4), Setup(model="bm25", k=4)]
    plan = plan_sweep(retriever, sample, setups)
    chunks = len(chunk_dataset(sample, 77, 7).dataset.documents)
    assert plan.estimate.units == chunks and plan.estimate.searches == 2 * 17
    assert plan.estimate.index_seconds > 0 and plan.estimate.search_seconds > 0 and not plan.estimate.unmeasured
    assert "; about " in plan.describe() and plan.describe().endswith("; rates measured now)")
    assert plan_sweep(retriever, sample, setups, timed=False).estimate is None


def test_models_sharing_an_embedding_count_its_texts_once(retriever, sample):
    """minilm and hybrid embed with the same model (one cache key): their chunks are embedded once, so
    the estimate counts them once (it counted them twice, doubling the embedding time)."""
    from evaluators.sweep.run import plan_sweep
    from rag.data.chunking import chunk_dataset

    setups = [Setup(model="minilm", chunk_size=61, chunk_overlap=5, k=4),
              Setup(model="hybrid", chunk_size=61, chunk_overlap=5, k=4)]
    plan = plan_sweep(retriever, sample, setups)
    assert plan.to_build == 2
    assert plan.estimate.units == len(chunk_dataset(sample, 61, 5).dataset.documents)
