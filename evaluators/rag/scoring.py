"""Ragas scoring, one row at a time, with honest per-metric errors and the judge's reasons.

Why not one big ``ragas.evaluate()``: a run must persist each row as it completes (so ``kill -9``
loses nothing and a run resumes), keep the reason a metric failed, show the judge's statements and
verdicts, and stop cleanly at a spend cap. So each metric's own ``ascore()`` from
``ragas.metrics.collections`` (the real Ragas code: its prompts, parsing and score math) is awaited per
row, with the judge under the run's concurrency limit (evaluators/rag/judge_llm.py). Which Ragas class
each of our metric names runs, and what it needs, is the registry in evaluators/rag/metrics.py
(re-exported here for callers).

Judge repeats (``repeats=K``): each judged metric is scored K times per row, each repeat its own
calls (``JudgeLLM.repeat``: the request's ``seed`` is the repeat index, at the judge temperature);
the row's value is the mean of the repeats that scored, every repeat's value is kept
(``MetricResult.repeats``), a failed repeat makes the metric's error, and ``previous`` repeats that
scored are kept on a retry (only the failed ones are asked again). A second judge's failed call is
the row's failure too, and a retry asks only that call again (``second_only``).

A failed judge call leaves that row's metric empty (None) with the reason; NaN from Ragas becomes an
error saying why. Judge clients are built fresh per run: an async HTTP client is bound to the event
loop it was first used in, and each run has its own.

Usage:
    scorer = RagasScorer(["faithfulness", "rouge_l"], judge=parse_llm("openai:gpt-4o-mini"))
    results = asyncio.run(scorer.score(RagSample("q?", "answer", ["ctx"], reference="ref")))
    results["faithfulness"].value, results["faithfulness"].error, results["faithfulness"].reasons
"""

from __future__ import annotations

import asyncio
import math

from evaluators.rag.cost import UsageMeter
from evaluators.rag.judge_llm import (
    JudgeConcurrency,
    JudgeLLM,
    JudgeTrace,
    build_embeddings,
    cache_prompt_schemas,
)
from evaluators.rag.metrics import (
    BY_ID,
    ID_NEEDS,
    METRICS,
    MetricResult,
    RagSample,
    applicability,
    split_metrics,
    variant,
)
from rag.i18n import N_
from rag.models.llm import LLMEndpoint


class RagasScorer:
    """The chosen metrics with a fresh judge (one per run). ``await scorer.aclose()`` when done.

    ``gate`` is the run's ``JudgeConcurrency`` (shared with the generator); ``embeddings`` the answer
    relevancy embedder (``minilm``, or ``openai:MODEL`` / ``compat:MODEL@URL``); ``meter`` collects the
    judge's token usage when ``score`` is given none.

    Usage:
        scorer = RagasScorer(["faithfulness"], parse_llm("ollama:llama3.1"), gate=JudgeConcurrency(8))
        (await scorer.score(RagSample("q?", "answer", ["ctx"])))["faithfulness"].value
        await scorer.aclose()
    """

    def __init__(self, metrics: list[str] | None = None, judge: LLMEndpoint | None = None, *,
                 timeout: float = 60.0, max_retries: int = 2, gate: JudgeConcurrency | None = None,
                 embeddings: str = "minilm", meter: UsageMeter | None = None, repeats: int = 1,
                 temperature: float | None = None, second_judge: LLMEndpoint | None = None):
        self.judge, self.timeout, self.repeats = judge, timeout, max(1, int(repeats))
        self.active, self.skipped = split_metrics(metrics, judge)
        self.gate = gate or JudgeConcurrency(8)
        self.meter = meter or UsageMeter()
        self._closers: list = []
        llm = emb = None
        if judge is not None and any(METRICS[n].needs_judge for n in self.active):
            llm = JudgeLLM.build(judge, self.gate, timeout, max_retries)
            self._closers.append(llm)
            if any(METRICS[n].needs_embeddings for n in self.active):
                emb, client = build_embeddings(embeddings, timeout, max_retries, judge.settings)
                self._closers += [client] if client is not None else []
        judges = [llm] if llm is None or (self.repeats == 1 and temperature is None) else \
            [llm.repeat(i, temperature) for i in range(self.repeats)]
        self.by_repeat = [{n: cache_prompt_schemas(METRICS[n].build(j, emb)) for n in self.active} for j in judges]
        self.metrics = self.by_repeat[0]
        self.second: dict[str, object] = {}   # a second judge's metrics: the judged ones, scored once per row
        if second_judge is not None and llm is not None:
            llm2 = JudgeLLM.build(second_judge, self.gate, timeout, max_retries)
            self._closers.append(llm2)
            self.second = {n: cache_prompt_schemas(METRICS[n].build(llm2, emb)) for n in self.active
                           if METRICS[n].needs_judge}
        self.id_metrics = {n: METRICS[n].by_id() for n in self.active if METRICS[n].by_id}

    async def score(self, sample: RagSample, only: list[str] | None = None, meter: UsageMeter | None = None,
                    previous: dict[str, list] | None = None,
                    second_only: list[str] | None = None) -> dict[str, MetricResult]:
        """Every active metric (or ``only`` those) for one row, concurrently; never raises.
        Judge token usage goes to ``meter`` (the row's) or else the scorer's own; ``previous``: a
        retried row's stored repeat values per metric (those that scored are kept). The second judge
        scores the same metrics, or (a retry) ``second_only`` those: a metric asked only of the second
        judge comes back as an empty result carrying ``.second``."""
        names = [n for n in self.active if only is None or n in only]
        results = dict(zip(names, await asyncio.gather(*(self._repeated(n, sample, meter or self.meter,
                                                                        (previous or {}).get(n)) for n in names))))
        seconds = [n for n in self.second if (n in names if second_only is None else n in second_only)]
        for n, r in zip(seconds, await asyncio.gather(*(self._one(n, sample, meter or self.meter, metric=self.second[n])
                                                        for n in seconds))):
            results.setdefault(n, MetricResult()).second = r
        return results

    async def _repeated(self, name: str, sample: RagSample, meter: UsageMeter, previous: list | None) -> MetricResult:
        """One metric of one row, ``repeats`` times for a judged metric (once otherwise)."""
        if len(self.by_repeat) == 1 or not METRICS[name].needs_judge:
            return await self._one(name, sample, meter)
        kept = list(previous or []) + [None] * self.repeats
        todo = [i for i in range(self.repeats) if not isinstance(kept[i], (int, float))]   # None: failed or new
        done = dict(zip(todo, await asyncio.gather(*(self._one(name, sample, meter, i) for i in todo))))
        values = [done[i].value if i in done else float(kept[i]) for i in range(self.repeats)]
        failed = sorted((i, r) for i, r in done.items() if r.value is None)
        if failed and failed[0][1].not_applicable:   # the same for every repeat
            return failed[0][1]
        error = f"repeat {failed[0][0] + 1} of {self.repeats}: {failed[0][1].error}" if failed else None
        first = done.get(0, MetricResult())          # repeat 0's reasons (a kept repeat 0 keeps its stored ones)
        return MetricResult(value=None if failed else sum(values) / len(values), error=error, reasons=first.reasons,
                            variant=first.variant, repeats=values)

    async def _one(self, name: str, sample: RagSample, meter: UsageMeter, repeat: int = 0,
                   metric=None) -> MetricResult:
        """One metric of one row with repeat ``repeat``'s judge (or ``metric``: the second judge's)."""
        spec = METRICS[name]
        na = applicability(spec, sample)
        if na:
            return MetricResult(not_applicable=na)
        if "response" in spec.needs and sample.response is None:
            return MetricResult(error=N_("no response: generation failed"))  # stored in English, shown through _()
        if "retrieved_contexts" in spec.needs and not sample.retrieved_contexts:
            return MetricResult(error=N_("no contexts were retrieved"))  # a miss (rows.MISS_ERRORS), by this key
        how = variant(spec, sample)
        metric, needs = (self.id_metrics[name], ID_NEEDS) if how == BY_ID else \
            (metric or self.by_repeat[repeat][name], spec.needs)
        with JudgeTrace(meter, self.judge.model if self.judge else "") as trace:  # this task's judge calls
            try:
                value = await metric.ascore(**{f: getattr(sample, f) for f in needs})
                value = float(getattr(value, "value", value))
            except Exception as e:  # one row's metric fails; the run goes on
                return MetricResult(error=describe_error(e), reasons=trace.outputs, variant=how)
        if math.isnan(value):
            return MetricResult(error=nan_reason(name, trace.outputs), reasons=trace.outputs, variant=how)
        return MetricResult(value=value, reasons=trace.outputs, variant=how)

    async def aclose(self) -> None:
        for c in self._closers:
            close = getattr(c, "aclose", None) or c.close
            await close()
        self._closers = []


def describe_error(e: BaseException) -> str:
    """One line: the exception type and its message (timeouts say so). Instructor wraps every failed
    judge call in ``InstructorRetryException``: the cause is what is described (an HTTP error, a timeout,
    or a reply that did not parse even after the re-ask)."""
    attempts = getattr(e, "n_attempts", None)
    if attempts is not None and e.__cause__ is not None:
        cause = e.__cause__
        if getattr(e, "failed_attempts", None):  # only replies that did not parse are recorded as attempts
            return f"parse error: the judge's reply was not the JSON asked for ({attempts} attempts): " \
                   f"{describe_error(cause)}"[:500]
        return describe_error(cause)
    msg = str(e).strip().splitlines()[0] if str(e).strip() else ""
    kind = type(e).__name__
    if isinstance(e, asyncio.TimeoutError) or "Timeout" in kind:
        return f"timeout ({kind}){': ' + msg if msg else ''}"
    return f"{kind}: {msg}"[:500] if msg else kind


def nan_reason(name: str, reasons: list[dict]) -> str:
    if name == "faithfulness" and any(r.get("statements") == [] for r in reasons):
        return N_("no score: no statements could be extracted from the response")
    return N_("no score: Ragas returned NaN (the judge's reply gave nothing to score)")  # English kept: see NAN_ERROR


def explain(reasons: list[dict]) -> list[dict]:
    """The judge's reasons as display rows: item (statement / question / context), verdict, reason."""
    rows = []
    for r in reasons:
        items = r.get("statements") or r.get("classifications")
        if items and isinstance(items[0], dict):
            rows += [{"step": r["step"], "item": i.get("statement", ""),
                      "verdict": i.get("verdict", i.get("attributed")), "reason": i.get("reason", "")} for i in items]
        elif items:
            rows += [{"step": r["step"], "item": s, "verdict": None, "reason": "statement extracted"} for s in items]
        elif "verdict" in r:
            rows.append({"step": r["step"], "item": f"context {sum(x['step'] == r['step'] for x in rows) + 1}",
                         "verdict": r["verdict"], "reason": r.get("reason", "")})
        elif "question" in r:
            rows.append({"step": r["step"], "item": r["question"], "verdict": r.get("noncommittal"),
                         "reason": "generated question (verdict = noncommittal)"})
    return rows
