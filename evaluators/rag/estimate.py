"""Before a RAG run: how many LLM calls, how many tokens, what it will cost.

Call counts are exact for the ``ragas.metrics.collections`` metrics of Ragas 0.4.3 (the same as the
legacy classes: faithfulness 2 per row, answer relevancy 3, context precision 1 per retrieved context,
context recall 1; the generator 1 when it is an LLM) and skip rows where a metric is not applicable.
Prompt sizes come from rendering the metrics' *own* Ragas prompts (their instructions and few-shot
examples are most of the tokens) with the question, typical contexts of this corpus and an answer of
typical length, plus the JSON schema instructor sends again in its system message; tokens are
characters ÷ 4 (no tiktoken download). Completion sizes are rough. Failed-call retries and re-asks of
a reply that did not parse come on top. With judge repeats (``cfg.judge_repeats`` = K) every judged
metric's calls and tokens count K times; a second judge (``cfg.second_judge``) scores each once more.

Usage:
    est = estimate_run(questions, ds, cfg)            # cfg: rag_job.RagConfig
    est.total_calls, est.total_tokens, est.cost(PriceTable.default())
"""

from __future__ import annotations

import json
import statistics

from evaluators.rag.cost import Estimate, approx_tokens
from evaluators.rag.metrics import METRICS, RagSample, applicability, split_metrics
from rag.data.dataset import Dataset
from rag.data.question_sets import EvalQuestion
from rag.models.generators import Context as Ctx
from rag.models.generators import generator_endpoint, render_prompt, split_sentences
from rag.models.llm import parse_llm

TYPICAL_ANSWER_CHARS = 260
COMPLETION_TOKENS_GENERATOR = 80


def _call(prompt, data) -> str:
    """What one judge call sends: the metric's prompt, and instructor's JSON-mode system message (the
    reply's schema again, ~200 characters of instruction around it)."""
    return prompt.to_string(data) + " " * 200 + json.dumps(prompt.output_model.model_json_schema(), indent=2)


def _faithfulness(q, ctxs, ans, ref):
    from ragas.metrics.collections.faithfulness.util import (
        NLIStatementInput,
        NLIStatementPrompt,
        StatementGeneratorInput,
        StatementGeneratorPrompt,
    )

    stmts = split_sentences(ans) or [ans]
    return [(_call(StatementGeneratorPrompt(), StatementGeneratorInput(question=q, answer=ans)), len(ans) + 40),
            (_call(NLIStatementPrompt(), NLIStatementInput(context="\n".join(ctxs), statements=stmts)),
             sum(len(s) + 90 for s in stmts))]


def _relevancy(q, ctxs, ans, ref):
    from ragas.metrics.collections.answer_relevancy.util import AnswerRelevanceInput, AnswerRelevancePrompt

    strictness = METRICS["answer_relevancy"].calls(0)
    return [(_call(AnswerRelevancePrompt(), AnswerRelevanceInput(response=ans)), len(q) + 40)] * strictness


def _precision(q, ctxs, ans, ref):
    from ragas.metrics.collections.context_precision.util import ContextPrecisionInput, ContextPrecisionPrompt

    return [(_call(ContextPrecisionPrompt(), ContextPrecisionInput(question=q, context=c, answer=ref)), 160)
            for c in ctxs]


def _recall(q, ctxs, ans, ref):
    from ragas.metrics.collections.context_recall.util import ContextRecallInput, ContextRecallPrompt

    text = _call(ContextRecallPrompt(), ContextRecallInput(question=q, context="\n".join(ctxs), answer=ref))
    return [(text, sum(len(s) + 90 for s in split_sentences(ref) or [ref]))]


# metric -> the (prompt text, completion chars) it sends for one row; a new judged metric is one entry
PROMPTS = {"faithfulness": _faithfulness, "answer_relevancy": _relevancy,
           "context_precision": _precision, "context_recall": _recall}


def typical_contexts(ds: Dataset, k: int) -> list[str]:
    """k texts of median document length: what a retrieval will hand the generator and the judge."""
    docs = sorted(ds.documents, key=lambda d: len(d.full_text))
    if not docs:
        return []
    med = docs[len(docs) // 2]
    return [med.full_text] * min(k, len(docs))


def estimate_run(questions: list[EvalQuestion], ds: Dataset, cfg, rows_done: set | None = None) -> Estimate:
    """The LLM work of running ``cfg`` (a RagConfig) over ``questions`` for each model, minus ``rows_done``."""
    judge = parse_llm(cfg.judge, cfg.judge_base_url)
    gen_ep = generator_endpoint(cfg.generator, cfg.generator_base_url)
    second = parse_llm(cfg.second_judge) if judge is not None else None
    active, _ = split_metrics(cfg.metrics, judge)
    judged = [n for n in active if METRICS[n].needs_judge]
    ctxs = typical_contexts(ds, cfg.k)
    lengths = [len(s) for d in ds.documents[:200] for s in split_sentences(d.text)]
    ans = "x" * (int(statistics.median(lengths) * 2) if lengths and gen_ep is None else TYPICAL_ANSWER_CHARS)
    est, k = Estimate(), cfg.judge_repeats
    per_q: dict[str, tuple] = {}
    for model in cfg.models:
        for q in questions:
            if rows_done and (model, q.id) in rows_done:
                continue
            est.rows += 1
            if gen_ep is not None:
                prompt = render_prompt(cfg.prompt_template, q.question, [Ctx("", "", c) for c in ctxs])
                est.add("generator", gen_ep.model, 1, approx_tokens(prompt), COMPLETION_TOKENS_GENERATOR)
            if q.id not in per_q:
                sample = RagSample(q.question, ans, ctxs, q.reference, q.reference_contexts or None)
                per_q[q.id] = tuple((n, PROMPTS[n](q.question, ctxs, ans, q.reference or ""))
                                    for n in judged if applicability(METRICS[n], sample) is None)
            for name, prompts in per_q[q.id]:
                est.add("judge", judge.model, k * len(prompts), k * sum(approx_tokens(p) for p, _ in prompts),
                        k * sum(approx_tokens(c) for _, c in prompts))
                est.per_metric_calls[name] = est.per_metric_calls.get(name, 0) + k * len(prompts)
                if second is not None:
                    est.add("second judge", second.model, len(prompts), sum(approx_tokens(p) for p, _ in prompts),
                            sum(approx_tokens(c) for _, c in prompts))
    return est
