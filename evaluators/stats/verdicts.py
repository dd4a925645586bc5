"""The sentences a stakeholder reads about one metric's comparison, each one true of the numbers beside it.

Three rules, each from a report that once read wrong (issue 22):

* **coverage before ranking**: the best is named with its coverage; a model scored on fewer questions is
  "not ranked" with why ("bm25: 6 of 30 questions scored; 24 failed, left out: …"), never best on what
  survived;
* **one story per pair**: "beats" exactly when the interval printed beside it excludes 0 (the interval
  inverts the same sign-flip test, ``evaluators.stats.signflip``); when it does not and the questions are
  too few for the observed difference, the sentence says "too few questions to tell (n = 6; about N needed
  for a difference of D)" rather than "tied";
* **no winner without signal**: every score one value, or no model scored → "no signal on this metric"
  and why, never a best.

Usage (through ``MetricComparison``):
    cmp.verdicts()          # ["Best on nDCG@10: bm25, 0.669 [0.62, 0.71] over 300 of 300 questions.", …]
    cmp.pair_sentence("bm25", "minilm")
"""

from __future__ import annotations

import math

import numpy as np

from evaluators.stats.labels import fmt_p, glossed
from evaluators.stats.power import exact_floor, required_queries
from rag.i18n import _, tidy


def _ci(cmp, low: float, high: float) -> str:
    if math.isinf(low) or math.isinf(high):
        return "[" + _("unbounded: too few questions") + "]"
    return f"[{cmp._num(low)}, {cmp._num(high)}]"


def questions_needed(cmp, a: str, b: str, difference: float) -> int | None:
    """About how many paired questions would detect ``difference`` between a and b (80% power, the level
    Holm's correction asks of one pair among all), never fewer than the sign-flip test's floor."""
    if not difference or math.isnan(difference):
        return None
    res = cmp.result
    level = res.alpha / max(1, len(res.pairs))
    common = [q for q in cmp.scores[a] if q in cmp.scores[b]]
    d = np.array([cmp.scores[a][q] - cmp.scores[b][q] for q in common], dtype=float)
    d = d[~np.isnan(d)]
    sd = float(np.std(d, ddof=1)) if d.size > 1 else 0.0
    return max(required_queries(abs(difference), sd, alpha=level), exact_floor(level))


def pair_sentence(cmp, a: str, b: str) -> str:
    """One sentence for a vs b, oriented so the winner (by mean difference) comes first."""
    return tidy(_pair_sentence(cmp, a, b))


def _pair_sentence(cmp, a: str, b: str) -> str:
    p = cmp.result.pair(a, b)
    if not math.isnan(p.diff) and p.diff < 0:
        p = cmp.result.pair(b, a)
    label = glossed(cmp.label)
    if math.isnan(p.p_adjusted):
        return _("{a} and {b} share no scored queries on {metric}; they cannot be compared.").format(
            a=p.model_a, b=p.model_b, metric=label)
    ci = _ci(cmp, p.low, p.high)
    if p.significant:
        return _("{a} beats {b} on {metric} by {diff} {ci}, {p} ({n} paired queries).").format(
            a=p.model_a, b=p.model_b, metric=label, diff=cmp._num(p.diff), ci=ci, p=fmt_p(p.p_adjusted), n=p.n)
    needed = questions_needed(cmp, p.model_a, p.model_b, p.diff)
    if needed is not None and (needed > p.n or math.isinf(p.high)):
        return _("Too few questions to tell {a} from {b} on {metric} (n = {n}; about {needed} needed for a "
                 "difference of {size}): difference {diff} {ci}, {p}.").format(
            a=p.model_a, b=p.model_b, metric=label, n=p.n, needed=max(needed, p.n + 1), size=cmp._num(abs(p.diff)),
            diff=cmp._num(p.diff), ci=ci, p=fmt_p(p.p_adjusted))
    return _("{a} and {b} are statistically tied on {metric}: difference {diff} {ci}, {p} ({n} paired "
             "queries).").format(a=p.model_a, b=p.model_b, metric=label, diff=cmp._num(p.diff), ci=ci,
                                 p=fmt_p(p.p_adjusted), n=p.n)


def verdicts(cmp) -> list[str]:
    """Best model with its mean, CI and coverage (or why there is none), best vs each other ranked model,
    the models not ranked for their coverage (with their difference on the shared questions), the
    sample-size hint."""
    res = cmp.result
    label = glossed(cmp.label)
    scored = [s for s in res.models if s.n > 0]
    incomplete = [(s.model, cmp.coverage(s.model)) for s in scored
                  if s.n < (s.total or cmp.n_queries) or cmp.misses.get(s.model)]
    if res.no_signal or res.best is None:
        why = res.no_signal or _("no model has a score on it")
        out = [_("No signal on {metric}: {why}; no model is ranked on it.").format(metric=label, why=why)]
        return [tidy(s) for s in out + [_("Coverage: {coverage}.").format(coverage=c) for _m, c in incomplete]] \
            + cmp.notes + res.notes
    b = cmp.summary(res.best)
    out = [_("Best on {metric}: {model}, {mean} [{low}, {high}] over {n} of {total} questions.").format(
        metric=label, model=b.model, mean=cmp._num(b.mean), low=cmp._num(b.low), high=cmp._num(b.high), n=b.n,
        total=b.total or cmp.n_queries)]
    ranked = sorted((s for s in scored if s.model != res.best and s.model not in res.low_coverage),
                    key=lambda s: -s.mean)
    out += [pair_sentence(cmp, res.best, s.model) for s in ranked]
    for s in scored:
        if s.model in res.low_coverage:
            out.append(_("{model} is not ranked on {metric}: {coverage}; its mean {mean} is over the questions it "
                         "survived. On the questions both scored: ").format(
                model=s.model, metric=label, coverage=cmp.coverage(s.model).split(": ", 1)[1], mean=cmp._num(s.mean))
                + pair_sentence(cmp, res.best, s.model))
    out += [_("Coverage: {coverage}.").format(coverage=c) for m, c in incomplete if m not in res.low_coverage]
    if cmp.not_scored:
        out.append(_("Not scored on {metric}: {models}.").format(metric=label, models=", ".join(cmp.not_scored)))
    hint = sample_size_hint(cmp)
    return [tidy(s) for s in out + ([hint] if hint else [])] + cmp.notes + res.notes


def sample_size_hint(cmp) -> str | None:
    """The smallest difference these queries detect (the best vs the runner-up, 80% power)."""
    res = cmp.result
    if res.best is None:
        return None
    others = sorted((s for s in res.models if s.n > 0 and s.model != res.best and s.model not in res.low_coverage),
                    key=lambda s: -s.mean)
    if not others:
        return None
    a, b = res.best, others[0].model
    mdd = cmp.mdd.get((a, b), cmp.mdd.get((b, a), math.nan))
    if math.isnan(mdd):
        return None
    n = res.pair(a, b).n
    return _("With {n} queries, a true difference smaller than about {size} in {metric} between {a} and {b} would "
             "likely go undetected (80% power, α = {alpha}); more queries narrow it (halving it takes four times as "
             "many).").format(n=n, size=cmp._num(mdd), metric=glossed(cmp.label), a=a, b=b, alpha=f"{res.alpha:g}")
