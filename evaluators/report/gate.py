"""The CI gate: does a stored run meet its thresholds? One line to print, and ok or not.

Why its own module: the gate is a policy over the statistics (``evaluators.stats.run_stats``), not part of
computing them; ``cli.py gate`` and CI read only this. Quality kinds (``evaluators.stats.run_kinds``) are
gated on the run's one set of statistics, so a gate, the pages and the report quote the same mean
and interval; kinds with only aggregates (load) on their summary.

On an audio folder's speech the transcription is part of the setup: ``wer`` gates the word error rate of
the ASR model(s) a run's text came from (a retrieval run's one, a sweep's per setup; lower is better, so
``--max``), and every gate line on such a run names the ASR model and its WER beside the numbers.

A judged metric can also be gated on its judge (``min_agreement``): the judge's Cohen's κ with the
user's own qrels (``evaluators.judge.reliability``), so CI never passes a score from a judge that
disagrees with the relevance judgments the user already has.

Usage:
    result = check_gate(store, store.get("latest"), "ndcg@10", minimum=0.6, ci_low=0.5)
    check_gate(store, rag_run, "faithfulness", minimum=0.8, min_agreement=0.6)
    check_gate(store, asr_run, "wer", maximum=0.3)                  # the ASR model's word error rate
    print(result.message); sys.exit(0 if result.ok else 1)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from evaluators.stats.comparison import _models, aggregate_metrics, find_metric, metric_value
from evaluators.stats.run_kinds import kind_of, speech_note
from evaluators.stats.run_stats import run_stats
from rag.i18n import _
from rag.runs import Run, RunStore


@dataclass
class GateResult:
    ok: bool
    message: str  # one line, ready to print


def _aggregate_values(run: Run, metric: str, model: str | None) -> tuple[str, list[str], dict]:
    names = aggregate_metrics(run)
    found = find_metric(names, metric)
    if found is None:
        raise ValueError(_("metric '{metric}' is not in run {run} ({kind}); available: {available}").format(
            metric=metric, run=run.id, kind=run.kind, available=", ".join(names) or _("none")))
    table = run.typed_summary().per_model()
    if model and model not in table:
        raise ValueError(_("model '{model}' is not in run {run}; models: {models}").format(
            model=model, run=run.id, models=", ".join(table) or _("none")))
    return found, [model] if model else list(table), {m: (metric_value(run, found, m), None, None) for m in table}


def _wer_values(run: Run, model: str | None) -> tuple[str, list[str], dict]:
    """The word error rate of each ASR model a run's text came from: {model or setup: (WER, None, None)}."""
    one = (run.config or {}).get("asr")
    per = {one.get("spec") or one.get("model"): one} if isinstance(one, dict) else dict((run.summary or {}).get("asr")
                                                                                         or {})
    if not per:
        raise ValueError(_("metric 'wer' needs a run on an audio folder's speech (asr:); run {run} transcribed "
                           "nothing").format(run=run.id))
    if model and model not in per:
        raise ValueError(_("model '{model}' is not an ASR model or setup of run {run}; there: {there}").format(
            model=model, run=run.id, there=", ".join(per)))
    values = {m: (r.get("wer"), None, None) for m, r in per.items()}
    return "wer", [model] if model else list(values), values


def _quality_values(store: RunStore, run: Run, metric: str, model: str | None) -> tuple[str, list[str], dict]:
    stats = run_stats(store, [run.id])
    found = find_metric(stats.metrics, metric)
    if found is None:
        raise ValueError(_("metric '{metric}' is not in run {run} ({kind}); available: {available}").format(
            metric=metric, run=run.id, kind=run.kind, available=", ".join(stats.metrics) or _("none")))
    cmp = stats.get(found)
    values = {m: (None, None, None) for m in _models(run)}
    values |= {s.model: (None, None, None) if math.isnan(s.mean) else (s.mean, s.low, s.high)
               for s in cmp.result.models}
    if model and model not in values:
        raise ValueError(_("model '{model}' is not in run {run}; models: {models}").format(
            model=model, run=run.id, models=", ".join(values) or _("none")))
    return found, [model] if model else list(values), values


def judge_check(store: RunStore, run: Run, metric: str, bound: float) -> tuple[str | None, str]:
    """(why the judge fails the gate or None, what to show when it passes). ValueError (bad input) when
    the run has no judge or no qrels: there is nothing to measure the judge against."""
    from evaluators.judge.reliability import for_run

    if not run.config.get("judge"):
        raise ValueError(_("--min-agreement needs a run with a judge and qrels; run {run} has no judge").format(
            run=run.id))
    rel = for_run(store, run)
    a = rel.agreement
    if a is None:
        raise ValueError(_("--min-agreement needs a run with a judge and qrels; run {run}: {why}").format(
            run=run.id, why=_(rel.missing) if rel.missing else ""))
    agrees = {"pct": f"{a.accuracy * 100:.0f}", "n": a.n, "metric": metric}
    if math.isnan(a.kappa):
        return _("the judge's κ with your qrels is undefined (one answer for every context): it agrees with them on "
                 "{pct} % of {n} contexts, so {metric} judged by it is not a safe gate").format(**agrees), ""
    if a.kappa < bound:
        return _("the judge's κ with your qrels is {kappa} < {bound}: it agrees with them on {pct} % of {n} contexts, "
                 "so {metric} judged by it is not a safe gate").format(**agrees, kappa=f"{a.kappa:.2f}",
                                                                      bound=f"{bound:g}"), ""
    return None, _("; judge κ with your qrels {kappa} >= {bound}").format(kappa=f"{a.kappa:.2f}", bound=f"{bound:g}")


def check_gate(store: RunStore, run: Run, metric: str, minimum: float | None = None, maximum: float | None = None,
               model: str | None = None, ci_low: float | None = None,
               min_agreement: float | None = None) -> GateResult:
    """Is ``metric`` of ``model`` (default: every model in the run) at least ``minimum``, at most
    ``maximum``, and is its 95% CI's lower bound at least ``ci_low``?

    Retrieval and RAG values come from ``run_stats`` (the numbers the pages and the report show);
    kinds without per-query scores (load) are gated on their summary's aggregates (``p95_ms``,
    ``rps``) and ``ci_low`` does not apply. Bad input (unknown metric or model, a run that did not
    finish, no threshold) raises ValueError; a model without a value fails (unscored must not pass CI).
    ``min_agreement``: also fail when the run's judge agrees with the qrels at a κ below it.
    """
    if minimum is None and maximum is None and ci_low is None:
        raise ValueError(_("give --min, --max and/or --ci-low"))
    if run.status != "done":
        raise ValueError(_("run {run} is '{status}', not done: {error}").format(run=run.id, status=run.status,
                                                                                 error=run.error) if run.error
                         else _("run {run} is '{status}', not done").format(run=run.id, status=run.status))
    if metric.strip().lower() == "wer":
        if ci_low is not None:
            raise ValueError(_("--ci-low does not apply to wer (one corpus WER per ASR model): use --max"))
        found, models, values = _wer_values(run, model)
    elif kind_of(run).quality:
        found, models, values = _quality_values(store, run, metric, model)
    else:
        if ci_low is not None:
            raise ValueError(_("--ci-low needs per-query scores; {kind} run {run} has only aggregates "
                               "(use --max)").format(kind=run.kind, run=run.id))
        found, models, values = _aggregate_values(run, metric, model)
    failures, shown = [], []
    judged = judge_check(store, run, found, min_agreement) if min_agreement is not None else (None, "")
    failures += [judged[0]] if judged[0] else []
    for m in models:
        v, lo, hi = values.get(m, (None, None, None))
        ci = f" [{lo:.4f}, {hi:.4f}]" if ci_low is not None and v is not None else ""
        shown.append(f"{m} {v:.4f}{ci}" if v is not None else f"{m} n/a")
        if v is None:
            failures.append(_("{model} has no {metric} value").format(model=m, metric=found))
        elif minimum is not None and v < minimum:
            failures.append(_("{model} {metric} = {value} < min {bound}").format(
                model=m, metric=found, value=f"{v:.4f}", bound=f"{minimum:g}"))
        elif maximum is not None and v > maximum:
            failures.append(_("{model} {metric} = {value} > max {bound}").format(
                model=m, metric=found, value=f"{v:.4f}", bound=f"{maximum:g}"))
        elif ci_low is not None and lo < ci_low:
            failures.append(_("{model} {metric} 95% CI low = {low} < {bound} (mean {value})").format(
                model=m, metric=found, low=f"{lo:.4f}", bound=f"{ci_low:g}", value=f"{v:.4f}"))
    bounds = _(" and ").join(b for b in (f">= {minimum:g}" if minimum is not None else "",
                                      f"<= {maximum:g}" if maximum is not None else "",
                                      _("95% CI low >= {bound}").format(bound=f"{ci_low:g}") if ci_low is not None
                                      else "") if b)
    speech = speech_note(run.config.get("asr")) if found != "wer" else ""  # the ASR model behind the text
    if failures:
        return GateResult(False, _("GATE FAILED (run {run}): {failures}").format(run=run.id,
                                                                                   failures="; ".join(failures))
                          + speech)
    return GateResult(True, _("gate passed (run {run}): {metric} {bounds}: {values}").format(
        run=run.id, metric=found, bounds=bounds, values=", ".join(shown)) + judged[1] + speech)
