"""Stored runs → per-query score tables → statistics → plain-language verdicts.

Why a layer over ``evaluators.stats.significance``: the statistics take ``{model: {query: score}}``, but
what users hold are run ids. This module reads retrieval and RAG runs from the ``RunStore``
(rows keyed by model and query id), lines the queries up (several runs on the *same dataset*
can be compared as one family, each model labelled with its run when names collide), runs
``compare_models`` for a metric and turns the result into the sentences a stakeholder reads:
"bm25 beats minilm on nDCG@10 by 0.050 [0.012, 0.101], p = 0.03". Every number in a sentence is
taken from the same ``ComparisonResult`` that fills the tables, so they cannot disagree.

Usage:
    cmp = compare_runs(store, ["latest"], "ndcg@10")
    cmp.table()        # model, mean, ci_low, ci_high, n, mark ("★ best" / "≈ tied")
    cmp.pairs()        # model_a, model_b, diff, CI, p, p_holm, significant, mdd
    cmp.verdicts()     # ["bm25 beats minilm on nDCG@10 by …", "With 16 queries …"]
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import pandas as pd

from evaluators.stats import verdicts
from evaluators.stats.coverage import coverage_text, row_outcome
from evaluators.stats.labels import metric_label
from evaluators.stats.power import min_detectable_difference
from evaluators.stats.results import ComparisonResult, ModelSummary, PairComparison
from evaluators.stats.run_kinds import kind_of
from evaluators.stats.significance import compare_models
from rag.i18n import N_, _
from rag.runs import Run, RunStore

BEST, TIED, NOT_SCORED = N_("★ best"), N_("≈ tied"), N_("not scored")  # catalog keys: readers say them translated
LOW_COVERAGE, NO_SIGNAL = "not ranked: lower coverage", "no signal"






def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def run_metrics(store: RunStore, run: Run) -> list[str]:
    """Per-query metrics a run has, in the order its summary lists them (rows' ``scores`` as a
    fallback); none for kinds without per-query scores (load)."""
    if not kind_of(run).quality:
        return []
    names = list(dict.fromkeys(m for per_model in run.typed_summary().per_model().values() for m in per_model))
    if names:
        return names
    for row in store.typed_rows(run.id)[:200]:
        names += [k for k in row.scores if k not in names]
    return names


def default_metric(store: RunStore, run: Run) -> str | None:
    """The kind's default (nDCG@k for retrieval runs), else the first scored metric."""
    return kind_of(run).default_metric(run, run_metrics(store, run))


def find_metric(names: list[str], metric: str) -> str | None:
    """Case-insensitive lookup (``nDCG@10`` finds ``ndcg@10``)."""
    return next((n for n in names if n.lower() == metric.strip().lower()), None)


def per_query_scores(store: RunStore, run_id: str, metric: str,
                     rows: list[dict] | None = None) -> dict[str, dict[str, float]]:
    """``{model: {query_id: value}}`` for one metric of one run: a setup failure (nothing retrieved, no
    answer) is a miss scored 0, an evaluation failure is NaN (``evaluators.stats.coverage``).
    ``rows`` (the run's stored rows) saves reading them again when several metrics are wanted."""
    return _outcomes(store, run_id, metric, rows)[0]


def _outcomes(store: RunStore, run_id: str, metric: str, rows: list[dict] | None = None):
    """(scores, misses, failures) of one run: ``{model: {query: value}}``, ``{model: {reason: count}}`` ×2."""
    run = store.get(run_id)
    scores: dict[str, dict[str, float]] = {m: {} for m in run.config.get("models", [])}
    misses: dict[str, dict[str, int]] = {}
    failures: dict[str, dict[str, int]] = {}
    for row in store.rows(run.id) if rows is None else rows:
        if metric in (row.get("not_applicable") or {}):
            continue  # e.g. a reference-based metric on a question without a reference: not asked
        model = str(row["model"])
        value, miss, failure = row_outcome(row, metric)
        scores.setdefault(model, {})[str(row["item_id"])] = value
        for book, why in ((misses, miss), (failures, failure)):
            if why:
                book.setdefault(model, {})[why] = book.setdefault(model, {}).get(why, 0) + 1
    return {m: s for m, s in scores.items() if s}, misses, failures


def _models(run: Run) -> list[str]:
    return [str(m) for m in run.config.get("models") or list((run.summary or {}).get(kind_of(run).summary_table)
                                                              or {})]


def model_labels(runs: list[Run]) -> dict[tuple[str, str], str]:
    """``(run_id, model) -> label``: the model name, or ``model [run_id]`` when two runs share it."""
    counts: dict[str, int] = {}
    for r in runs:
        for m in _models(r):
            counts[m] = counts.get(m, 0) + 1
    return {(r.id, m): m if counts[m] == 1 else f"{m} [{r.id}]" for r in runs for m in _models(r)}


def check_one_dataset(runs: list[Run]) -> None:
    """Per-query pairing is only meaningful on the same questions: refuse runs of different datasets."""
    if len({r.dataset_hash for r in runs}) > 1:
        raise ValueError(_("runs are on different datasets ({runs}); compare runs of one dataset").format(
            runs=", ".join(f"{r.id}: {r.dataset}/{r.dataset_hash}" for r in runs)))


def _family(store: RunStore, run_ids: list[str]) -> tuple[list[Run], dict[tuple[str, str], str]]:
    runs = [store.get(r) for r in run_ids]
    check_one_dataset(runs)
    return runs, model_labels(runs)


def collect_scores(store: RunStore, run_ids: list[str], metric: str,
                   rows: dict[str, list[dict]] | None = None) -> tuple[dict[str, dict[str, float]], list[str]]:
    """Scores of several runs as one family. Runs must share a dataset (per-query pairing is only
    meaningful on the same questions); a model name used by two runs is labelled ``model [run]``.
    ``rows``: ``{run_id: stored rows}`` already read."""
    runs, labels = _family(store, run_ids)
    merged: dict[str, dict[str, float]] = {}
    for r in runs:
        for m, vals in per_query_scores(store, r.id, metric, (rows or {}).get(r.id)).items():
            merged[labels.get((r.id, m), f"{m} [{r.id}]")] = vals
    notes = []
    if len({r.config.get("k") for r in runs if kind_of(r).same_cutoff}) > 1:
        notes.append(_("runs use different k; compare a metric at the same cutoff"))
    return merged, notes


def collect_repeats(store: RunStore, run_ids: list[str], metric: str,
                    rows: dict[str, list[dict]] | None = None) -> dict[str, dict[str, list]]:
    """``{model label: {query_id: [each judge repeat's value]}}`` of a judged metric scored K times per
    row (``--judge-repeats``; ``RagRow.repeats``), labelled as ``collect_scores``; empty without repeats."""
    runs, labels = _family(store, run_ids)
    out: dict[str, dict[str, list]] = {}
    for r in runs:
        for row in store.rows(r.id) if rows is None or r.id not in rows else rows[r.id]:
            reps = (row.get("repeats") or {}).get(metric)
            if reps:
                label = labels.get((r.id, str(row["model"])), f"{row['model']} [{r.id}]")
                out.setdefault(label, {})[str(row["item_id"])] = list(reps)
    return out


def collect_outcomes(store: RunStore, run_ids: list[str], metric: str, rows: dict[str, list[dict]] | None = None
                     ) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, int]]]:
    """(misses, failures): ``{model label: {reason: count}}`` of the rows a setup failed (scored 0) and
    the rows the evaluation failed (left out), labelled as ``collect_scores``."""
    runs, labels = _family(store, run_ids)
    misses, failures = {}, {}
    for r in runs:
        _, miss, fail = _outcomes(store, r.id, metric, (rows or {}).get(r.id))
        for src, dst in ((miss, misses), (fail, failures)):
            dst.update({labels.get((r.id, m), f"{m} [{r.id}]"): v for m, v in src.items()})
    return misses, failures


@dataclass
class MetricComparison:
    """One metric compared across the models of one or more runs; its sentences are
    ``evaluators.stats.verdicts``' (coverage first, one story per pair, no winner without signal)."""

    metric: str
    run_ids: list[str]
    scores: dict[str, dict[str, float]]
    result: ComparisonResult
    mdd: dict[tuple[str, str], float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    misses: dict[str, dict[str, int]] = field(default_factory=dict)     # model -> reason -> rows scored 0
    failures: dict[str, dict[str, int]] = field(default_factory=dict)   # model -> reason -> rows left out
    digits: int = 3

    @property
    def label(self) -> str:
        return metric_label(self.metric)

    @property
    def n_queries(self) -> int:
        return len(set().union(*[set(s) for s in self.scores.values()])) if self.scores else 0

    def summary(self, model: str):
        return next(s for s in self.result.models if s.model == model)

    @property
    def not_scored(self) -> list[str]:
        """Models with no score on this metric (e.g. RAG setups on a retrieval metric)."""
        return [s.model for s in self.result.models if s.n == 0]

    def coverage(self, model: str) -> str:
        """"bm25: 6 of 30 questions scored; 24 failed, left out: …" for one model."""
        s = self.summary(model)
        return coverage_text(model, s.n, s.total or self.n_queries, self.misses.get(model), self.failures.get(model))

    def complete(self) -> bool:
        """Every model scored every question (misses count as scored): the metric can be a run's main one."""
        return all(s.n == (s.total or self.n_queries) for s in self.result.models)

    def mark(self, model: str) -> str:
        res = self.result
        s = self.summary(model)
        if s.n == 0:
            return NOT_SCORED
        if res.no_signal:
            return NO_SIGNAL
        if model in res.low_coverage:
            return LOW_COVERAGE
        return BEST if model == res.best else TIED if model in res.tied_with_best else ""

    def table(self) -> pd.DataFrame:
        """Per model: mean, 95% CI, n scored, total, coverage, mark (best / tied / not ranked / not scored)
        and the coverage sentence."""
        frame = self.result.to_frame()
        frame["total"] = frame["model"].map(lambda m: self.summary(m).total or self.n_queries)
        frame["coverage"] = frame["n"] / frame["total"].where(frame["total"] > 0)
        frame["mark"] = frame["model"].map(self.mark)
        frame["scored"] = frame["model"].map(lambda m: self.coverage(m).split(": ", 1)[1])
        return frame[["model", "mean", "ci_low", "ci_high", "n", "total", "coverage", "mark", "scored"]]

    def pairs(self) -> pd.DataFrame:
        frame = self.result.pairs_frame()
        frame["mdd"] = [self.mdd.get((a, b), math.nan) for a, b in zip(frame["model_a"], frame["model_b"])]
        frame["ci_level"] = [p.confidence for p in self.result.pairs]
        return frame

    def to_json(self) -> dict:
        """Plain data (NaN kept as NaN: ``json`` round-trips it and every float exactly)."""
        r = self.result
        return {"metric": self.metric, "run_ids": self.run_ids, "scores": self.scores,
                "models": [asdict(m) for m in r.models], "pairs": [asdict(p) for p in r.pairs], "best": r.best,
                "tied_with_best": sorted(r.tied_with_best), "alpha": r.alpha, "result_notes": r.notes,
                "no_signal": r.no_signal, "low_coverage": sorted(r.low_coverage),
                "mdd": [[a, b, v] for (a, b), v in self.mdd.items()], "notes": self.notes,
                "misses": self.misses, "failures": self.failures}

    @classmethod
    def from_json(cls, d: dict) -> MetricComparison:
        result = ComparisonResult([ModelSummary(**m) for m in d["models"]], [PairComparison(**p) for p in d["pairs"]],
                                  d["best"], frozenset(d["tied_with_best"]), d["alpha"], list(d["result_notes"]),
                                  d.get("no_signal"), frozenset(d.get("low_coverage") or []))
        return cls(d["metric"], list(d["run_ids"]), d["scores"], result, {(a, b): v for a, b, v in d["mdd"]},
                   list(d["notes"]), d.get("misses") or {}, d.get("failures") or {})

    def _num(self, x: float) -> str:
        if x is None or math.isnan(x):
            return "n/a"
        return f"{0.0 if abs(x) < 0.5 * 10 ** -self.digits else x:.{self.digits}f}"   # never "-0.000"

    def pair_sentence(self, a: str, b: str) -> str:
        """One sentence for a vs b, winner (by mean difference) first; its interval and verdict agree."""
        return verdicts.pair_sentence(self, a, b)

    def verdicts(self) -> list[str]:
        """Best model with its mean, CI and coverage (or why there is none), best vs each other model,
        the models not ranked for their coverage, and the sample-size hint."""
        return verdicts.verdicts(self)

    def sample_size_hint(self) -> str | None:
        """The smallest difference these queries detect (best vs the runner-up, 80% power)."""
        return verdicts.sample_size_hint(self)


def _mdd(scores: dict[str, dict[str, float]], a: str, b: str) -> float:
    common = [q for q in scores[a] if q in scores[b]]
    try:
        return min_detectable_difference([scores[a][q] for q in common], [scores[b][q] for q in common])
    except ValueError:  # fewer than 2 complete pairs
        return math.nan


def compare_scores(scores: dict[str, dict[str, float]], metric: str, run_ids: list[str] | None = None,
                   alpha: float = 0.05, n_resamples: int = 10000, seed: int = 0,
                   notes: list[str] | None = None, repeats: dict | None = None,
                   misses: dict | None = None, failures: dict | None = None) -> MetricComparison:
    """Statistics for ready-made ``{model: {query: score}}`` (what ``compare_runs`` does after reading);
    ``repeats`` (``collect_repeats``) puts the judge's noise into the intervals (two-level bootstrap);
    ``misses`` / ``failures`` (``collect_outcomes``) say why rows scored 0 or were left out."""
    result = compare_models(scores, alpha=alpha, n_resamples=n_resamples, seed=seed, repeats=repeats)
    notes = list(notes or [])
    if any(len(set(v)) > 1 for per_q in (repeats or {}).values() for v in per_q.values()):
        k = max(len(v) for per_q in repeats.values() for v in per_q.values())
        notes.append(_("CIs include the judge's noise ({k} judge repeats per row: questions resampled, "
                       "then repeats within each); p-values are on the rows' means").format(k=k))
    mdd = {(p.model_a, p.model_b): _mdd(scores, p.model_a, p.model_b) for p in result.pairs}
    return MetricComparison(metric, list(run_ids or []), scores, result, mdd, notes, dict(misses or {}),
                            dict(failures or {}))


def compare_runs(store: RunStore, run_ids: list[str] | str, metric: str | None = None, alpha: float = 0.05,
                 n_resamples: int = 10000, seed: int = 0) -> MetricComparison:
    """Compare every model of the given runs (one dataset) on ``metric`` (default: nDCG@k / first metric)."""
    ids = store.resolve_ids(run_ids)
    runs = [store.get(r) for r in ids]
    names = [n for r in runs for n in run_metrics(store, r)]
    wanted = metric or default_metric(store, runs[0])
    found = find_metric(names, wanted) if wanted else None
    if found is None:
        raise ValueError(_("metric '{metric}' is not in run(s) {runs}; available: {available}").format(
            metric=wanted, runs=", ".join(ids), available=", ".join(dict.fromkeys(names)) or _("none")))
    scores, notes = collect_scores(store, ids, found)
    return compare_scores(scores, found, ids, alpha, n_resamples, seed, notes, collect_repeats(store, ids, found),
                          *collect_outcomes(store, ids, found))


def metric_value(run: Run, metric: str, model: str) -> float | None:
    """A run's aggregate for one model from its summary's per-model table (retrieval and RAG means,
    load ``p95_ms``, ``rps``, …). None when absent."""
    per_model = run.typed_summary().per_model().get(model)
    if per_model is None:
        return None
    key = find_metric(list(per_model), metric)
    val = per_model.get(key) if key else None
    return float(val) if _is_number(val) and math.isfinite(val) else None


def aggregate_metrics(run: Run) -> list[str]:
    """Metric names in a run's summary (any kind), for gates and pickers."""
    return list(dict.fromkeys(k for per_model in run.typed_summary().per_model().values() for k in per_model))
