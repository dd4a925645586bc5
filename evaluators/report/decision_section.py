"""The report's section of a decision run (``RunKind.section`` of decision): the record as tables.

It reads only the run's stored record (``flows.decide`` wrote it from the retrieval, load and plan
numbers), so the report shows the same values as ``decision.json`` and the Decide page.
"""

from __future__ import annotations

import pandas as pd

from evaluators.report.sections import html_table


def _ci(q: dict) -> str:
    if q.get("mean") is None:
        return "not measured"
    return f"{q['mean']:.3f} [{q['ci_low']:.3f}, {q['ci_high']:.3f}]"


def candidates_frame(record: dict) -> pd.DataFrame:
    """One row per candidate: quality with CI, p95, monthly cost, memory, pass/fail and why."""
    rows = [{"model": c["model"], f"{c['quality'].get('metric', 'quality')} [95% CI]": _ci(c["quality"]),
             "p95 ms": c.get("p95_ms"), "$/month": c.get("cost_month_usd"), "memory MB": c.get("memory_mb"),
             "passes": "✅ yes" if c["passes"] else "❌ no", "failed": "; ".join(c["failed"]) or "—"}
            for c in record.get("candidates", [])]
    return pd.DataFrame(rows)


def _value(c: dict) -> str:
    v = c.get("value")
    if v is None:
        return "not measured"
    return f"{v:.3f}" if c["constraint"] == "quality" else f"{v:g}"


def checks_frame(record: dict) -> pd.DataFrame:
    """Every candidate × every constraint of the brief: the limit, the measured value, its CI, pass or fail."""
    rows = []
    for c in record.get("candidates", []):
        for k in c.get("checks", []):
            ci = k.get("ci")
            rows.append({"model": c["model"], "constraint": k["constraint"],
                         "limit": (f"≥ {k['limit']:g}" if k["constraint"] == "quality" else f"≤ {k['limit']:g}"),
                         "value": _value(k),
                         "95% CI": (f"[{ci[0]:.3f}, {ci[1]:.3f}]" if ci and ci[0] is not None else "—"),
                         "passes": "✅ yes" if k["passes"] else "❌ no", "why": k["reason"] or "—"})
    return pd.DataFrame(rows, columns=["model", "constraint", "limit", "value", "95% CI", "passes", "why"])


def exclusions_frame(record: dict) -> pd.DataFrame:
    rows = [{"model": c["model"], "excluded because": c["excluded"]}
            for c in (record.get("shortlist") or {}).get("candidates", []) if c.get("excluded")]
    return pd.DataFrame(rows, columns=["model", "excluded because"])


def decision_section(store, group: list, **_options) -> tuple[dict, list]:
    run = group[0]
    s = run.summary or {}
    record = s.get("record") or {}
    rec = s.get("recommended")
    sentences = [f"Recommended: {rec}. {s.get('reason', '')}" if rec else f"No recommendation: {s.get('reason', '')}"]
    if s.get("runner_up"):
        sentences.append(f"Runner-up: {s['runner_up']}. {s.get('what_would_change', '')}")
    agreement = (record.get("evaluation") or {}).get("agreement") or {}
    if agreement.get("note"):
        sentences.append(f"Public benchmark vs your data: {agreement['note']}.")
    tables = [("Every candidate against the brief", html_table(candidates_frame(record))),
              ("Every constraint, per candidate", html_table(checks_frame(record)))]
    excl = exclusions_frame(record)
    if not excl.empty:
        tables.append(("Excluded in the shortlist", html_table(excl)))
    notes = [f"{f['title']}: {f['value']}. {f['meaning']}" for f in (record.get("profile") or {}).get("findings", [])
             if f.get("severity") == "warning"]
    return {"title": f"Decision · {run.dataset}", "intro": "The brief, every candidate against it, the recommendation.",
            "sentences": sentences, "tables": tables, "figures": [], "examples": [], "notes": notes,
            "headline": sentences[0]}, []
