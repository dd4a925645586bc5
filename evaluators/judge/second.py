"""A second judge on the same rows: do the two judges agree, and does the winner change with the judge?

Why: a judged comparison ("bm25 beats minilm on faithfulness") may be a property of the judge, not of
the setups. With ``--second-judge SPEC`` every judged metric of every row is scored once more by
another judge (``RagRow.second_judge``: its scores, errors and reasons per metric). Here: Cohen's κ
between the two judges' per-context verdicts (context precision), each judge's κ with the qrels,
Spearman ρ of the row scores per metric, and per metric the best model under each judge (means over
the rows both judges scored), with one sentence: "bm25 beats minilm on faithfulness with either
judge" or "the verdict on faithfulness depends on the judge (first: minilm, second: bm25)". Each
judge's usage and cost is already apart in the run's usage (per model name).

Usage:
    second_judge_report(rows, ["faithfulness", "context_precision"])["sentences"]
"""

from __future__ import annotations

import math

from evaluators.judge.agreement import agreement, cohen_kappa, precision_verdicts, spearman
from evaluators.rag.metrics import METRICS
from rag.i18n import N_, _


def _second_row(row: dict) -> dict:
    """The row as the second judge saw it (its reasons, scores and errors in the first judge's places)."""
    s = row.get("second_judge") or {}
    return {**row, "reasons": s.get("reasons") or {}, "errors": {k: v for k, v in (s.get("errors") or {}).items() if v},
            "scores": s.get("scores") or {}}


def second_rows(rows: list[dict]) -> list[dict]:
    """The rows a second judge scored, each as it saw it (for the per-judge failure counts)."""
    return [_second_row(r) for r in rows if r.get("second_judge")]


def _finite(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def verdict_agreement(rows: list[dict]) -> dict | None:
    """κ between the judges' context precision verdicts over the contexts both judged."""
    t = [0, 0, 0, 0]   # both useful, first only, second only, neither
    for r in rows:
        a, b = precision_verdicts(r), precision_verdicts(_second_row(r))
        for x, y in zip(a or [], b or []):
            t[(0 if x else 2) + (0 if y else 1)] += 1
    if not sum(t):
        return None
    k = cohen_kappa(*t)
    return {"n": sum(t), "table": t, "agreement": (t[0] + t[3]) / sum(t), "kappa": None if math.isnan(k) else k}


TIE = N_("a tie")   # the winner's place when the best mean is shared (English in the JSON)


def winners(rows: list[dict], metric: str) -> tuple[str | None, str | None, int]:
    """(best model under the first judge, under the second, rows both scored); ``TIE`` when the best mean is
    shared, None when fewer than two models have rows both judges scored."""
    both = [r for r in rows if _finite(r["scores"].get(metric)) and _finite(_second_row(r)["scores"].get(metric))]
    models = list(dict.fromkeys(r["model"] for r in both))
    if len(models) < 2:
        return None, None, 0

    def best(scores) -> str:
        means = {m: sum(scores(r) for r in both if r["model"] == m) / sum(r["model"] == m for r in both)
                 for m in models}
        top = max(means.values())
        leaders = [m for m in models if means[m] == top]
        return leaders[0] if len(leaders) == 1 else TIE

    return best(lambda r: r["scores"][metric]), best(lambda r: _second_row(r)["scores"][metric]), len(both)


def second_judge_report(rows: list[dict], metrics: list[str]) -> dict | None:
    """The two judges compared on the run's judged ``metrics``; None when no row has a second judge."""
    rows = [r for r in rows if r.get("second_judge")]
    if not rows:
        return None
    per_metric, sentences = {}, []
    for m in [m for m in metrics if METRICS[m].needs_judge]:
        pairs = [(r["scores"][m], _second_row(r)["scores"][m]) for r in rows
                 if _finite(r["scores"].get(m)) and _finite(_second_row(r)["scores"].get(m))]
        first, second, n = winners(rows, m)
        per_metric[m] = {"n": len(pairs), "spearman": spearman([p[0] for p in pairs], [p[1] for p in pairs]),
                         "winner": {"first": first, "second": second}}
        if first is None:
            continue
        others = ", ".join(x for x in dict.fromkeys(r["model"] for r in rows) if x != first)
        if first != second:
            sentences.append(_("the verdict on {metric} depends on the judge (first: {first}, second: {second})")
                             .format(metric=m, first=_(first) if first == TIE else first,
                                     second=_(second) if second == TIE else second))
        else:
            sentences.append(_("{first} beats {others} on {metric} with either judge").format(
                first=first, others=others, metric=m) if first != TIE else
                _("the models tie on {metric} with either judge").format(metric=m))
    second_qrels = agreement([_second_row(r) for r in rows])
    v = verdict_agreement(rows)
    if v is not None:
        kappa = _("κ undefined") if v["kappa"] is None else _("κ {kappa}").format(kappa=f"{v['kappa']:.2f}")
        sentences.insert(0, _("the two judges agree on {pct} % of context verdicts, {kappa} (n = {n} contexts)")
                         .format(pct=f"{v['agreement'] * 100:.0f}", kappa=kappa, n=v["n"]))
    return {"verdicts": v, "metrics": per_metric, "sentences": sentences,
            "qrels_kappa": {"second": None if second_qrels is None or math.isnan(second_qrels.kappa)
                            else second_qrels.kappa}}
