"""Tests for evaluators.retrieval.metrics: hand-computed cases plus a pytrec_eval cross-check."""

import math
import random

import pytest

from evaluators.retrieval import metrics as rm
from evaluators.retrieval.metrics import METRIC_FUNCTIONS, METRICS, metric_names, rank_ids, score_query, score_run

LOG2_3 = math.log2(3)  # 1.5849625...


def ranked(*ids):
    """A ranking in the given order with strictly decreasing scores (no ties)."""
    return [(doc, float(len(ids) - i)) for i, doc in enumerate(ids)]


def test_registry_and_names():
    assert METRICS == ("precision", "recall", "hit", "mrr", "map", "ndcg")
    assert tuple(METRIC_FUNCTIONS) == METRICS
    assert metric_names(10) == [
        "precision@10",
        "recall@10",
        "hit@10",
        "mrr@10",
        "map@10",
        "ndcg@10",
    ]
    assert list(score_query(ranked("a"), {"a": 1}, 10)) == metric_names(10)


def test_registry_is_table_driven(monkeypatch):
    # Adding a metric is one dict entry; it then appears in names, per-query and means.
    monkeypatch.setitem(METRIC_FUNCTIONS, "first_is_rel", lambda ids, q, k: float(q.get(ids[0], 0) > 0))
    assert metric_names(2)[-1] == "first_is_rel@2"
    per_query, mean = score_run({"q": ranked("a", "b")}, {"q": {"a": 1}}, 2)
    assert per_query["q"]["first_is_rel@2"] == 1.0
    assert mean["first_is_rel@2"] == 1.0


def test_worked_example_all_metrics():
    # ranking d1..d5; relevant: d2 (grade 1, rank 2), d4 (grade 2, rank 4), d9 (grade 1, not retrieved)
    qrels = {"d2": 1, "d4": 2, "d9": 1, "d1": 0}
    s = score_query(ranked("d1", "d2", "d3", "d4", "d5"), qrels, 5)
    assert s["precision@5"] == pytest.approx(2 / 5)  # 2 relevant in top 5
    assert s["recall@5"] == pytest.approx(2 / 3)  # 2 of 3 relevant found
    assert s["hit@5"] == 1.0
    assert s["mrr@5"] == pytest.approx(1 / 2)  # first relevant at rank 2
    # AP@5 = (P@2 + P@4) / n_rel = (1/2 + 2/4) / 3 = 1/3
    assert s["map@5"] == pytest.approx(1 / 3)
    # DCG = 1/log2(3) + 2/log2(5) = 0.63093 + 0.86135 = 1.49228
    # IDCG = grades sorted (2, 1, 1): 2/1 + 1/log2(3) + 1/log2(4) = 2 + 0.63093 + 0.5 = 3.13093
    dcg = 1 / LOG2_3 + 2 / math.log2(5)
    idcg = 2 + 1 / LOG2_3 + 1 / 2
    assert s["ndcg@5"] == pytest.approx(dcg / idcg)
    assert s["ndcg@5"] == pytest.approx(0.47663, abs=1e-5)


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        # IDCG@3 for grades (2, 1) = 2/1 + 1/log2(3) = 2.63093
        (("a", "b", "c"), 1.0),  # DCG = 2 + 1/log2(3) = IDCG
        # (1 + 1.26186) / 2.63093 = 0.85972
        (("b", "a", "c"), (1 + 2 / LOG2_3) / (2 + 1 / LOG2_3)),
        # (0.63093 + 1) / 2.63093 = 0.61991
        (("c", "b", "a"), (1 / LOG2_3 + 2 / 2) / (2 + 1 / LOG2_3)),
        # (1.26186 + 0.5) / 2.63093 = 0.66967
        (("c", "a", "b"), (2 / LOG2_3 + 1 / 2) / (2 + 1 / LOG2_3)),
        (("x", "y", "a"), (2 / 2) / (2 + 1 / LOG2_3)),  # 1 / 2.63093 = 0.38010
        (("x", "y", "z"), 0.0),
    ],
)
def test_graded_ndcg_positions(order, expected):
    qrels = {"a": 2, "b": 1, "c": 0}
    assert score_query(ranked(*order), qrels, 3)["ndcg@3"] == pytest.approx(expected)


def test_graded_ndcg_beats_binary_order():
    qrels = {"a": 2, "b": 1}
    assert score_query(ranked("a", "b"), qrels, 2)["ndcg@2"] > score_query(ranked("b", "a"), qrels, 2)["ndcg@2"]


def test_ndcg_ideal_cut_at_k():
    # k=1: IDCG@1 = 2 (the grade-2 doc alone); the grade-1 doc first gives DCG = 1 -> 0.5
    s = score_query(ranked("b", "a"), {"a": 2, "b": 1}, 1)
    assert s["ndcg@1"] == pytest.approx(0.5)


def test_ties_broken_like_trec_eval():
    # All scores equal: trec_eval orders by doc id descending -> c, b, a. Relevant "a" lands at rank 3.
    ranking = [("a", 1.0), ("b", 1.0), ("c", 1.0)]
    assert rank_ids(ranking) == ["c", "b", "a"]
    s = score_query(ranking, {"a": 1}, 3)
    assert s["mrr@3"] == pytest.approx(1 / 3)
    assert score_query(ranking, {"a": 1}, 1)["precision@1"] == 0.0
    # Keeping the given order instead puts "a" first.
    kept = score_query(ranking, {"a": 1}, 3, sort_like_trec_eval=False)
    assert kept["mrr@3"] == 1.0


def test_score_sorts_before_id_and_input_order_is_ignored():
    # Higher score wins regardless of list position; ties only among the 0.5s: "d10" > "d09" > "a" (lexical).
    ranking = [("a", 0.5), ("z", 0.9), ("d09", 0.5), ("d10", 0.5)]
    assert rank_ids(ranking) == ["z", "d10", "d09", "a"]
    assert rank_ids(ranking, sort_like_trec_eval=False) == ["a", "z", "d09", "d10"]


def test_fewer_results_than_k():
    # 2 results, k=5, relevant r1 (rank 1) and r2 (not retrieved)
    s = score_query(ranked("r1", "n1"), {"r1": 1, "r2": 1}, 5)
    assert s["precision@5"] == pytest.approx(1 / 5)  # denominator stays k
    assert s["recall@5"] == pytest.approx(1 / 2)
    assert s["hit@5"] == 1.0
    assert s["mrr@5"] == 1.0
    assert s["map@5"] == pytest.approx(1 / 2)  # (1/1) / 2 relevant
    assert s["ndcg@5"] == pytest.approx(1 / (1 + 1 / LOG2_3))  # 1 / 1.63093 = 0.61315


def test_empty_ranking_and_no_relevant_retrieved():
    qrels = {"a": 1, "b": 2}
    for ranking in ([], ranked("x", "y", "z")):
        assert set(score_query(ranking, qrels, 3).values()) == {0.0}


def test_relevant_below_cutoff_does_not_count():
    # relevant doc at rank 4, k=3: every metric 0 (mrr is cut at k, unlike plain recip_rank)
    s = score_query(ranked("x", "y", "z", "a"), {"a": 1}, 3)
    assert set(s.values()) == {0.0}


def test_map_divides_by_all_relevant_even_beyond_k():
    # 3 relevant, k=2, top 2 relevant: AP@2 = (1/1 + 2/2) / 3 = 2/3; nDCG@2 uses ideal cut at 2 -> 1
    s = score_query(ranked("a", "b", "c"), {"a": 1, "b": 1, "c": 1}, 2)
    assert s["map@2"] == pytest.approx(2 / 3)
    assert s["recall@2"] == pytest.approx(2 / 3)
    assert s["ndcg@2"] == pytest.approx(1.0)


def test_unjudged_and_negative_grades_are_nonrelevant():
    # "u" unjudged, "j" junk (-1): non-relevant and no (negative) gain; "b" relevant at rank 3
    s = score_query(ranked("u", "j", "b"), {"j": -1, "b": 1}, 3)
    assert s["precision@3"] == pytest.approx(1 / 3)
    assert s["ndcg@3"] == pytest.approx(1 / 2)  # DCG = 1/log2(4) = 0.5, IDCG = 1


def test_duplicate_doc_counts_once():
    s = score_query([("a", 0.9), ("a", 0.8), ("b", 0.7)], {"a": 1, "b": 1}, 2)
    assert s["precision@2"] == 1.0  # a, b — not a, a


@pytest.mark.parametrize("k", [0, -1])
def test_bad_k(k):
    with pytest.raises(ValueError):
        score_query(ranked("a"), {"a": 1}, k)


def test_score_run_skips_unjudged_and_zeroes_missing():
    rankings = {
        "q1": ranked("a"),  # relevant at rank 1
        "q2": ranked("x", "b"),  # relevant at rank 2
        "q3": ranked("c"),  # judged but no relevant doc -> skipped
        "q5": ranked("e"),  # no judgments at all -> ignored
    }
    # q4 is judged but not in the run -> zeros
    qrels = {"q1": {"a": 1}, "q2": {"b": 1}, "q3": {"c": 0}, "q4": {"d": 1}}
    per_query, mean = score_run(rankings, qrels, 2)
    assert set(per_query) == {"q1", "q2", "q4"}
    assert set(per_query["q4"].values()) == {0.0}
    assert list(mean) == metric_names(2)
    assert mean["precision@2"] == pytest.approx((1 / 2 + 1 / 2 + 0) / 3)  # 1/3
    assert mean["recall@2"] == pytest.approx((1 + 1 + 0) / 3)  # 2/3
    assert mean["hit@2"] == pytest.approx(2 / 3)
    assert mean["mrr@2"] == pytest.approx((1 + 1 / 2 + 0) / 3)  # 0.5
    assert mean["map@2"] == pytest.approx((1 + 1 / 2 + 0) / 3)
    # nDCG: q1 = 1, q2 = (1/log2 3) / 1 = 0.63093, q4 = 0
    assert mean["ndcg@2"] == pytest.approx((1 + 1 / LOG2_3) / 3)


def test_score_run_no_judged_queries_gives_nan_means():
    per_query, mean = score_run({"q": ranked("a")}, {}, 3)
    assert per_query == {}
    assert all(math.isnan(v) for v in mean.values())


def test_score_run_mean_is_mean_of_per_query():
    rng = random.Random(1)
    rankings, qrels = _random_run(rng, n_queries=15)
    per_query, mean = score_run(rankings, qrels, 5)
    for name in metric_names(5):
        assert mean[name] == pytest.approx(sum(q[name] for q in per_query.values()) / len(per_query))


def _random_run(rng, n_queries=40, pool=30, per_query=20):
    """Random run with many score ties (1 decimal) and graded qrels incl. -1 and unjudged docs."""
    rankings, qrels = {}, {}
    for q in range(n_queries):
        qid = f"q{q}"
        docs = [f"d{i}" for i in range(pool)]
        retrieved = rng.sample(docs, rng.randint(0, per_query))
        rankings[qid] = [(d, round(rng.random(), 1)) for d in retrieved]
        judged = rng.sample(docs, rng.randint(1, 12))
        qrels[qid] = {d: rng.choice([-1, 0, 0, 1, 1, 2, 3]) for d in judged}
        qrels[qid][rng.choice(docs)] = rng.randint(1, 3)  # at least one relevant
    return rankings, qrels


def test_cross_check_against_pytrec_eval():
    pytrec_eval = pytest.importorskip("pytrec_eval")
    rng = random.Random(42)
    rankings, qrels = _random_run(rng)
    # trec_eval only scores queries that are in the run
    rankings = {q: r for q, r in rankings.items() if r}
    qrels = {q: qrels[q] for q in rankings}
    run = {q: {d: s for d, s in r} for q, r in rankings.items()}
    for k in (1, 3, 5, 10, 25):
        names = {
            f"P_{k}",
            f"recall_{k}",
            f"success_{k}",
            f"map_cut_{k}",
            f"ndcg_cut_{k}",
        }
        ref = pytrec_eval.RelevanceEvaluator(qrels, names).evaluate(run)
        # recip_rank has no cut in trec_eval: evaluate it on the run truncated to its top k.
        top_k = {q: {d: run[q][d] for d in rank_ids(r)[:k]} for q, r in rankings.items()}
        ref_rr = pytrec_eval.RelevanceEvaluator(qrels, {"recip_rank"}).evaluate(top_k)
        per_query, _ = score_run(rankings, qrels, k)
        assert set(per_query) == set(ref)
        for qid, ours in per_query.items():
            assert ours[f"precision@{k}"] == pytest.approx(ref[qid][f"P_{k}"])
            assert ours[f"recall@{k}"] == pytest.approx(ref[qid][f"recall_{k}"])
            assert ours[f"hit@{k}"] == pytest.approx(ref[qid][f"success_{k}"])
            assert ours[f"map@{k}"] == pytest.approx(ref[qid][f"map_cut_{k}"])
            assert ours[f"ndcg@{k}"] == pytest.approx(ref[qid][f"ndcg_cut_{k}"])
            assert ours[f"mrr@{k}"] == pytest.approx(ref_rr[qid]["recip_rank"])


def test_cross_check_detects_tie_order():
    # Sanity of the cross-check itself: with insertion order, tied runs disagree with trec_eval.
    pytrec_eval = pytest.importorskip("pytrec_eval")
    ranking = [("a", 1.0), ("b", 1.0), ("c", 1.0)]
    ref = pytrec_eval.RelevanceEvaluator({"q": {"a": 1}}, {"P_1"}).evaluate({"q": dict(ranking)})
    assert score_query(ranking, {"a": 1}, 1)["precision@1"] == ref["q"]["P_1"] == 0.0
    assert score_query(ranking, {"a": 1}, 1, sort_like_trec_eval=False)["precision@1"] == 1.0


def test_module_has_no_ui_or_db_imports():
    with open(rm.__file__) as fh:
        src = fh.read()
    assert "streamlit" not in src and "pymilvus" not in src
