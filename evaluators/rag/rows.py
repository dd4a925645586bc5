"""A RAG run's rows and summary: the typed row, whether it failed, and the per-model aggregates.

Split from ``evaluators.rag.job`` (which runs the job) because the History page, the CLI, the
demo and the report read these without running anything. Rows are ``rag.runs.models.RagRow``:
metric values in ``scores``, failures in ``errors``, "could not apply" in ``not_applicable``.

Usage:
    summary = summarize(store.rows(run_id), cfg, meter, prices, expected=12)
    summary["metrics"]["bm25"]["rouge_l"]     # {"mean": 0.16, "n": 4, "total": 4, ...}
    rows_text(summary)                        # "rows 4/4"
"""

from __future__ import annotations

import math

from evaluators.rag.cost import PriceTable, UsageMeter
from evaluators.rag.metrics import BY_TEXT, METRICS, split_metrics
from rag.i18n import N_, _
from rag.models.generators import generator_kind, generator_label
from rag.models.llm import parse_llm
from rag.runs.models import RagMetric, RagRow, RagSummary


def _get(row: dict | RagRow, name: str):
    return getattr(row, name) if isinstance(row, RagRow) else row.get(name)


def second_errors(row: dict | RagRow) -> dict[str, str]:
    """The second judge's failed metrics (``RagRow.second_judge["errors"]``; None there means it scored)."""
    return {m: e for m, e in ((_get(row, "second_judge") or {}).get("errors") or {}).items() if e}


def row_failed(row: dict | RagRow) -> bool:
    """A failed metric, generation or second-judge call: what retry-failed re-asks."""
    return bool(_get(row, "errors")) or bool(second_errors(row))


def first_error(rows: list[dict]) -> str:
    """The most frequent failure among the rows, for one line: a failed generation first (the metrics
    that needed its answer failed because of it), else ``METRIC: reason``."""
    counts: dict[tuple[bool, str], int] = {}
    for r in rows:
        failures = [(n, w) for n, w in (_get(r, "errors") or {}).items()]
        for name, why in failures + [(_("second judge: {metric}").format(metric=n), w)
                                     for n, w in second_errors(r).items()]:
            key = (name == "generation", why if name == "generation" else f"{name}: {why}")
            counts[key] = counts.get(key, 0) + 1
    return max(counts, key=lambda k: (k[0], counts[k]))[1] if counts else _("unknown reason")


# Errors the scorer (``evaluators.rag.scoring``) records when the setup under test itself failed: a miss,
# scored 0 like an unanswered query in ``trec_eval -c``, never an absence (issue 22). A failed generation is
# not here: an unreachable or timed-out LLM says more about the day than the setup, so its rows are left
# out and lower the model's coverage (a model of lower coverage is never ranked).
MISS_ERRORS = {"no contexts were retrieved": N_("no contexts retrieved")}


def miss_reason(row: dict | RagRow, name: str) -> str | None:
    """Why this row counts as a miss (scored 0) on metric ``name``, or None."""
    return MISS_ERRORS.get((_get(row, "errors") or {}).get(name))


def summarize(rows: list[dict], cfg, meter: UsageMeter, prices: PriceTable, expected: int | None) -> dict:
    """Per model and metric: mean over scored rows, misses (nothing retrieved) scored 0, with its coverage
    (n scored / total applicable) and how many of the n were misses."""
    judge = parse_llm(cfg.judge, cfg.judge_base_url)
    active, skipped = split_metrics(cfg.metrics, judge)
    metrics: dict[str, dict[str, dict]] = {}
    for model in cfg.models:
        mine = [r for r in rows if r["model"] == model]
        metrics[model] = {}
        for name in active:
            applicable = [r for r in mine if name not in (r.get("not_applicable") or {})]
            vals = [v for r in applicable if isinstance(v := r["scores"].get(name), (int, float)) and math.isfinite(v)]
            missed = sum(1 for r in applicable if miss_reason(r, name))
            vals += [0.0] * missed
            agg = RagMetric(mean=sum(vals) / len(vals) if vals else None, n=len(vals), total=len(applicable),
                            not_applicable=len(mine) - len(applicable),
                            failed=sum(1 for r in applicable if name in (r.get("errors") or {})) - missed,
                            **({"missed": missed} if missed else {}),   # kept out of rows that had none
                            variant=variant_summary(applicable, name) if METRICS[name].by_id else None)
            metrics[model][name] = agg.model_dump(exclude=set() if METRICS[name].by_id else {"variant"})
    kind = generator_kind(cfg.generator)
    out = {"metrics": metrics, "metrics_active": active, "metrics_skipped": skipped,
           "rows": len(rows), "expected_rows": expected, "failed_rows": sum(row_failed(r) for r in rows),
           "generator": {"spec": cfg.generator, "label": generator_label(cfg.generator, cfg.generator_base_url),
                         "baseline": kind.is_baseline},
           "judge": judge.label if judge else None, "usage": meter.to_dict(prices), "prices": prices.to_json()}
    RagSummary.model_validate(out)  # the shape readers rely on; stored as built (no null "variant" keys)
    return out


def usage_delta(row: RagRow, prev: dict) -> dict:
    """A retried row stores its total usage; the meter only needs what this attempt added."""
    out = {}
    for model, u in row.usage.items():
        p = prev.get("usage", {}).get(model, {})
        out[model] = {k: u[k] - p.get(k, 0) for k in u}
    return out


def variant_summary(rows: list[dict], name: str) -> str | None:
    """"by id", "by text", or "by id 12 · by text 4" when a question set mixes rows with and without ids.
    Rows stored before variants were recorded ran by text."""
    counts: dict[str, int] = {}
    for r in rows:
        v = (r.get("variants") or {}).get(name, BY_TEXT)
        counts[v] = counts.get(v, 0) + 1
    if len(counts) <= 1:
        return next(iter(counts), None)
    return " · ".join(f"{v} {n}" for v, n in sorted(counts.items()))


def rows_text(summary: dict) -> str:
    """``rows 5/12``, or ``rows 5/unknown (the question count is unknown: ...)`` when it cannot be counted."""
    expected = summary.get("expected_rows")
    if expected is None:
        return _("rows {n}/unknown ({why})").format(n=summary["rows"], why=summary.get("expected_rows_unknown")
                                                    or _("not recorded"))
    return _("rows {n}/{total}").format(n=summary["rows"], total=expected)

