"""The six steps of a decision record as the Decide page and the CLI show them: a title, the step's
result in one line, and the expert pages that show it in full.

Why from the record and not from the live progress lines: the record is what is saved and reloaded
(a page switch, History, ``decision.json``), so what the page shows after a run is rebuilt from it,
never from state that exists only while the run is on screen.

Usage:
    for s in step_results(record):
        print(s["title"], s["result"], s["pages"])
"""

from __future__ import annotations

from rag.i18n import N_, _, ngettext

# flows.decide.brief.WHERE's texts (English there: the brief's record), shown here with _()
WHERE_TEXTS = (N_("local models only (open weights, data stays here)"), N_("local models and hosted APIs"))

STEP_INFO = {  # step -> (title, expert pages that show its result in full); a new step is one entry
    "brief": (N_("1 · Brief"), []),
    "data": (N_("2 · Data"), ["pages/1_Data.py"]),
    "shortlist": (N_("3 · Shortlist"), ["pages/2_Index.py"]),
    "evaluation": (N_("4 · Evaluation"), ["pages/3_Retrieval.py", "pages/4_RAG_quality.py", "pages/5_Load_test.py"]),
    "plan": (N_("5 · Plan"), ["pages/7_Sweep.py"]),
    "verification": (N_("6 · Verification"), ["pages/6_History.py"]),
}


def _q(q: dict) -> str:
    return _("not measured") if q.get("mean") is None else f"{q['mean']:.3f} [{q['ci_low']:.3f}, {q['ci_high']:.3f}]"


def _brief(r: dict) -> str:
    from flows.decide.brief import WHERE, Brief

    b = Brief(**r["brief"])
    license_ = _("licenses allowing commercial use") if b.commercial else _("any license")
    return f"{b.task}; " + "; ".join(text for _k, text in b.constraints()) + f"; {_(WHERE[b.where])}; {license_}"


def _data(r: dict) -> str:
    p = r["profile"]
    warn = [f["title"] for f in p.get("findings", []) if f.get("severity") == "warning"]
    return (_("{documents} documents, {questions} judged questions; {languages}").format(
        documents=f"{p['documents']:,}", questions=f"{p['judged_queries']:,}", languages=p["language_summary"])
            + (_("; warnings: {titles}").format(titles=", ".join(warn)) if warn else _("; no warning")))


def _shortlist(r: dict) -> str:
    cands = r["shortlist"]["candidates"]
    kept = [c["model"] for c in cands if c["kept"]]
    out = [c for c in cands if not c["kept"]]
    survey = len(r["shortlist"].get("survey") or [])
    return (_("{n} kept ({models})").format(n=len(kept), models=", ".join(kept) or _("none"))
            + (_("; excluded: {models}").format(models="; ".join(c["model"] + ": " + c["excluded"] for c in out))
               if out else "")
            + _("; {n} more from the catalog survey").format(n=survey))


def _evaluation(r: dict) -> str:
    ev = r["evaluation"]
    parts = [f"{ev['metric']}: " + " · ".join(f"{m} {_q(q)}" for m, q in ev["quality"].items())]
    p95 = {m: v for m, v in ev["p95_ms"].items() if v is not None}
    if p95:
        parts.append("p95 " + " · ".join(f"{m} {v:g} ms" for m, v in p95.items()))
    parts += [f"{_(s['step'])} {_(s['status'])}: {s['reason']}" for s in ev["steps"] if s["status"] != "done"]
    return "; ".join(parts)


def _plan(r: dict) -> str:
    return " · ".join(f"{m}: {p['index_type']}, {p['memory_mb']:g} MB, "
                      + (_("cost unknown") if p.get("cost_month_usd") is None
                         else _("${cost}/month").format(cost=f"{p['cost_month_usd']:g}"))
                      + f", Milvus {p['milvus']}" for m, p in r["plans"].items())


def _verification(r: dict) -> str:
    v = r["verification"]
    parts = [("✅ " if g["passes"] else "❌ ") + g["command"].split(" --model")[0].split("--metric ")[-1]
             + _(" gate on {run}").format(run=g["checked_on"]) for g in v.get("gates", [])]
    reg = v.get("regression") or {}
    if reg:
        parts.append(_("regression file: {questions}, top {k} of {model}").format(
            questions=ngettext("{n} question", "{n} questions", len(reg["questions"])).format(
                n=len(reg["questions"])), k=reg["k"], model=reg["model"]))
    if "recheck" in v:
        parts.append(_("re-check: {summary}").format(summary=v["recheck"]["summary"]))
    return "; ".join(parts) or _("no gate (no recommendation)")


RESULTS = {"brief": _brief, "data": _data, "shortlist": _shortlist, "evaluation": _evaluation, "plan": _plan,
           "verification": _verification}


def _status(step: str, r: dict) -> str:
    """"failed" when a job of the evaluation failed or a gate does not pass; else "done"."""
    if step == "evaluation" and any(s["status"] == "failed" for s in r["evaluation"]["steps"]):
        return "failed"
    if step == "verification" and not all(g["passes"] for g in r["verification"].get("gates", [])):
        return "failed"
    return "done"


def step_results(record: dict) -> list[dict]:
    """One entry per step: ``step``, ``title``, ``status``, ``result`` (one line), ``pages`` (expert pages)."""
    return [{"step": s, "title": t, "status": _status(s, record), "result": RESULTS[s](record), "pages": pages}
            for s, (t, pages) in STEP_INFO.items()]
