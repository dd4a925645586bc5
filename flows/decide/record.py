"""Step 7: the decision record: every candidate against every constraint, the recommendation and why.

Policy (said in the record): a candidate *passes* when each constraint of the brief holds on its
measured value (quality: the mean ≥ the minimum; the CI is shown beside it, and the gate of step 6
checks its lower bound); among those that pass, the best mean wins, unless others are statistically
tied with it (Holm-adjusted paired test at α from the run's statistics): then the cheapest of the
tied group (monthly cost, then memory, then p95) is recommended, and the record says so. The
runner-up is the next candidate, and "what would change the decision" names the constraint or the
cost that separates them. Every number is copied from the runs (``Evaluation``, ``plan``), never
recomputed, so the record equals the runs it cites.

Usage:
    rec = decide(brief, evaluation, plans, shortlist)
    rec["recommended"], rec["reason"], rec["candidates"][0]["checks"]
"""

from __future__ import annotations

import math

from flows.decide.brief import Brief
from flows.decide.evaluate import Evaluation
from rag.i18n import _


def _num(v) -> float | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else v


def checks_for(model: str, brief: Brief, ev: Evaluation, plan: dict | None) -> list[dict]:
    """One row per constraint of the brief: measured value, CI where there is one, pass or fail, why."""
    q = ev.quality.get(model) or {}
    plan = plan or {}
    rows = []

    def add(key, limit, value, ok, why, ci=None):
        rows.append({"constraint": key, "limit": limit, "value": value, "ci": ci, "passes": ok, "reason": why})

    mean = _num(q.get("mean"))
    add("quality", brief.min_quality, mean, mean is not None and mean >= brief.min_quality,
        "" if mean is not None and mean >= brief.min_quality else
        (f"{ev.metric} {mean:.3f} < {brief.min_quality:g}" if mean is not None else
         _("{metric} not measured").format(metric=ev.metric)),
        [q.get("ci_low"), q.get("ci_high")] if q else None)
    if brief.p95_ms is not None:
        p95 = _num(ev.p95_ms.get(model))
        ok = p95 is not None and p95 <= brief.p95_ms
        add("p95_ms", brief.p95_ms, p95, ok, "" if ok else
            (_("p95 {p95} ms > {limit} ms at {users} users").format(p95=f"{p95:g}", limit=f"{brief.p95_ms:g}",
                                                                      users=brief.users) if p95 is not None else
             _("p95 not measured (no load result)")))
    for key, limit, unit in (("cost_month_usd", brief.budget_month_usd, _("$/month")),
                             ("one_off_usd", brief.budget_one_off_usd, _("$ one-off")),
                             ("memory_mb", brief.memory_mb, "MB")):
        if limit is None:
            continue
        v = _num(plan.get(key))
        ok = v is not None and v <= limit
        add(key, limit, v, ok, "" if ok else (f"{_(key)} {v:g} {unit} > {limit:g}" if v is not None else
                                               _("{key} not known").format(key=_(key))))
    return rows


def _cost_key(c: dict) -> tuple:
    big = float("inf")
    return (c.get("cost_month_usd") if c.get("cost_month_usd") is not None else big,
            c.get("memory_mb") if c.get("memory_mb") is not None else big,
            c.get("p95_ms") if c.get("p95_ms") is not None else big)


def candidate_row(model: str, brief: Brief, ev: Evaluation, plan: dict | None) -> dict:
    checks = checks_for(model, brief, ev, plan)
    q = ev.quality.get(model) or {}
    plan = plan or {}
    return {"model": model, "passes": all(c["passes"] for c in checks),
            "failed": [c["reason"] for c in checks if not c["passes"]], "checks": checks,
            "quality": {"metric": ev.metric, "mean": _num(q.get("mean")), "ci_low": _num(q.get("ci_low")),
                        "ci_high": _num(q.get("ci_high")), "n": q.get("n")},
            "p95_ms": _num(ev.p95_ms.get(model)), "cost_month_usd": plan.get("cost_month_usd"),
            "one_off_usd": plan.get("one_off_usd"), "memory_mb": plan.get("memory_mb")}


def _fmt_q(c: dict) -> str:
    q = c["quality"]
    if q["mean"] is None:
        return _("not measured")
    return f"{q['mean']:.3f} [{q['ci_low']:.3f}, {q['ci_high']:.3f}]"


def _usd(v) -> str:
    return _("unknown") if v is None else _("${usd}/month").format(usd=f"{v:,.2f}")


def _tie_break(runner: dict, winner: dict) -> str:
    """What actually separates two tied candidates, in ``_cost_key``'s order (cost, then memory, then p95): never
    "$0.00/month vs $0.00/month" when both are free and memory is what decided."""
    for key, fmt in (("cost_month_usd", _usd),
                     ("memory_mb", lambda v: _("{mb} MB of vectors").format(mb=f"{v:,.0f}")),
                     ("p95_ms", lambda v: _("p95 {ms} ms").format(ms=f"{v:,.0f}"))):
        a, b = runner.get(key), winner.get(key)
        if a is not None and b is not None and round(a, 2) != round(b, 2):
            return _("{a} vs {b}").format(a=fmt(a), b=fmt(b))
    return _("the same cost ({usd}), memory and latency").format(usd=_usd(winner.get("cost_month_usd")))


def _what_changes(winner: dict, runner: dict, tied: bool, brief: Brief) -> str:
    m = runner["model"]
    if not runner["passes"]:
        parts = []
        for c in runner["checks"]:
            if c["passes"]:
                continue
            if c["constraint"] == "quality" and c["value"] is not None:
                parts.append(_("a minimum {limit} lowered to {value}").format(
                    limit=f"{c['limit']:g}", value=f"{math.floor(c['value'] * 1000) / 1000:g}"))
            elif c["value"] is not None:
                parts.append(_("{constraint} ≤ {value} (now {limit})").format(
                    constraint=_(c["constraint"]), value=f"{c['value']:g}", limit=f"{c['limit']:g}"))
            else:
                parts.append(_("{constraint} measured").format(constraint=_(c["constraint"])))
        better = (runner["quality"]["mean"] or -1) > (winner["quality"]["mean"] or -1)
        return (_("with {changes}, {model} would pass and, with the best mean, could take the lead.") if better else
                _("with {changes}, {model} would pass.")).format(changes=_(" and ").join(parts), model=m)
    if tied:
        return _("{model} ties with {winner} on quality at {difference}: if {winner}'s cost or memory rose "
                 "above it, {model} would be recommended.").format(
            model=m, winner=winner["model"], difference=_tie_break(runner, winner))
    return _("{model} passes but is significantly below {winner} ({quality} vs {winner_quality}); it would be "
             "chosen only if {winner} were ruled out (a tighter budget, latency or memory).").format(
        model=m, winner=winner["model"], quality=_fmt_q(runner), winner_quality=_fmt_q(winner))


def decide(brief: Brief, ev: Evaluation, plans: dict[str, dict], models: list[str]) -> dict:
    """The recommendation over ``models`` (the evaluated candidates)."""
    rows = [candidate_row(m, brief, ev, plans.get(m)) for m in models]
    passing = [c for c in rows if c["passes"]]
    by_mean = sorted(rows, key=lambda c: -(c["quality"]["mean"] if c["quality"]["mean"] is not None else -1))
    out = {"candidates": rows, "policy": _("best mean among those that pass; the cheapest of a statistically tied "
                                           "group (Holm-adjusted paired test)"), "recommended": None, "runner_up": None,
           "tied_group": [], "reason": "", "what_would_change": ""}
    if not passing:
        closest = min(by_mean, key=lambda c: len(c["failed"])) if by_mean else None
        out["reason"] = (_("no candidate meets every constraint of the brief; closest: {model} fails on {failed}")
                         .format(model=closest["model"], failed="; ".join(closest["failed"])) if closest else
                         _("no candidate meets every constraint of the brief"))
        if closest:
            out["runner_up"] = closest["model"]
            out["what_would_change"] = _what_changes(closest, closest, False, brief) if not closest["passes"] else ""
        return out
    best = max(passing, key=lambda c: c["quality"]["mean"])
    tied = [c for c in passing if c is best or ev.significant(best["model"], c["model"]) is False]
    label = ev.metric
    if len(tied) > 1:
        winner = min(tied, key=_cost_key)
        others = [c["model"] for c in tied if c is not winner]
        out["reason"] = _("{tied} pass every constraint and are statistically tied on {metric} (best mean {best} "
                          "{quality}); {winner} is the cheapest of the tied group ({cost}, {memory} MB), so it is "
                          "recommended over {others}.").format(
            tied=", ".join(c["model"] for c in tied), metric=label, best=best["model"], quality=_fmt_q(best),
            winner=winner["model"], cost=_usd(winner["cost_month_usd"]), memory=winner["memory_mb"],
            others=", ".join(others))
    else:
        winner = best
        rest = [c["model"] for c in passing if c is not best]
        out["reason"] = (_("{model} has the best {metric} among the candidates that pass every constraint "
                           "({quality}) and is significantly better than {rest}.") if rest else
                         _("{model} has the best {metric} among the candidates that pass every constraint "
                           "({quality}), the only one that passes.")).format(
            model=best["model"], metric=label, quality=_fmt_q(best), rest=", ".join(rest))
    out["recommended"], out["tied_group"] = winner["model"], [c["model"] for c in tied]
    rest = [c for c in tied if c is not winner] or [c for c in passing if c is not winner] or \
        [c for c in by_mean if c is not winner]
    if rest:
        runner = min(rest, key=_cost_key) if rest[0] in tied else rest[0]
        out["runner_up"] = runner["model"]
        out["what_would_change"] = _what_changes(winner, runner, runner in tied, brief)
    return out
