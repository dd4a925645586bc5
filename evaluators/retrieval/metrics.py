"""Retrieval metrics at a cutoff k, computed the way ``trec_eval`` computes them.

Why trec_eval semantics: they are the de-facto reference (BEIR, MTEB, pyserini and
``pytrec_eval`` all report them), so numbers from this workbench can be compared with
published ones and cross-checked against ``pytrec_eval`` in the tests. The measures and
their trec_eval names:

============  ==============  =====================================================
ours          trec_eval       definition (rel = grade > 0, unjudged = non-relevant)
============  ==============  =====================================================
precision@k   P_k             relevant in top k / k (always k, even if fewer results)
recall@k      recall_k        relevant in top k / total relevant judged
hit@k         success_k       1 if any relevant doc in top k, else 0
mrr@k         recip_rank@k    1 / rank of the first relevant doc within top k, else 0
map@k         map_cut_k       sum of precision@rank over relevant ranks <= k / total relevant
ndcg@k        ndcg_cut_k      DCG@k / ideal DCG@k; gain = grade, discount 1/log2(rank+1);
                              the ideal ranking sorts *all* judged grades descending
============  ==============  =====================================================

Negative grades (some qrels use -1 for "junk") are non-relevant and add no gain.

Ties: trec_eval ignores the order of the run file and re-sorts each query's results by
score descending, breaking ties by document id descending (reverse ``strcmp``). Rankers
often return equal scores (BM25 on short texts, quantised vectors), so an evaluator that
keeps insertion order reports different numbers than trec_eval. ``sort_like_trec_eval``
(default True) reproduces trec_eval; pass False to score the list in the given order.
A document repeated in a ranking counts once, at its first (best) position.

Usage:
    >>> ranking = [("d1", 0.9), ("d2", 0.8), ("d3", 0.7)]
    >>> qrels = {"d2": 1, "d9": 2}
    >>> score_query(ranking, qrels, k=3)["recall@3"]
    0.5
    >>> per_query, mean = score_run({"q1": ranking}, {"q1": qrels}, k=3)
    >>> metric_names(3)[:2]
    ['precision@3', 'recall@3']
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence

from rag.i18n import _

#: A metric takes the ranked, de-duplicated doc ids, the grades for that query and k.
MetricFn = Callable[[Sequence[str], Mapping[str, int], int], float]


def _is_rel(grade: float | None) -> bool:
    """trec_eval's default relevance level: a judgment counts as relevant when grade > 0."""
    return grade is not None and grade > 0


def _num_relevant(qrels: Mapping[str, int]) -> int:
    return sum(1 for g in qrels.values() if _is_rel(g))


def _relevant_flags(ranked_ids: Sequence[str], qrels: Mapping[str, int], k: int) -> list[bool]:
    return [_is_rel(qrels.get(doc)) for doc in ranked_ids[:k]]


def precision_at_k(ranked_ids: Sequence[str], qrels: Mapping[str, int], k: int) -> float:
    """P_k: the denominator is k even when fewer than k docs were returned, so a system
    that returns nothing is not rewarded for abstaining."""
    return sum(_relevant_flags(ranked_ids, qrels, k)) / k


def recall_at_k(ranked_ids: Sequence[str], qrels: Mapping[str, int], k: int) -> float:
    """recall_k: share of all judged-relevant docs found in the top k."""
    n_rel = _num_relevant(qrels)
    return sum(_relevant_flags(ranked_ids, qrels, k)) / n_rel if n_rel else 0.0


def hit_at_k(ranked_ids: Sequence[str], qrels: Mapping[str, int], k: int) -> float:
    """success_k: did the user see at least one relevant doc in the top k?"""
    return 1.0 if any(_relevant_flags(ranked_ids, qrels, k)) else 0.0


def mrr_at_k(ranked_ids: Sequence[str], qrels: Mapping[str, int], k: int) -> float:
    """Reciprocal rank of the first relevant doc, 0 when it lies below rank k."""
    for rank, rel in enumerate(_relevant_flags(ranked_ids, qrels, k), start=1):
        if rel:
            return 1.0 / rank
    return 0.0


def map_at_k(ranked_ids: Sequence[str], qrels: Mapping[str, int], k: int) -> float:
    """map_cut_k: average precision truncated at k. Divided by *all* relevant docs (not
    only those retrievable within k), as trec_eval does, so it is < 1 when n_rel > k."""
    n_rel = _num_relevant(qrels)
    if not n_rel:
        return 0.0
    hits, total = 0, 0.0
    for rank, rel in enumerate(_relevant_flags(ranked_ids, qrels, k), start=1):
        if rel:
            hits += 1
            total += hits / rank
    return total / n_rel


def _dcg(gains: Iterable[float]) -> float:
    return sum(g / math.log2(rank + 1) for rank, g in enumerate(gains, start=1))


def ndcg_at_k(ranked_ids: Sequence[str], qrels: Mapping[str, int], k: int) -> float:
    """ndcg_cut_k with graded gains (gain = grade), so a grade-2 doc on top beats a
    grade-1 doc on top. The ideal DCG uses every judged grade, not only retrieved ones."""
    gains = [max(qrels.get(doc, 0) or 0, 0) for doc in ranked_ids[:k]]
    ideal = sorted((g for g in qrels.values() if _is_rel(g)), reverse=True)[:k]
    idcg = _dcg(ideal)
    return _dcg(gains) / idcg if idcg > 0 else 0.0


#: The registry: adding a metric is one entry here (name -> function).
METRIC_FUNCTIONS: dict[str, MetricFn] = {
    "precision": precision_at_k,
    "recall": recall_at_k,
    "hit": hit_at_k,
    "mrr": mrr_at_k,
    "map": map_at_k,
    "ndcg": ndcg_at_k,
}

#: Metric names in display order (a snapshot of the registry's keys).
METRICS: tuple[str, ...] = tuple(METRIC_FUNCTIONS)


def metric_names(k: int) -> list[str]:
    """Column names for cutoff k, e.g. ``["precision@10", "recall@10", ...]``."""
    return [f"{name}@{k}" for name in METRIC_FUNCTIONS]


def rank_ids(ranking: Sequence[tuple[str, float]], sort_like_trec_eval: bool = True) -> list[str]:
    """Doc ids in evaluation order: by score desc then doc id desc (trec_eval), or as
    given. Repeated ids keep only their first position."""
    items = list(ranking)
    if sort_like_trec_eval:
        # Two stable sorts: secondary key (doc id desc) first, then primary (score desc).
        items.sort(key=lambda item: item[0], reverse=True)
        items.sort(key=lambda item: item[1], reverse=True)
    seen: set[str] = set()
    ordered: list[str] = []
    for doc_id, _score in items:
        if doc_id not in seen:
            seen.add(doc_id)
            ordered.append(doc_id)
    return ordered


def _check_k(k: int) -> int:
    if isinstance(k, bool) or operator.index(k) < 1:
        raise ValueError(_("k must be a positive integer, got {k}").format(k=repr(k)))
    return operator.index(k)


def score_query(
    ranking: Sequence[tuple[str, float]],
    qrels: Mapping[str, int],
    k: int,
    sort_like_trec_eval: bool = True,
) -> dict[str, float]:
    """All registered metrics at k for one query: ``{"precision@k": ..., ...}``."""
    k = _check_k(k)
    ranked = rank_ids(ranking, sort_like_trec_eval)
    return {f"{name}@{k}": float(fn(ranked, qrels, k)) for name, fn in METRIC_FUNCTIONS.items()}


def score_run(
    rankings: Mapping[str, Sequence[tuple[str, float]]],
    qrels: Mapping[str, Mapping[str, int]],
    k: int,
    sort_like_trec_eval: bool = True,
) -> tuple[dict[str, dict[str, float]], dict[str, float]]:
    """Per-query metrics and their mean over the judged queries.

    Only queries with at least one relevant judgment are scored: without one, recall
    and nDCG are undefined and would silently drag the mean down. A judged query absent
    from ``rankings`` scores 0 on every metric (like ``trec_eval -c``), so a system cannot
    look better by failing to answer. Queries in ``rankings`` without judgments are
    ignored. With no judged query the means are NaN.
    """
    k = _check_k(k)
    per_query: dict[str, dict[str, float]] = {}
    for qid, judged in qrels.items():
        if _num_relevant(judged) == 0:
            continue
        per_query[qid] = score_query(rankings.get(qid, []), judged, k, sort_like_trec_eval)
    names = metric_names(k)
    n = len(per_query)
    means = {name: (sum(scores[name] for scores in per_query.values()) / n if n else math.nan) for name in names}
    return per_query, means
