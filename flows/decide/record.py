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
        (f"{ev.metric} {mean:.3f} < {brief.min_quality:g}" if mean is not None else f"{ev.metric} not measured"),
        [q.get("ci_low"), q.get("ci_high")] if q else None)
    if brief.p95_ms is not None:
        p95 = _num(ev.p95_ms.get(model))
        ok = p95 is not None and p95 <= brief.p95_ms
        add("p95_ms", brief.p95_ms, p95, ok, "" if ok else
            (f"p95 {p95:g} ms > {brief.p95_ms:g} ms at {brief.users} users" if p95 is not None else
             "p95 not measured (no load result)"))
    for key, limit, unit in (("cost_month_usd", brief.budget_month_usd, "$/month"),
                             ("one_off_usd", brief.budget_one_off_usd, "$ one-off"),
                             ("memory_mb", brief.memory_mb, "MB")):
        if limit is None:
            continue
        v = _num(plan.get(key))
        ok = v is not None and v <= limit
        add(key, limit, v, ok, "" if ok else (f"{key} {v:g} {unit} > {limit:g}" if v is not None else
                                               f"{key} not known"))
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
        return "not measured"
    return f"{q['mean']:.3f} [{q['ci_low']:.3f}, {q['ci_high']:.3f}]"


def _usd(v) -> str:
    return "unknown" if v is None else f"${v:,.2f}/month"


def _tie_break(runner: dict, winner: dict) -> str:
    """What actually separates two tied candidates, in ``_cost_key``'s order (cost, then memory, then p95): never
    "$0.00/month vs $0.00/month" when both are free and memory is what decided."""
    for key, fmt in (("cost_month_usd", _usd), ("memory_mb", lambda v: f"{v:,.0f} MB of vectors"),
                     ("p95_ms", lambda v: f"p95 {v:,.0f} ms")):
        a, b = runner.get(key), winner.get(key)
        if a is not None and b is not None and round(a, 2) != round(b, 2):
            return f"{fmt(a)} vs {fmt(b)}"
    return f"the same cost ({_usd(winner.get('cost_month_usd'))}), memory and latency"


def _what_changes(winner: dict, runner: dict, tied: bool, brief: Brief) -> str:
    m = runner["model"]
    if not runner["passes"]:
        parts = []
        for c in runner["checks"]:
            if c["passes"]:
                continue
            if c["constraint"] == "quality" and c["value"] is not None:
                parts.append(f"a minimum {c['limit']:g} lowered to {math.floor(c['value'] * 1000) / 1000:g}")
            elif c["value"] is not None:
                parts.append(f"{c['constraint']} ≤ {c['value']:g} (now {c['limit']:g})")
            else:
                parts.append(f"{c['constraint']} measured")
        better = (runner["quality"]["mean"] or -1) > (winner["quality"]["mean"] or -1)
        return (f"with {' and '.join(parts)}, {m} would pass" + (" and, with the best mean, could take the lead"
                                                                  if better else "") + ".")
    if tied:
        return (f"{m} ties with {winner['model']} on quality at {_tie_break(runner, winner)}: if "
                f"{winner['model']}'s cost or memory rose above it, {m} would be recommended.")
    return (f"{m} passes but is significantly below {winner['model']} ({_fmt_q(runner)} vs {_fmt_q(winner)}); "
            f"it would be chosen only if {winner['model']} were ruled out (a tighter budget, latency or memory).")


def decide(brief: Brief, ev: Evaluation, plans: dict[str, dict], models: list[str]) -> dict:
    """The recommendation over ``models`` (the evaluated candidates)."""
    rows = [candidate_row(m, brief, ev, plans.get(m)) for m in models]
    passing = [c for c in rows if c["passes"]]
    by_mean = sorted(rows, key=lambda c: -(c["quality"]["mean"] if c["quality"]["mean"] is not None else -1))
    out = {"candidates": rows, "policy": "best mean among those that pass; the cheapest of a statistically tied "
                                         "group (Holm-adjusted paired test)", "recommended": None, "runner_up": None,
           "tied_group": [], "reason": "", "what_would_change": ""}
    if not passing:
        closest = min(by_mean, key=lambda c: len(c["failed"])) if by_mean else None
        out["reason"] = ("no candidate meets every constraint of the brief" +
                         (f"; closest: {closest['model']} fails on {'; '.join(closest['failed'])}" if closest else ""))
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
        out["reason"] = (f"{', '.join(c['model'] for c in tied)} pass every constraint and are statistically tied "
                         f"on {label} (best mean {best['model']} {_fmt_q(best)}); {winner['model']} is the cheapest "
                         f"of the tied group ({_usd(winner['cost_month_usd'])}, {winner['memory_mb']} MB), so it is "
                         f"recommended over {', '.join(others)}.")
    else:
        winner = best
        rest = [c["model"] for c in passing if c is not best]
        out["reason"] = (f"{best['model']} has the best {label} among the candidates that pass every constraint "
                         f"({_fmt_q(best)})" + (f" and is significantly better than {', '.join(rest)}" if rest else
                                                 ", the only one that passes") + ".")
    out["recommended"], out["tied_group"] = winner["model"], [c["model"] for c in tied]
    rest = [c for c in tied if c is not winner] or [c for c in passing if c is not winner] or \
        [c for c in by_mean if c is not winner]
    if rest:
        runner = min(rest, key=_cost_key) if rest[0] in tied else rest[0]
        out["runner_up"] = runner["model"]
        out["what_would_change"] = _what_changes(winner, runner, runner in tied, brief)
    return out
