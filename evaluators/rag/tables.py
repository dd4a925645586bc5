"""Tables and charts of a RAG run for the page (and reports): no Streamlit here.

Every mean is shown with its coverage (scored / applicable rows), metrics that could not apply are
"n/a" (never 0), and the extractive generator is labelled as a baseline.

Usage:
    frame = metrics_frame(result.summary, run_stats(store, run_id))  # model, metric, mean, CI, n, total, …
    fig = metrics_figure(frame)                     # grouped bars per metric, one colour per model
    status = metric_status(summary)                 # which ran, which need a judge, how to enable
    ctx, scores, reasons = drilldown(row, active)   # one (model, question) row
"""

from __future__ import annotations

import pandas as pd

from evaluators.formatting import (
    NOT_RELEVANT,
    RELEVANT,
    display_frame,
    fmt_ci,
    fmt_int,
    fmt_score,
    fmt_usd,
    is_missing,
    missing,
)
from evaluators.rag.metrics import JUDGE_HELP, METRICS, display_label
from evaluators.rag.rows import rows_text
from evaluators.rag.scoring import explain
from rag.i18n import _


def _fmt(mean, n, total, low=None, high=None, missed: int = 0) -> str:
    if total == 0:
        return "n/a"
    ci = "" if is_missing(low) or is_missing(mean) else " " + fmt_ci(low, high)
    return fmt_score(mean, _("not scored")) + ci + f" ({n}/{total}" + (
        _(", {n} misses scored 0").format(n=missed) if missed else "") + ")"


def run_caption(run, summary: dict) -> str:
    """One line: status, generator (marked when it is the baseline), judge, rows, failures, calls, cost."""
    gen, usage = summary["generator"], summary.get("usage", {})
    return (_("Status **{status}**").format(status=run.status) + (" — " + run.error if run.error else "")
            + " · " + _("generator **{generator}**").format(generator=gen["label"])
            + (_(" (baseline)") if gen["baseline"] else "")
            + " · " + _("judge **{judge}**").format(judge=summary.get("judge") or _("none")) + " · "
            + rows_text(summary) + " · "
            + _("with failures {n} · {calls} LLM calls · {cost}").format(
                n=summary["failed_rows"], calls=fmt_int(usage.get("calls") or 0),
                cost=fmt_usd(usage.get("cost_usd") or 0)))


def _stat(stats, name: str, model: str):
    """The run's one ``ModelSummary`` for (metric, model) from ``run_stats``, or None."""
    cmp = stats.comparisons.get(name) if stats is not None else None
    s = next((s for s in cmp.result.models if s.model == model), None) if cmp else None
    return s if s is not None and s.n > 0 else None


def metrics_frame(summary: dict, stats=None) -> pd.DataFrame:
    """One row per (model, metric). With the run's ``RunStats`` the mean, its 95% CI and n are the
    ones every other view shows (coverage's total still comes from the summary: applicable rows)."""
    rows = []
    for model, ms in summary.get("metrics", {}).items():
        for name, v in ms.items():
            spec, s = METRICS.get(name), _stat(stats, name, model)
            mean, n = (s.mean, s.n) if s else (v["mean"], v["n"])
            low, high = (s.low, s.high) if s else (None, None)
            # rows the setup failed (nothing retrieved, no answer) count as misses scored 0 in the statistics
            missed = sum(stats.comparisons[name].misses.get(model, {}).values()) if s else 0
            rows.append({"model": model, "metric": name, "label": display_label(name, v.get("variant")),
                         "judged": bool(spec and spec.needs_judge), "mean": mean, "ci_low": low, "ci_high": high,
                         "n": n, "total": v["total"], "failed": v.get("failed", 0),
                         "not_applicable": v.get("not_applicable", 0), "missed": missed,
                         "coverage": n / v["total"] if v["total"] else None,
                         "display": _fmt(mean, n, v["total"], low, high, missed)})
    return pd.DataFrame(rows, columns=["model", "metric", "label", "judged", "mean", "ci_low", "ci_high", "n",
                                       "total", "failed", "not_applicable", "missed", "coverage", "display"])


def metrics_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Model × metric with ``mean (n/total)`` cells."""
    if frame.empty:
        return frame
    cols, models = list(dict.fromkeys(frame["label"])), list(dict.fromkeys(frame["model"]))
    table = frame.pivot(index="model", columns="label", values="display").reindex(models)[cols]
    return table.fillna(missing(_("not run for this model"))).astype(object)


def metrics_figure(frame: pd.DataFrame, baseline_note: str = ""):
    """Grouped bars: one group per metric, one bar per model, labelled with mean and coverage."""
    import plotly.express as px

    data = frame[frame["total"] > 0].copy()
    data["text"] = [("—" if m is None or m != m else f"{m:.2f}") + f"<br>{n}/{t}"
                    for m, n, t in zip(data["mean"], data["n"], data["total"])]
    data["mean"] = data["mean"].fillna(0.0)
    fig = px.bar(data, x="label", y="mean", color="model", barmode="group", text="text",
                 hover_data={"n": True, "total": True, "failed": True, "label": False},
                 labels={"label": _("metric"), "mean": _("mean score")})
    fig.update_traces(textposition="outside", cliponaxis=False)
    fig.update_layout(yaxis_range=[0, 1.15], height=420, margin=dict(t=40),
                      title=baseline_note or None, legend_title_text=_("retrieval model"))
    return fig


def metric_status(summary: dict) -> pd.DataFrame:
    """One line per metric: ran / skipped / not applicable, whether it needs a judge, and how to enable it."""
    active, skipped = summary.get("metrics_active", []), summary.get("metrics_skipped", {})
    na_everywhere = {n for n in active
                     if all(m.get(n, {}).get("total", 1) == 0 for m in summary.get("metrics", {}).values())}
    rows = []
    for name, spec in METRICS.items():
        if name in skipped:
            status, how = _("skipped"), _(JUDGE_HELP)
        elif name in na_everywhere:
            status, how = _("not applicable"), _("the questions lack {what}").format(what=_(" and ").join(
                {"reference": _("reference answers"), "reference_contexts": _("relevance judgments (qrels)")}[f]
                for f in spec.needs if f in ("reference", "reference_contexts")))
        elif name in active:
            status, how = _("ran"), ""
        else:
            status, how = _("not selected"), ""
        rows.append({_("metric"): spec.label, _("status"): status,
                     _("needs judge"): _("yes") if spec.needs_judge else _("no"),
                     _("what it measures"): _(spec.description), _("to enable"): how or missing()})
    return display_frame(pd.DataFrame(rows))


def question_frame(rows: list[dict], active: list[str]) -> pd.DataFrame:
    """One line per (model, question): the metric values as display text (3 decimals; an empty
    cell says why: n/a, failed, not scored), and ⚠ when something failed."""
    out = []
    for r in rows:
        line = {_("model"): r["model"], _("question_id"): r["question_id"], _("question"): r.get("question", ""),
                _("status"): "⚠ " + ", ".join(r["errors"]) if r.get("errors") else _("ok")}
        for m in active:
            line[METRICS[m].label] = _score_text(r, m)
        out.append(line)
    return display_frame(pd.DataFrame(out), {_("question"): _("no question text")})


def _score_text(row: dict, m: str) -> str:
    """One metric of one row: its score, "n/a", "— failed" or "— not scored"."""
    if (row.get("not_applicable") or {}).get(m):
        return "n/a"
    if (row.get("errors") or {}).get(m):
        return missing(_("failed"))
    return fmt_score((row.get("scores") or {}).get(m), _("not scored"))



def drilldown(row: dict, active: list[str]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(retrieved contexts with ✅/❎, each metric's score / n/a / error, the judge's reasons)."""
    rel, texts = set(row.get("relevant_ids") or []), row.get("contexts") or []
    ctx = pd.DataFrame([{_("rank"): i, _("relevant"): RELEVANT if d in rel else NOT_RELEVANT, "id": d,
                         _("text"): texts[i - 1] if i <= len(texts) else ""}
                        for i, d in enumerate(row.get("retrieved_ids") or [], 1)])
    scores = []
    for m in active:
        na, err = (row.get("not_applicable") or {}).get(m), (row.get("errors") or {}).get(m)
        scores.append({_("metric"): display_label(m, (row.get("variants") or {}).get(m)),
                       _("score"): _score_text(row, m),
                       _("note"): na or (_("failed: {error}").format(error=_(err)) if err else "")})
    if (row.get("errors") or {}).get("generation"):
        scores.append({_("metric"): _("generation"), _("score"): missing(_("no answer")),
                       _("note"): row["errors"]["generation"]})
    reasons = [{"metric": METRICS[m].label, **x} for m in active if m in (row.get("reasons") or {})
               for x in explain(row["reasons"][m])]
    headers = {"metric": _("metric"), "step": _("step"), "item": _("item"), "verdict": _("verdict"),
               "reason": _("reason")}
    reasons = pd.DataFrame(reasons, columns=list(headers)).rename(columns=headers)
    return (display_frame(ctx, {_("text"): _("no context text")}), display_frame(pd.DataFrame(scores)),
            display_frame(reasons, {_("reason"): _("no reason given")}))

