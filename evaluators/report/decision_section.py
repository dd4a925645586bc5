"""The report's section of a decision run (``RunKind.section`` of decision): the record as tables.

It reads only the run's stored record (``flows.decide`` wrote it from the retrieval, load and plan
numbers), so the report shows the same values as ``decision.json`` and the Decide page.
"""

from __future__ import annotations

import pandas as pd

from evaluators.report.sections import html_table
from rag.i18n import N_, _, tidy

CONSTRAINTS = (N_("quality"), N_("p95_ms"), N_("cost_month_usd"), N_("one_off_usd"), N_("memory_mb"))  # catalog keys


def _ci(q: dict) -> str:
    if q.get("mean") is None:
        return _("not measured")
    return f"{q['mean']:.3f} [{q['ci_low']:.3f}, {q['ci_high']:.3f}]"


def candidates_frame(record: dict) -> pd.DataFrame:
    """One row per candidate: quality with CI, p95, monthly cost, memory, pass/fail and why."""
    rows = [{N_("model"): c["model"], _("{metric} [95% CI]").format(metric=c["quality"].get("metric", _("quality"))):
             _ci(c["quality"]), N_("p95 ms"): c.get("p95_ms"), N_("$/month"): c.get("cost_month_usd"),
             N_("memory MB"): c.get("memory_mb"), N_("passes"): _("✅ yes") if c["passes"] else _("❌ no"),
             N_("failed"): "; ".join(c["failed"]) or "—"}
            for c in record.get("candidates", [])]
    return pd.DataFrame(rows)


def _value(c: dict) -> str:
    v = c.get("value")
    if v is None:
        return _("not measured")
    return f"{v:.3f}" if c["constraint"] == "quality" else f"{v:g}"


def checks_frame(record: dict) -> pd.DataFrame:
    """Every candidate × every constraint of the brief: the limit, the measured value, its CI, pass or fail."""
    rows = []
    for c in record.get("candidates", []):
        for k in c.get("checks", []):
            ci = k.get("ci")
            rows.append({"model": c["model"], "constraint": _(k["constraint"]),
                         "limit": (f"≥ {k['limit']:g}" if k["constraint"] == "quality" else f"≤ {k['limit']:g}"),
                         "value": _value(k),
                         "95% CI": (f"[{ci[0]:.3f}, {ci[1]:.3f}]" if ci and ci[0] is not None else "—"),
                         "passes": _("✅ yes") if k["passes"] else _("❌ no"), "why": k["reason"] or "—"})
    return pd.DataFrame(rows, columns=[N_("model"), N_("constraint"), N_("limit"), N_("value"), N_("95% CI"),
                                       N_("passes"), N_("why")])


def exclusions_frame(record: dict) -> pd.DataFrame:
    rows = [{"model": c["model"], "excluded because": c["excluded"]}
            for c in (record.get("shortlist") or {}).get("candidates", []) if c.get("excluded")]
    return pd.DataFrame(rows, columns=[N_("model"), N_("excluded because")])


def decision_section(store, group: list, **_options) -> tuple[dict, list]:
    run = group[0]
    s = run.summary or {}
    record = s.get("record") or {}
    rec = s.get("recommended")
    sentences = [tidy(_("Recommended: {model}. {reason}").format(model=rec, reason=s.get("reason", "")) if rec else
                      _("No recommendation: {reason}").format(reason=s.get("reason", "")))]
    if s.get("runner_up"):
        sentences.append(tidy(_("Runner-up: {model}. {change}").format(model=s["runner_up"],
                                                                       change=s.get("what_would_change", ""))))
    agreement = (record.get("evaluation") or {}).get("agreement") or {}
    if agreement.get("note"):
        sentences.append(_("Public benchmark vs your data: {note}.").format(note=agreement["note"]))
    tables = [(_("Every candidate against the brief"), html_table(candidates_frame(record))),
              (_("Every constraint, per candidate"), html_table(checks_frame(record)))]
    excl = exclusions_frame(record)
    if not excl.empty:
        tables.append((_("Excluded in the shortlist"), html_table(excl)))
    notes = [tidy(_("{title}: {value}. {meaning}").format(**f)) for f in (record.get("profile") or {}).get(
        "findings", []) if f.get("severity") == "warning"]
    return {"title": _("Decision · {dataset}").format(dataset=run.dataset),
            "intro": _("The brief, every candidate against it, the recommendation."),
            "sentences": sentences, "tables": tables, "figures": [], "examples": [], "notes": notes,
            "headline": sentences[0]}, []
