"""What each stored row contributes to a metric: a score, a miss (the setup failed: scored 0), or nothing
(the evaluation failed: left out, and the model's coverage drops), and how coverage reads beside a mean.

Why: a RAG row whose retriever found no context has no context precision. Dropping it let a model that
failed 24 of 30 questions be "best" on the 6 it survived. A failure of the setup under test (nothing
retrieved: ``evaluators.rag.rows.MISS_ERRORS``; a retrieval that returned no document) is a miss and scores
0, as trec_eval scores an unanswered query (``-c``); any other failure (the judge timed out, its reply did
not parse, the generator was unreachable) is left out, the model's coverage says so, and a model with lower
coverage is never ranked.

Usage:
    value, miss, failure = row_outcome(row, "context_precision")
    coverage_text("bm25", n=6, total=30, misses={}, failures={"judge timeout": 24})
    # "bm25: 6 of 30 questions scored; 24 failed: judge timeout"
    misses, failures = outcome_counts(rows_of_one_model, "context_precision")   # {reason: rows}, twice
"""

from __future__ import annotations

import math

from evaluators.rag.rows import miss_reason
from rag.i18n import N_, _

NO_DOCUMENT = N_("no document retrieved")   # a retrieval row whose ranking is empty (already scored 0)
_REASON_CHARS = 90


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def row_outcome(row: dict, metric: str) -> tuple[float, str | None, str | None]:
    """(value, miss reason, failure reason) of one stored row on one metric: a score (a miss when the
    ranking was empty); 0.0 and why for a setup failure; NaN and why for an evaluation failure."""
    val = (row.get("scores") or {}).get(metric)
    if _number(val):
        return float(val), NO_DOCUMENT if row.get("ranking") == [] else None, None
    miss = miss_reason(row, metric)
    if miss:
        return 0.0, miss, None
    err = (row.get("errors") or {}).get(metric)
    why = str(err).strip().rstrip(".") if err else "not scored"   # the sentence it goes into ends it
    return math.nan, None, why if len(why) <= _REASON_CHARS else why[:_REASON_CHARS - 1] + "…"


def _counts(reasons: dict[str, int]) -> str:
    # a reason of ours is a catalog key (translated); an error's own text passes through as it was stored
    return _("; ").join(_("{n} {reason}").format(n=n, reason=_(why))
                        for why, n in sorted(reasons.items(), key=lambda kv: -kv[1]))


def coverage_text(model: str, n: int, total: int, misses: dict[str, int] | None = None,
                  failures: dict[str, int] | None = None) -> str:
    """"bm25: 6 of 30 questions scored; 24 failed, left out: 24 judge timeout" / "bm25: 30 of 30 questions
    scored (misses scored 0: 24 no contexts retrieved)"."""
    return f"{model}: " + counts_text(n, total, misses, failures)  # "model: " is split on


def counts_text(n: int, total: int, misses: dict[str, int] | None = None,
                failures: dict[str, int] | None = None) -> str:
    """``coverage_text`` without the model: "30 of 30 questions scored (misses scored 0: 24 no contexts
    retrieved)", for a line that names the model already (the CLI's per-metric lines)."""
    text = _("{n} of {total} questions scored").format(n=n, total=total)
    missed = sum((misses or {}).values())
    if missed:
        text += _(" (misses scored 0: {reasons})").format(reasons=_counts(misses))
    failed = sum((failures or {}).values())
    if failed:
        text += _("; {failed} failed, left out: {reasons}").format(failed=failed, reasons=_counts(failures))
    unseen = total - n - failed
    if unseen > 0:
        text += _("; {unseen} not run for this model").format(unseen=unseen)
    return text


def outcome_counts(rows: list[dict], metric: str) -> tuple[dict[str, int], dict[str, int]]:
    """(misses, failures) ``{reason: rows}`` of one model's rows on ``metric`` (rows where it does not
    apply left out), as the statistics count them: what ``coverage_text`` says beside the mean."""
    misses: dict[str, int] = {}
    failures: dict[str, int] = {}
    for row in rows:
        if metric in (row.get("not_applicable") or {}):
            continue
        _value, miss, failure = row_outcome(row, metric)
        for book, why in ((misses, miss), (failures, failure)):
            if why:
                book[why] = book.get(why, 0) + 1
    return misses, failures
