"""Comparison of stored runs: statistics on known cases, verdict sentences, cross-run families,
the quality–cost–latency frontier, and a real retrieval run read back from the store."""

from __future__ import annotations

import math
import re

import pandas as pd
import pytest

from evaluators.report.frontier import frontier_figure, frontier_table
from evaluators.stats.comparison import BEST, TIED, compare_runs, compare_scores, per_query_scores
from evaluators.stats.labels import metric_label
from evaluators.stats.pareto import pareto_flags
from rag.runs import RunStore
from tests.support.run_fixtures import make_dataset, write_load_run, write_rag_run, write_retrieval_run

N = 20


@pytest.fixture()
def store(tmp_path) -> RunStore:
    return RunStore(tmp_path / "runs.sqlite")


def q(values) -> dict[str, float]:
    return {f"q{i}": v for i, v in enumerate(values)}


def test_identical_models_give_p_1_and_a_ci_around_0():
    a = q([0.1 * (i % 7) for i in range(N)])
    cmp = compare_scores({"a": a, "b": dict(a)}, "ndcg@10", n_resamples=2000)
    p = cmp.result.pair("a", "b")
    assert (p.diff, p.low, p.high, p.p_value, p.p_adjusted) == (0.0, 0.0, 0.0, 1.0, 1.0)
    assert set(cmp.table()["mark"]) == {BEST, TIED}
    assert "statistically tied on nDCG@10: difference 0.000 [0.000, 0.000], p = 1.00" in " ".join(cmp.verdicts())


def test_a_model_better_on_every_query_has_a_small_p_and_is_named_the_winner():
    base = [0.2 + 0.03 * (i % 9) for i in range(N)]
    cmp = compare_scores({"bm25": q(base), "minilm": q([b + 0.05 + 0.01 * (i % 3) for i, b in enumerate(base)])},
                         "ndcg@10", n_resamples=5000)
    p = cmp.result.pair("minilm", "bm25")
    assert p.p_adjusted < 0.001 and 0 < p.low <= p.diff <= p.high
    assert cmp.result.best == "minilm" and cmp.result.tied_with_best == {"minilm"}
    table = cmp.table().set_index("model")
    assert table.loc["minilm", "mark"] == BEST and table.loc["bm25", "mark"] == ""
    sentence = cmp.pair_sentence("bm25", "minilm")  # oriented winner first whatever the order asked
    assert sentence.startswith(f"minilm beats bm25 on nDCG@10 by {p.diff:.3f} [{p.low:.3f}, {p.high:.3f}], p < 0.001")


def test_a_constant_metric_has_a_ci_of_width_0():
    cmp = compare_scores({"a": q([0.75] * N), "b": q([0.25 + 0.02 * i for i in range(N)])}, "hit@10",
                         n_resamples=1000)
    s = cmp.summary("a")
    assert s.low == s.mean == s.high == 0.75
    assert cmp.table().set_index("model").loc["a", "ci_low"] == cmp.table().set_index("model").loc["a", "ci_high"]


def test_sample_size_hint_shrinks_with_more_queries():
    rng = [((i * 37) % 11) / 10 for i in range(80)]
    small = compare_scores({"a": q(rng[:20]), "b": q([v * 0.9 for v in rng[:20]])}, "ndcg@10", n_resamples=500)
    large = compare_scores({"a": q(rng), "b": q([v * 0.9 for v in rng])}, "ndcg@10", n_resamples=500)
    assert large.mdd[("a", "b")] < small.mdd[("a", "b")]
    hint = small.sample_size_hint()
    assert hint.startswith("With 20 queries, a true difference smaller than about")


def test_holm_over_three_models_and_nan_rows_are_dropped(store):
    ds = make_dataset(n_queries=N)
    strong = [0.6 + 0.01 * (i % 5) for i in range(N)]
    run_id = write_retrieval_run(store, ds, {"strong": q(strong), "twin": q([v + 0.01 * (-1) ** i for i, v in
                                                                            enumerate(strong)]),
                                             "weak": q([v - 0.3 for v in strong])})
    cmp = compare_runs(store, run_id, n_resamples=2000)
    assert cmp.metric == "ndcg@5" and cmp.label == "nDCG@5"  # the default for retrieval runs
    pairs = cmp.pairs()
    assert (pairs["p_holm"] >= pairs["p_value"]).all() and len(pairs) == 3
    assert cmp.result.best == "strong" and cmp.result.tied_with_best == {"strong", "twin"}
    rag_id = write_rag_run(store, ds, {"m": {"q0": {"faithfulness": 0.9}, "q1": {"faithfulness": None},
                                             "q2": {"faithfulness": 0.5}}})
    rag = compare_runs(store, rag_id, "Faithfulness", n_resamples=500)
    row = rag.table().iloc[0]
    assert (row["n"], row["total"], row["mean"]) == (2, 3, pytest.approx(0.7))
    assert math.isnan(per_query_scores(store, rag_id, "faithfulness")["m"]["q1"])


def test_runs_on_one_dataset_compare_as_one_family_and_other_datasets_are_refused(store):
    ds = make_dataset(n_queries=8)
    r1 = write_retrieval_run(store, ds, {"minilm": q([0.5] * 8), "bm25": q([0.6] * 8)}, config={"index_type": "FLAT"})
    r2 = write_retrieval_run(store, ds, {"minilm": q([0.55] * 8)}, config={"index_type": "HNSW"})
    cmp = compare_runs(store, [r1, r2], "ndcg@5", n_resamples=500)
    assert set(cmp.scores) == {f"minilm [{r1}]", "bm25", f"minilm [{r2}]"}
    other = write_retrieval_run(store, make_dataset("other", n_queries=8, n_docs=15), {"x": q([0.1] * 8)})
    with pytest.raises(ValueError, match="different datasets"):
        compare_runs(store, [r1, other], "ndcg@5")
    with pytest.raises(ValueError, match="metric 'ndcg@10' is not in run"):
        compare_runs(store, r1, "ndcg@10")


def test_metric_labels():
    assert [metric_label(m) for m in ("ndcg@10", "mrr@5", "precision@3", "faithfulness", "rouge_l")] == \
        ["nDCG@10", "MRR@5", "Precision@3", "Faithfulness", "ROUGE-L"]


def test_pareto_flags_on_known_points():
    frame = pd.DataFrame({"quality": [0.9, 0.8, 0.7, 0.9, math.nan], "cost_per_1k": [1.0, 0.0, 0.5, 1.0, 0.0],
                          "p95_ms": [50, 30, 100, 60, 10]})
    # 0: best quality; 1: cheapest and fastest; 2: dominated by 1; 3: dominated by 0 (slower); 4: no quality
    assert pareto_flags(frame).tolist() == [True, True, False, False, False]
    no_latency = frame.assign(p95_ms=math.nan)
    assert pareto_flags(no_latency).tolist() == [True, True, False, True, False]


def test_frontier_joins_quality_cost_and_load_latency(store):
    ds = make_dataset(n_queries=6)
    ret = write_retrieval_run(store, ds, {"minilm": q([0.6] * 6), "openai-3-small": q([0.7] * 6),
                                          "bm25": q([0.65] * 6)})
    load = write_load_run(store, ds, {"minilm": {"p50_ms": 20, "p95_ms": 45, "p99_ms": 60},
                                      "bm25": {"p50_ms": 10, "p95_ms": 25, "p99_ms": 30},
                                      "openai-3-small": {"p50_ms": 80, "p95_ms": 120, "p99_ms": 200}})
    frame = frontier_table(store, [ret, load]).set_index("setup")
    assert frame.loc["bm25", "p95_ms"] == 25 and frame.loc["bm25", "users"] == 10
    assert frame.loc["minilm", "cost_per_1k"] == 0 and frame.loc["openai-3-small", "cost_per_1k"] > 0
    assert frame["pareto"].to_dict() == {"minilm": False, "openai-3-small": True, "bm25": True}
    fig = frontier_figure(frame.reset_index())
    stars = [t.name for t in fig.data if t.legendgroup == "Pareto-optimal"]
    assert sorted(stars) == ["bm25 ★", "openai-3-small ★"] and fig.layout.xaxis.title.text.startswith("p95")
    assert [t.name for t in fig.data if t.legendgroup == "dominated"] == ["minilm"]
    assert all(t.mode in ("markers", "lines") for t in fig.data)  # names in the legend, none beside a point


def test_frontier_for_rag_prices_generator_tokens_but_not_the_judges(store):
    ds = make_dataset(n_queries=4)
    usage = {"minilm": {"gpt-4o-mini": {"calls": 1, "prompt_tokens": 1000, "completion_tokens": 100},
                        "judge-model": {"calls": 3, "prompt_tokens": 9000, "completion_tokens": 900}}}
    rag = write_rag_run(store, ds, {"minilm": {f"q{i}": {"faithfulness": 0.8} for i in range(4)}},
                        generator={"spec": "openai:gpt-4o-mini", "label": "OpenAI", "baseline": False},
                        judge={"provider": "openai", "model": "judge-model"}, usage=usage)
    row = frontier_table(store, rag).iloc[0]
    per_question = (1000 * 0.15 + 100 * 0.60) / 1e6
    assert row["setup"] == "minilm + openai:gpt-4o-mini"
    assert row["cost_per_1k"] == pytest.approx(per_question * 1000)
    assert "gpt-4o-mini tokens" in row["cost_basis"]


def test_real_retrieval_run_statistics_match_the_stored_means(retriever, sample, tmp_path):
    from evaluators.retrieval.evaluate import evaluate_retrieval, save_run

    store = RunStore(tmp_path / "real.sqlite")
    result = evaluate_retrieval(retriever, sample, ["minilm", "bm25"], k=5)
    run_id = save_run(store, sample, result)
    cmp = compare_runs(store, run_id, "ndcg@5", n_resamples=2000)
    for s in cmp.result.models:
        assert s.mean == pytest.approx(store.get(run_id).summary["metrics"][s.model]["ndcg@5"])
        assert s.n == len(sample.judged_queries) and s.low <= s.mean <= s.high
    first = cmp.verdicts()[0]
    best = cmp.result.best
    assert re.search(rf"Best on nDCG@5: {best}, {result.metrics[best]['ndcg@5']:.3f} \[", first)
