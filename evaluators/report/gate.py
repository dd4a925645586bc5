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
from rag.runs import Run, RunStore


@dataclass
class GateResult:
    ok: bool
    message: str  # one line, ready to print


def _aggregate_values(run: Run, metric: str, model: str | None) -> tuple[str, list[str], dict]:
    names = aggregate_metrics(run)
    found = find_metric(names, metric)
    if found is None:
        raise ValueError(f"metric '{metric}' is not in run {run.id} ({run.kind}); available: "
                         f"{', '.join(names) or 'none'}")
    table = run.typed_summary().per_model()
    if model and model not in table:
        raise ValueError(f"model '{model}' is not in run {run.id}; models: {', '.join(table) or 'none'}")
    return found, [model] if model else list(table), {m: (metric_value(run, found, m), None, None) for m in table}


def _wer_values(run: Run, model: str | None) -> tuple[str, list[str], dict]:
    """The word error rate of each ASR model a run's text came from: {model or setup: (WER, None, None)}."""
    one = (run.config or {}).get("asr")
    per = {one.get("spec") or one.get("model"): one} if isinstance(one, dict) else dict((run.summary or {}).get("asr")
                                                                                         or {})
    if not per:
        raise ValueError(f"metric 'wer' needs a run on an audio folder's speech (asr:); run {run.id} transcribed "
                         "nothing")
    if model and model not in per:
        raise ValueError(f"model '{model}' is not an ASR model or setup of run {run.id}; there: {', '.join(per)}")
    values = {m: (r.get("wer"), None, None) for m, r in per.items()}
    return "wer", [model] if model else list(values), values


def _quality_values(store: RunStore, run: Run, metric: str, model: str | None) -> tuple[str, list[str], dict]:
    stats = run_stats(store, [run.id])
    found = find_metric(stats.metrics, metric)
    if found is None:
        raise ValueError(f"metric '{metric}' is not in run {run.id} ({run.kind}); available: "
                         f"{', '.join(stats.metrics) or 'none'}")
    cmp = stats.get(found)
    values = {m: (None, None, None) for m in _models(run)}
    values |= {s.model: (None, None, None) if math.isnan(s.mean) else (s.mean, s.low, s.high)
               for s in cmp.result.models}
    if model and model not in values:
        raise ValueError(f"model '{model}' is not in run {run.id}; models: {', '.join(values) or 'none'}")
    return found, [model] if model else list(values), values


def judge_check(store: RunStore, run: Run, metric: str, bound: float) -> tuple[str | None, str]:
    """(why the judge fails the gate or None, what to show when it passes). ValueError (bad input) when
    the run has no judge or no qrels: there is nothing to measure the judge against."""
    from evaluators.judge.reliability import for_run

    if not run.config.get("judge"):
        raise ValueError(f"--min-agreement needs a run with a judge and qrels; run {run.id} has no judge")
    rel = for_run(store, run)
    a = rel.agreement
    if a is None:
        raise ValueError(f"--min-agreement needs a run with a judge and qrels; run {run.id}: {rel.missing}")
    agrees = f"it agrees with them on {a.accuracy * 100:.0f} % of {a.n} contexts, so {metric} judged by it is not " \
             "a safe gate"
    if math.isnan(a.kappa):
        return f"the judge's κ with your qrels is undefined (one answer for every context): {agrees}", ""
    if a.kappa < bound:
        return f"the judge's κ with your qrels is {a.kappa:.2f} < {bound:g}: {agrees}", ""
    return None, f"; judge κ with your qrels {a.kappa:.2f} >= {bound:g}"


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
        raise ValueError("give --min, --max and/or --ci-low")
    if run.status != "done":
        raise ValueError(f"run {run.id} is '{run.status}', not done" + (f": {run.error}" if run.error else ""))
    if metric.strip().lower() == "wer":
        if ci_low is not None:
            raise ValueError("--ci-low does not apply to wer (one corpus WER per ASR model): use --max")
        found, models, values = _wer_values(run, model)
    elif kind_of(run).quality:
        found, models, values = _quality_values(store, run, metric, model)
    else:
        if ci_low is not None:
            raise ValueError(f"--ci-low needs per-query scores; {run.kind} run {run.id} has only aggregates "
                             "(use --max)")
        found, models, values = _aggregate_values(run, metric, model)
    failures, shown = [], []
    judged = judge_check(store, run, found, min_agreement) if min_agreement is not None else (None, "")
    failures += [judged[0]] if judged[0] else []
    for m in models:
        v, lo, hi = values.get(m, (None, None, None))
        ci = f" [{lo:.4f}, {hi:.4f}]" if ci_low is not None and v is not None else ""
        shown.append(f"{m} {v:.4f}{ci}" if v is not None else f"{m} n/a")
        if v is None:
            failures.append(f"{m} has no {found} value")
        elif minimum is not None and v < minimum:
            failures.append(f"{m} {found} = {v:.4f} < min {minimum:g}")
        elif maximum is not None and v > maximum:
            failures.append(f"{m} {found} = {v:.4f} > max {maximum:g}")
        elif ci_low is not None and lo < ci_low:
            failures.append(f"{m} {found} 95% CI low = {lo:.4f} < {ci_low:g} (mean {v:.4f})")
    bounds = " and ".join(b for b in (f">= {minimum:g}" if minimum is not None else "",
                                      f"<= {maximum:g}" if maximum is not None else "",
                                      f"95% CI low >= {ci_low:g}" if ci_low is not None else "") if b)
    speech = speech_note(run.config.get("asr")) if found != "wer" else ""  # the ASR model behind the text
    if failures:
        return GateResult(False, f"GATE FAILED (run {run.id}): " + "; ".join(failures) + speech)
    return GateResult(True, f"gate passed (run {run.id}): {found} {bounds}: " + ", ".join(shown) + judged[1] + speech)
