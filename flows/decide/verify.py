"""Step 6: checks that keep the decision true after launch, and re-checking it later.

* the gate: ``cli.py gate`` commands with thresholds taken from the decision (the winner's 95% CI
  lower bound, rounded down to 3 decimals, and the brief's p95), run once now so the record says
  whether they pass on the runs they come from;
* a regression file: per judged question, the winner's expected top documents (the relevant ones it
  ranked in its top k); ``regression_failures`` says which questions lose one of them in a new ranking;
* re-check: the same brief later (new models, new data): what changed and whether the decision holds.

Usage:
    v = verification(store, record, ev, ds, brief)
    v["gates"][0]["command"], v["gates"][0]["passes"]
    regression_failures(v["regression"], new_rankings)   # [] when every expected document is still there
    recheck(old_record_json, new_record_json)["holds"]
"""

from __future__ import annotations

import math

from flows.decide.brief import Brief
from flows.decide.evaluate import Evaluation
from rag.data.dataset import Dataset
from rag.i18n import _


def _floor(x: float, digits: int = 3) -> float:
    return math.floor(x * 10 ** digits) / 10 ** digits


def gates(store, winner: str | None, ev: Evaluation, brief: Brief) -> list[dict]:
    from evaluators.report.gate import check_gate

    if not winner or not ev.retrieval_run:
        return []
    q = ev.quality[winner]
    out = []
    low = _floor(q["ci_low"])
    specs = [(ev.retrieval_run, ev.metric, {"minimum": brief.min_quality, "ci_low": low},
              f"--min {brief.min_quality:g} --ci-low {low:g}")]
    if ev.load_run and brief.p95_ms is not None:
        specs.append((ev.load_run, "p95_ms", {"maximum": brief.p95_ms}, f"--max {brief.p95_ms:g}"))
    for run_id, metric, kw, flags in specs:
        res = check_gate(store, store.get(run_id), metric, model=winner, **kw)
        out.append({"command": f"python cli.py gate --run RUN --metric {metric} --model {winner} {flags}",
                    "checked_on": run_id, "passes": res.ok, "message": res.message})
    return out


def regression_file(ds: Dataset, store, ev: Evaluation, winner: str | None, k: int) -> dict:
    """Questions and the documents the winner must keep in its top k (relevant ones it found)."""
    if not winner or not ev.retrieval_run:
        return {}
    rows = {r["item_id"]: r for r in store.rows(ev.retrieval_run, model=winner)}
    questions = []
    for q in ds.judged_queries:
        ranking = [d for d, _ in (rows.get(q.id, {}).get("ranking") or [])][:k]
        rel = ds.relevant(q.id)
        expected = [d for d in ranking if rel.get(d, 0) > 0]
        if expected:
            questions.append({"id": q.id, "question": q.text, "expected_top": expected, "top": ranking})
    return {"dataset": ds.name, "dataset_source": ds.source, "model": winner, "k": k, "run": ev.retrieval_run,
            "questions": questions,
            "rule": _("each expected_top document must stay in the model's top {k}").format(k=k)}


def regression_failures(regression: dict, rankings: dict[str, list[str]]) -> list[str]:
    """One line per question whose new top k lost an expected document (``rankings``: query id → doc ids)."""
    k = regression.get("k", 10)
    out = []
    for q in regression.get("questions", []):
        top = rankings.get(q["id"], [])[:k]
        lost = [d for d in q["expected_top"] if d not in top]
        if lost:
            out.append(_("{id} ({question}): lost {documents}").format(id=q["id"], question=q["question"][:60],
                                                                      documents=", ".join(lost)))
    return out


def check_regression(regression: dict, ds: Dataset, retriever, model: str | None = None) -> dict:
    """Run a regression file against the collection of ``model`` (default: the file's) on ``ds``: every
    question searched at the file's k (the collection built or reused through the store), and the
    questions that lost an expected document. A question the dataset no longer has counts as lost."""
    model = model or regression["model"]
    k = int(regression.get("k", 10))
    found = retriever.search_all(ds, [model], k=k)
    rankings = {q: [d for d, _ in hits] for q, hits in found.rankings[model].items()}
    questions = regression.get("questions", [])
    gone = [_("{id} ({question}): not a judged question of {dataset}").format(
        id=q["id"], question=q["question"][:60], dataset=ds.name) for q in questions if q["id"] not in rankings]
    lost = regression_failures({**regression, "questions": [q for q in questions if q["id"] in rankings]}, rankings)
    return {"model": model, "k": k, "collection": found.collections.get(model), "questions": len(questions),
            "failures": gone + lost, "passes": not (gone or lost)}


def recheck(old: dict, new: dict) -> dict:
    """What changed between two decision records of the same brief, and whether the decision holds."""
    ob, nb = old.get("brief") or {}, new.get("brief") or {}
    oc = {c["model"]: c for c in old.get("candidates", [])}
    nc = {c["model"]: c for c in new.get("candidates", [])}
    changes = []
    for m in nc.keys() & oc.keys():
        a, b = oc[m]["quality"]["mean"], nc[m]["quality"]["mean"]
        if a is not None and b is not None and abs(a - b) > 1e-9:
            changes.append({"model": m, "quality_before": a, "quality_after": b})
        if oc[m]["passes"] != nc[m]["passes"]:
            changes.append({"model": m, "passes_before": oc[m]["passes"], "passes_after": nc[m]["passes"]})
    holds = old.get("recommended") == new.get("recommended")
    brief_changed = {k: [ob.get(k), nb.get(k)] for k in sorted(ob.keys() | nb.keys()) if ob.get(k) != nb.get(k)}
    data_changed = (old.get("profile") or {}).get("dataset_hash") != (new.get("profile") or {}).get("dataset_hash")
    parts = [_("the decision holds: {model}").format(model=new.get("recommended")) if holds else
             _("the decision changed: {before} → {after}").format(before=old.get("recommended"),
                                                                 after=new.get("recommended"))]
    added, removed = sorted(nc.keys() - oc.keys()), sorted(oc.keys() - nc.keys())
    if added:
        parts.append(_("new candidates {models}").format(models=", ".join(added)))
    if removed:
        parts.append(_("no longer evaluated {models}").format(models=", ".join(removed)))
    if data_changed:
        parts.append(_("the data changed"))
    if brief_changed:
        parts.append(_("the brief changed ({fields})").format(fields=", ".join(brief_changed)))
    summary = _("; ").join(parts)
    return {"holds": holds, "before": old.get("recommended"), "after": new.get("recommended"),
            "added": added, "removed": removed, "changes": changes, "brief_changed": brief_changed,
            "data_changed": data_changed, "summary": summary}
