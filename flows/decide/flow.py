"""The six steps as one flow: brief → data → shortlist → evaluation → plan → verification → record.

``run_decide`` calls each step's module in order, reports progress per step, and stores the decision
as a ``decision`` run (its rows: one per candidate against every constraint; its summary: the
recommendation and the whole record), so History lists it, the report has a section for it and a
later re-check can compare against it. A step that fails is recorded with its reason; the record says
what could not be measured rather than inventing it.

Usage:
    with Retriever() as wb:
        record = run_decide(load_sample(), Brief(), ["minilm", "bm25", "hybrid"], wb, RunStore.default())
    record["recommended"], record["reason"], record["run_id"]
"""

from __future__ import annotations

from collections.abc import Callable

from flows.decide.analysis import analyse
from flows.decide.brief import Brief
from flows.decide.evaluate import LoadTest, evaluate
from flows.decide.plan import FLAT_MAX_DOCS, plan_candidate
from flows.decide.record import decide
from flows.decide.shortlist import shortlist
from flows.decide.verify import gates, recheck, regression_file
from rag.data.dataset import Dataset
from rag.i18n import _, language
from rag.runs import RunStore
from rag.runs.models import DecisionRow, DecisionSummary

STEPS = ("brief", "data", "shortlist", "evaluation", "plan", "verification", "record")
Progress = Callable[[str, str, str], None]   # step, status ("running"/"done"/"failed"/"skipped"), detail


def run_decide(ds: Dataset, brief: Brief, models: list[str] | None, retriever, store: RunStore | None = None,
               progress: Progress | None = None, load_test: LoadTest | None = None, mteb_cache=None,
               previous: dict | None = None, settings=None, with_survey: bool = True,
               reuse: dict[str, str] | None = None, flat_max_docs: int = FLAT_MAX_DOCS,
               lang: str | None = None) -> dict:
    """Every step on ``ds``; returns the decision record (also stored as a ``decision`` run). ``reuse``:
    RAG / load runs already made on this data (``evaluate``); ``flat_max_docs``: where HNSW is proposed;
    ``lang``: the language of the record's sentences (reason, what would change; default: the caller's)."""
    with language(lang):
        return _run_decide(ds, brief, models, retriever, store, progress, load_test, mteb_cache, previous, settings,
                           with_survey, reuse, flat_max_docs)


def _run_decide(ds: Dataset, brief: Brief, models: list[str] | None, retriever, store: RunStore | None = None,
                progress: Progress | None = None, load_test: LoadTest | None = None, mteb_cache=None,
                previous: dict | None = None, settings=None, with_survey: bool = True,
                reuse: dict[str, str] | None = None, flat_max_docs: int = FLAT_MAX_DOCS) -> dict:
    store = store or RunStore.default()
    say = progress or (lambda step, status, detail: None)
    say("brief", "done", ", ".join(text for _k, text in brief.constraints()))
    say("data", "running", "")
    a = analyse(ds)
    say("data", "done", a.profile.summary())
    say("shortlist", "running", "")
    sl = shortlist(brief, a, models, mteb_cache, with_survey)
    kept = [c.key for c in sl.kept]
    say("shortlist", "done", _("{kept} kept: {models}; {excluded} excluded").format(
        kept=len(kept), models=", ".join(kept) or _("none"), excluded=len(sl.candidates) - len(kept)))
    if not kept:
        raise ValueError(_("no candidate passes the shortlist: {reasons}").format(
            reasons="; ".join(f"{c.key}: {c.excluded}" for c in sl.candidates)))
    say("evaluation", "running", "")
    ev = evaluate(ds, brief, kept, retriever, store, sl.public.scores, load_test,
                  lambda step, status, detail: say("evaluation", "running", f"{_(step)} {_(status)} {detail}".strip()),
                  settings, reuse)
    failed = [s for s in ev.steps if s["status"] == "failed"]
    say("evaluation", "failed" if not ev.retrieval_run else "done",
        "; ".join(f"{_(s['step'])}: {s['reason']}" for s in failed)
        or _("runs {retrieval}, {load}").format(retrieval=ev.retrieval_run, load=ev.load_run))
    if not ev.retrieval_run:
        raise RuntimeError(_("the retrieval evaluation failed: {reason}").format(
            reason=failed[0]["reason"] if failed else _("unknown")))
    say("plan", "running", "")
    info = {c.key: c.info for c in sl.candidates}
    run = store.get(ev.retrieval_run)
    plans = {m: plan_candidate(m, brief, a, ds, run, store, info.get(m), retriever, flat_max_docs) for m in kept}
    say("plan", "done", _("{n} plans").format(n=len(plans)))
    decision = decide(brief, ev, plans, kept)
    say("verification", "running", "")
    verification = {"gates": gates(store, decision["recommended"], ev, brief),
                    "regression": regression_file(ds, store, ev, decision["recommended"], brief.k)}
    profile = {**a.to_json(), "dataset_hash": ds.content_hash()}
    record = {"brief": brief.to_json(), "profile": profile, "shortlist": sl.to_json(), "evaluation": ev.to_json(),
              "plans": plans, **decision, "verification": verification}
    if previous:
        verification["recheck"] = recheck(previous, record)
    say("verification", "done", "; ".join(g["message"] for g in verification["gates"]) or _("no gate (no winner)"))
    record["run_id"] = save_decision(store, ds, brief, record, kept)
    say("record", "done", _("run {run}: recommended {model}").format(run=record["run_id"], model=record["recommended"])
        if record["recommended"] else _("run {run}: {reason}").format(run=record["run_id"], reason=record["reason"]))
    return record


def save_decision(store: RunStore, ds: Dataset, brief: Brief, record: dict, models: list[str]) -> str:
    run_id = store.create("decision", {"models": models, "k": brief.k, "dataset_source": ds.source,
                                       "brief": brief.to_json()}, dataset=ds)
    store.add_rows(run_id, [DecisionRow(model=c["model"], item_id="candidate", passes=c["passes"], failed=c["failed"],
                                        checks=c["checks"], quality=c["quality"], p95_ms=c["p95_ms"],
                                        cost_month_usd=c["cost_month_usd"], one_off_usd=c["one_off_usd"],
                                        memory_mb=c["memory_mb"]) for c in record["candidates"]])
    verdicts = {c["model"]: {"mean": c["quality"]["mean"], "ci_low": c["quality"]["ci_low"],
                             "ci_high": c["quality"]["ci_high"], "p95_ms": c["p95_ms"],
                             "cost_month_usd": c["cost_month_usd"], "memory_mb": c["memory_mb"],
                             "passes": c["passes"]} for c in record["candidates"]}
    ev = record["evaluation"]["runs"]
    store.finish(run_id, DecisionSummary(recommended=record["recommended"], reason=record["reason"],
                                         runner_up=record["runner_up"], what_would_change=record["what_would_change"],
                                         tied_group=record["tied_group"], runs=ev, verdicts=verdicts,
                                         record={**record, "plans": {m: {k: v for k, v in p.items() if k != "script"}
                                                                     for m, p in record["plans"].items()}}))
    return run_id


def output_json(record: dict) -> dict:
    """``decision.json``: the keys the issue names first, then the rest of the record."""
    keys = ("brief", "profile", "candidates", "recommended", "reason")
    return {**{k: record[k] for k in keys}, **{k: v for k, v in record.items() if k not in keys}}
