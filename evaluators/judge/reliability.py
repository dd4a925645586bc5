"""How far to trust the judge: its verdicts against the user's own relevance judgments (qrels).

Why: LLM-judged scores move from judge to judge, and nothing else tells the user whether the judge
agrees with the relevance judgments they already have. A RAG run with a judge and qrels holds both
sides for the same retrieved documents: context precision asks the judge, context by context, "is
this context useful for the reference answer?" (``RagRow.reasons["context_precision"]``, one verdict
per retrieved context, in ``retrieved_ids`` order), and the qrels say whether that document is
relevant (``relevant_ids``). So:

* **agreement**: the 2×2 confusion matrix (judge useful / not × qrels relevant / not) over every
  judged context, accuracy, Cohen's κ (agreement beyond chance) with a percentile bootstrap CI that
  resamples *questions* (a question's contexts are judged together, so they are not independent);
* **recall**: per row, the judged context recall against the recall by id (``nonllm_context_recall``
  by id, else computed from the ids), as a Spearman correlation with n;
* **noise** (with ``--judge-repeats K``): per judged metric and model, the interval with the judge's
  own noise (``evaluators.judge.noise``: questions, then repeats) beside the one-judge interval;
* **health**: per judged metric and judge (the second judge's too), how many rows failed, how many
  because the judge's reply did not parse, how many gave NaN (issue 15, item 4).

Rows without qrels ids, or whose context precision failed, carry no verdicts to compare and are left
out (the n says how many were used). Deterministic for a given ``seed``.

Usage:
    rel = for_run(store, store.get("latest"))
    rel.sentence()     # "the judge agrees with your judgments on 81 % of contexts, κ 0.62 [0.48, 0.74], ..."
    rel.agreement.kappa, rel.recall.spearman, rel.health["faithfulness"].parse_failures
    rel.to_json()      # what ``cli.py rag --output`` writes as ``judge_reliability``
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from evaluators.judge.agreement import (
    N_RESAMPLES,
    Agreement,
    RecallCorrelation,
    agreement,
    finite,
    recall_correlation,
    relevant_ids,
    strength,
)
from evaluators.judge.noise import judge_noise
from evaluators.rag.metrics import JUDGED
from rag.i18n import N_, _
from rag.runs import Run, RunStore

PARSE_ERROR, NAN_ERROR = "parse error", "no score:"   # how evaluators.rag.scoring words these failures
# Why there is no agreement (``JudgeReliability.missing``: English in the JSON, the reader's language in sentences)
NO_JUDGE = N_("the run has no judge")
NO_QRELS = N_("the run's questions have no qrels (relevant document ids)")
NO_PRECISION = N_("context precision was not scored (its per-context verdicts are what is compared)")
NO_VERDICTS = N_("no row has a complete set of context precision verdicts")










@dataclass
class MetricHealth:
    """One judged metric's failures over the rows it applied to."""
    rows: int
    scored: int
    failed: int
    parse_failures: int
    nan: int

    def rate(self, count: int) -> float | None:
        return count / self.rows if self.rows else None

    def to_json(self) -> dict:
        return {**asdict(self), "parse_failure_rate": self.rate(self.parse_failures), "nan_rate": self.rate(self.nan),
                "failure_rate": self.rate(self.failed)}


@dataclass
class JudgeReliability:
    """Everything known about the judge of one run; ``missing`` says why there is no agreement."""
    judge: str | None
    agreement: Agreement | None = None
    recall: RecallCorrelation | None = None
    health: dict[str, MetricHealth] = field(default_factory=dict)
    missing: str | None = None
    noise: dict[str, dict[str, dict]] = field(default_factory=dict)   # metric -> model -> judge_noise's entry
    second: dict | None = None                                          # evaluators.judge.second's report
    second_health: dict[str, MetricHealth] = field(default_factory=dict)   # the second judge's failures

    def sentence(self) -> str:
        """One plain sentence for the page, the report and the CLI, in the reader's language."""
        if self.agreement is None:
            return _("judge agreement with your qrels: not available ({why})").format(
                why=_(self.missing) if self.missing else "")
        a = self.agreement
        if math.isnan(a.kappa):
            kappa = _("κ undefined (the judge or the qrels give one answer for every context)")
        elif a.kappa_low is not None:
            kappa = _("κ {kappa} [{low}, {high}], {strength}").format(
                kappa=f"{a.kappa:.2f}", low=f"{a.kappa_low:.2f}", high=f"{a.kappa_high:.2f}",
                strength=strength(a.kappa))
        else:
            kappa = _("κ {kappa}, {strength}").format(kappa=f"{a.kappa:.2f}", strength=strength(a.kappa))
        values = {"pct": f"{a.accuracy * 100:.0f}", "kappa": kappa, "n": a.n, "questions": a.questions}
        if self.recall is not None and self.recall.spearman is not None:
            return _("the judge agrees with your judgments on {pct} % of contexts, {kappa} (n = {n} contexts, "
                     "{questions} questions); its context recall follows recall by your qrels with Spearman ρ "
                     "{rho} (n = {rows} rows)").format(**values, rho=f"{self.recall.spearman:.2f}", rows=self.recall.n)
        return _("the judge agrees with your judgments on {pct} % of contexts, {kappa} (n = {n} contexts, "
                 "{questions} questions)").format(**values)

    def to_json(self) -> dict:
        return {"judge": self.judge, "missing": self.missing, "sentence": self.sentence(),
                "agreement": self.agreement.to_json() if self.agreement else None,
                "recall": asdict(self.recall) if self.recall else None,
                "health": {m: h.to_json() for m, h in self.health.items()}, "judge_noise": self.noise,
                "second_judge_health": {m: h.to_json() for m, h in self.second_health.items()},
                "second_judge": self.second}


# ---------------------------------------------------------------- computing it



















def health(rows: list[dict], metrics: list[str]) -> dict[str, MetricHealth]:
    """Per judged metric: rows it applied to, scored, failed, of which parse failures and NaN."""
    out = {}
    for m in metrics:
        applied = [r for r in rows if m not in (r.get("not_applicable") or {})]
        errors = [e for r in applied if (e := (r.get("errors") or {}).get(m))]
        scored = sum(finite((r.get("scores") or {}).get(m)) for r in applied)
        out[m] = MetricHealth(len(applied), scored, len(errors), sum(e.startswith(PARSE_ERROR) for e in errors),
                              sum(e.startswith(NAN_ERROR) for e in errors))
    return out


def judge_reliability(rows: list[dict], judge: str | None, metrics: list[str], seed: int = 0,
                      n_resamples: int = N_RESAMPLES) -> JudgeReliability:
    """The judge's reliability from a RAG run's rows; ``metrics`` the run's active metrics."""
    from evaluators.judge.second import second_judge_report, second_rows  # it builds on this module

    rows = [r.model_dump() if hasattr(r, "model_dump") else r for r in rows]
    judged = [m for m in metrics if m in JUDGED]
    if judge is None:
        return JudgeReliability(None, missing=NO_JUDGE)
    out = JudgeReliability(judge, health=health(rows, judged), recall=recall_correlation(rows),
                           noise=judge_noise(rows, judged), second=second_judge_report(rows, judged))
    if any(r.get("second_judge") for r in rows):
        out.second_health = health(second_rows(rows), judged)
    if not any(relevant_ids(r) for r in rows):
        out.missing = NO_QRELS
    elif "context_precision" not in judged:
        out.missing = NO_PRECISION
    else:
        out.agreement = agreement(rows, seed, n_resamples)
        out.missing = None if out.agreement else NO_VERDICTS
    return out


def for_run(store: RunStore, run: Run, seed: int = 0) -> JudgeReliability:
    """``judge_reliability`` of a stored RAG run (its judge's label, active metrics and rows)."""
    cfg_judge = run.config.get("judge")
    judge = (run.summary.get("judge") or cfg_judge.get("model") or "judge") if cfg_judge else None
    return judge_reliability(store.rows(run.id), judge, run.config.get("metrics_active") or [], seed)


# ---------------------------------------------------------------- display (page and report)

def confusion_frame(rel: JudgeReliability):
    """The confusion matrix as a table: rows the judge's verdict, columns the qrels (display: headers and
    verdicts in the reader's language, for the page and the report alike)."""
    import pandas as pd

    a = rel.agreement
    return pd.DataFrame({_("judge"): [_("useful"), _("not useful")], _("qrels: relevant"): [a.tp, a.fn],
                         _("qrels: not relevant"): [a.fp, a.tn]})


def health_frame(rel: JudgeReliability):
    """Per judged metric: rows, scored, failed, parse failures and NaN, with rates; with a second judge,
    one row per metric and judge (a ``judge`` column: first / second). Display: in the reader's language."""
    import pandas as pd

    from evaluators.rag.metrics import METRICS

    def pct(h: MetricHealth, count: int) -> str:
        return f"{count} ({h.rate(count):.0%})" if h.rows else "0"

    judges = [(_("first"), rel.health)] + ([(_("second"), rel.second_health)] if rel.second_health else [])
    return pd.DataFrame([{_("metric"): METRICS[m].label, **({_("judge"): who} if len(judges) > 1 else {}),
                          _("rows"): h.rows, _("scored"): h.scored, _("failed"): pct(h, h.failed),
                          _("parse failures"): pct(h, h.parse_failures),
                          _("no score (not a number)"): pct(h, h.nan)}
                         for m in rel.health for who, per_metric in judges if (h := per_metric.get(m))])


def noise_frame(rel: JudgeReliability):
    """Per judged metric and model with repeats: the one-judge CI beside the CI with the judge's noise
    (display: headers in the reader's language)."""
    import pandas as pd

    from evaluators.rag.metrics import METRICS

    def ci(pair) -> str:
        return f"[{pair[0]:.3f}, {pair[1]:.3f}]"

    return pd.DataFrame([{_("metric"): METRICS[m].label, _("model"): model, _("repeats"): e["repeats"],
                          _("mean"): f"{e['mean']:.3f}", _("95% CI (one judge)"): ci(e["ci"]),
                          _("95% CI with judge noise"): ci(e["ci_with_judge_noise"]),
                          _("rows whose repeats differ"): f"{e['rows_varying']}/{e['n']}",
                          _("repeat SD"): f"{e['repeat_sd']:.3f}"}
                         for m, per_model in rel.noise.items() for model, e in per_model.items()])
