"""Ragas scoring, one row at a time, with honest per-metric errors and the judge's reasons.

Why not one big ``ragas.evaluate()``: a run must persist each row as it completes (so ``kill -9``
loses nothing and a run resumes), keep the reason a metric failed, show the judge's statements and
verdicts, and stop cleanly at a spend cap. So each metric's own ``single_turn_ascore`` (the real
Ragas code: its prompts, parsing and score math) is awaited per row, under our concurrency gate.

The metric registry maps our names to the Ragas classes and says what each needs:

==========================  ===========================================  =====  =============================
ours                        Ragas class                                  judge  needs
==========================  ===========================================  =====  =============================
faithfulness                Faithfulness                                 yes    response, retrieved contexts
answer_relevancy            ResponseRelevancy (+ embeddings)             yes    response
context_precision           LLMContextPrecisionWithReference             yes    reference answer, contexts
context_recall              LLMContextRecall                             yes    reference answer, contexts
nonllm_context_precision    by id: ours (= Ragas IDBasedContextPrecision) no     qrels ids (or reference contexts)
                            by text: NonLLMContextPrecisionWithReference
nonllm_context_recall       by id: ours (= Ragas IDBasedContextRecall)    no     qrels ids (or reference contexts)
                            by text: NonLLMContextRecall
rouge_l                     RougeScore(rougeL, fmeasure)                 no     response, reference answer
bleu                        BleuScore                                    no     response, reference answer
string_similarity           NonLLMStringSimilarity (Levenshtein)         no     response, reference answer
==========================  ===========================================  =====  =============================

The non-LLM context metrics run **by id** where the row has qrels ids (``reference_context_ids``),
with Ragas' ID-based definitions (evaluators/id_metrics.py); fuzzy-matching the texts of documents
whose ids are known would only re-measure retrieval P/R with string noise. The text-based Ragas
metrics run **by text** only for rows with reference contexts but no ids. ``MetricResult.variant``
says which ran.

A row lacking a reference answer or reference contexts is *not applicable* for the metrics that need
them (never scored 0). A failed judge call leaves that row's metric empty (None) with the reason.

Judge clients are built fresh per run (LangChain caches one async HTTP client per process, and a
second run on a new event loop then fails with connection errors): ``ChatOpenAI`` gets its own
``httpx`` clients, ``bypass_n=True`` (Ollama/vLLM ignore ``n``) and the openai client's own timeout
and retries (it retries HTTP 5xx/429/timeouts; Ragas' tenacity retry is set to a single attempt so
retries are not multiplied). Answer relevancy embeds with the local MiniLM by default (offline, free,
no remote embedding endpoint needed); ``openai:MODEL`` uses an OpenAI-compatible embeddings endpoint
with ``check_embedding_ctx_length=False`` (no tiktoken download).

Usage:
    scorer = RagasScorer(["faithfulness", "rouge_l"], judge=parse_llm("openai:gpt-4o-mini"))
    results = asyncio.run(scorer.score(RagSample("q?", "answer", ["ctx"], reference="ref")))
    results["faithfulness"].value, results["faithfulness"].error, results["faithfulness"].reasons
"""

from __future__ import annotations

import asyncio
import math
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import rag.settings  # noqa: F401  (sets RAGAS_DO_NOT_TRACK and the offline flags before ragas is imported)
from evaluators.cost import UsageMeter
from evaluators.id_metrics import IdMetric, id_context_precision, id_context_recall
from rag.generators import ENCODE_POOL
from rag.llm import LLMEndpoint, http_clients, http_limits, parse_llm

warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"ragas(\.|$)")
warnings.filterwarnings("ignore", message=r".*(LangchainLLMWrapper|LangchainEmbeddingsWrapper|ragas\.metrics).*")

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import ragas.metrics as rm
    from langchain_core.callbacks import BaseCallbackHandler
    from langchain_core.embeddings import Embeddings
    from langchain_core.outputs import LLMResult
    from ragas.callbacks import ChainType
    from ragas.cost import get_token_usage_for_openai
    from ragas.dataset_schema import SingleTurnSample
    from ragas.embeddings.base import LangchainEmbeddingsWrapper
    from ragas.llms.base import LangchainLLMWrapper
    from ragas.metrics._answer_relevance import ResponseRelevanceInput
    from ragas.run_config import RunConfig

class ResponseRelevancy(rm.ResponseRelevancy):
    """Ragas' ResponseRelevancy (same prompt, same score math) with its synchronous embedding step on the
    encoder thread, not the event loop: there it stalled every LLM call in flight (measured: up to 2 s per
    row on 2 cores, wall ÷ ideal 1.75 → 1.11 at concurrency 16)."""

    async def _ascore(self, row, callbacks) -> float:
        answers = await self.question_generation.generate_multiple(
            data=ResponseRelevanceInput(response=row["response"]), llm=self.llm, callbacks=callbacks,
            n=self.strictness)
        return await asyncio.get_running_loop().run_in_executor(ENCODE_POOL, self._calculate_score, answers, row)


JUDGE_HELP = ("Choose a judge LLM (OpenAI with OPENAI_API_KEY, or an OpenAI-compatible server such as Ollama: "
              "ollama:llama3.1 or compat:MODEL@http://host:port/v1). CLI: --judge openai:gpt-4o-mini")


@dataclass(frozen=True)
class MetricSpec:
    name: str
    label: str
    needs_judge: bool
    needs: tuple[str, ...]                       # RagSample fields the metric reads
    build: Callable[[], object] = field(repr=False)
    calls: Callable[[int], int] = field(repr=False, default=lambda k: 0)   # judge calls per row, given k
    needs_embeddings: bool = False
    description: str = ""
    by_id: Callable[[], object] | None = field(repr=False, default=None)   # the variant used when ids exist


BY_ID, BY_TEXT = "by id", "by text"
ID_NEEDS = ("retrieved_context_ids", "reference_context_ids")


def display_label(name: str, variant: str | None = None) -> str:
    """The metric's label, naming the variant that ran: ``Context recall (non-LLM, by id)``."""
    spec = METRICS.get(name)
    label = spec.label if spec else name
    if not variant:
        return label
    return label[:-1] + f", {variant})" if label.endswith(")") else f"{label} ({variant})"



METRICS: dict[str, MetricSpec] = {s.name: s for s in [
    MetricSpec("faithfulness", "Faithfulness", True, ("response", "retrieved_contexts"),
               lambda: rm.Faithfulness(), lambda k: 2,
               description="Share of the answer's statements the retrieved contexts support."),
    MetricSpec("answer_relevancy", "Answer relevancy", True, ("response",),
               lambda: ResponseRelevancy(strictness=3), lambda k: 3, True,
               "Similarity of questions generated back from the answer to the real question."),
    MetricSpec("context_precision", "Context precision", True, ("reference", "retrieved_contexts"),
               lambda: rm.LLMContextPrecisionWithReference(), lambda k: k,
               description="Are the contexts useful for the reference answer ranked first (judged per context)."),
    MetricSpec("context_recall", "Context recall", True, ("reference", "retrieved_contexts"),
               lambda: rm.LLMContextRecall(), lambda k: 1,
               description="Share of the reference answer's sentences the contexts support."),
    MetricSpec("nonllm_context_precision", "Context precision (non-LLM)", False,
               ("retrieved_contexts", "reference_contexts"),
               lambda: rm.NonLLMContextPrecisionWithReference(),
               description="By id (qrels): share of the retrieved documents that are relevant. By text (no ids): "
                           "average precision of retrieved contexts matching reference contexts (string similarity).",
               by_id=lambda: IdMetric(id_context_precision)),
    MetricSpec("nonllm_context_recall", "Context recall (non-LLM)", False,
               ("retrieved_contexts", "reference_contexts"),
               lambda: rm.NonLLMContextRecall(),
               description="Share of the relevant documents retrieved: by id (qrels), or by text (string "
                           "similarity of reference contexts) where there are no ids.",
               by_id=lambda: IdMetric(id_context_recall)),
    MetricSpec("rouge_l", "ROUGE-L", False, ("response", "reference"),
               lambda: rm.RougeScore(rouge_type="rougeL", mode="fmeasure"),
               description="Longest-common-subsequence F1 of answer vs reference answer."),
    MetricSpec("bleu", "BLEU", False, ("response", "reference"), lambda: rm.BleuScore(),
               description="sacreBLEU of answer vs reference answer, 0–1."),
    MetricSpec("string_similarity", "String similarity", False, ("response", "reference"),
               lambda: rm.NonLLMStringSimilarity(),
               description="1 − normalised Levenshtein distance, answer vs reference answer."),
]}
JUDGED = [m for m, s in METRICS.items() if s.needs_judge]
NON_LLM = [m for m, s in METRICS.items() if not s.needs_judge]
DATASET_FIELDS = {"reference": "a reference answer", "reference_contexts": "reference contexts (qrels)"}


@dataclass
class RagSample:
    user_input: str
    response: str | None
    retrieved_contexts: list[str]
    reference: str | None = None
    reference_contexts: list[str] | None = None
    retrieved_context_ids: list[str] | None = None
    reference_context_ids: list[str] | None = None    # qrels ids: the context metrics then run by id


@dataclass
class MetricResult:
    value: float | None = None
    error: str | None = None
    not_applicable: str | None = None
    reasons: list[dict] = field(default_factory=list)
    variant: str | None = None        # "by id" / "by text" for metrics that have both


def variant(spec: MetricSpec, sample: RagSample) -> str | None:
    """Which variant of a metric with an id form runs on this row: by id when it has qrels ids."""
    if spec.by_id is None:
        return None
    return BY_ID if sample.reference_context_ids and sample.retrieved_context_ids is not None else BY_TEXT


def applicability(spec: MetricSpec, sample: RagSample) -> str | None:
    """Why the metric does not apply to this question (the dataset lacks what it needs), else None."""
    if variant(spec, sample) == BY_ID:
        return None
    missing = [DATASET_FIELDS[f] for f in spec.needs if f in DATASET_FIELDS and not getattr(sample, f)]
    return f"not applicable: needs {' and '.join(missing)}" if missing else None


def split_metrics(names: list[str] | None, judge: LLMEndpoint | None) -> tuple[list[str], dict[str, str]]:
    """(metrics that will run, {metric: why skipped}) for a requested list (None: all)."""
    names = list(METRICS) if not names else names
    unknown = [n for n in names if n not in METRICS]
    if unknown:
        raise ValueError(f"unknown metric(s) {', '.join(unknown)}; known: {', '.join(METRICS)}")
    skipped = {n: "needs a judge LLM. " + JUDGE_HELP for n in names if METRICS[n].needs_judge and judge is None}
    return [n for n in names if n not in skipped], skipped


# ---------------------------------------------------------------- judge plumbing

class Gate:
    """At most ``size`` LLM calls in flight across the generator and the judge of one run."""

    def __init__(self, size: int):
        self.size = max(1, int(size))
        self._sem: asyncio.Semaphore | None = None

    @property
    def sem(self) -> asyncio.Semaphore:
        if self._sem is None:  # created inside the run's event loop
            self._sem = asyncio.Semaphore(self.size)
        return self._sem


class GatedLLM(LangchainLLMWrapper):
    """LangchainLLMWrapper whose calls pass the run's gate one by one (n > 1 becomes n single calls,
    which is also what ``bypass_n=True`` asks for)."""

    def __init__(self, chat, gate: Gate, run_config: RunConfig):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            super().__init__(chat, run_config=run_config, bypass_n=True)
        self.gate = gate

    async def agenerate_text(self, prompt, n=1, temperature=0.01, stop=None, callbacks=None):
        async def one():
            async with self.gate.sem:
                return await super(GatedLLM, self).agenerate_text(prompt, 1, temperature, stop, callbacks)

        results = await asyncio.gather(*(one() for _ in range(n)))
        return LLMResult(generations=[[r.generations[0][0] for r in results]], llm_output=results[0].llm_output)


class JudgeTrace(BaseCallbackHandler):
    """Collects one row-metric's parsed judge outputs (statements, verdicts, reasons) and token usage."""

    run_inline = True

    def __init__(self, meter: UsageMeter, model: str):
        self.meter, self.model = meter, model
        self._names: dict = {}
        self.outputs: list[dict] = []
        self._lock = threading.Lock()

    def on_chain_start(self, serialized, inputs, *, run_id, metadata=None, **kw):
        if (metadata or {}).get("type") == ChainType.RAGAS_PROMPT:
            self._names[run_id] = (serialized or {}).get("name", "prompt")

    def on_chain_end(self, outputs, *, run_id, **kw):
        name = self._names.pop(run_id, None)
        if name and isinstance(outputs, dict):
            with self._lock:
                self.outputs += [{"step": name, **o.model_dump()} for o in outputs.get("output", [])
                                 if hasattr(o, "model_dump")]

    def on_llm_end(self, response, **kw):
        u = get_token_usage_for_openai(response)
        self.meter.add(u.model or self.model, u.input_tokens, u.output_tokens)


class MiniLMEmbeddings(Embeddings):
    """LangChain ``Embeddings`` over the packaged MiniLM (rag.embedders, disk-cached): answer relevancy."""

    def __init__(self):
        from rag.embedders import resolve

        self.encoder = resolve("minilm").encoder()

    def embed_documents(self, texts):
        return self.encoder.embed(list(texts)).tolist()

    def embed_query(self, text):
        return self.encoder.embed([text])[0].tolist()


def build_embeddings(spec: str, timeout: float, max_retries: int, settings=None):
    """``minilm`` (default, local) or ``openai:MODEL`` (any OpenAI-compatible /embeddings)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if spec in ("", "minilm"):
            return LangchainEmbeddingsWrapper(MiniLMEmbeddings()), None
        from langchain_openai import OpenAIEmbeddings

        ep = parse_llm(spec, settings=settings)
        aclient, sync = http_clients(timeout=timeout)  # no key configured for the URL: no key sent
        emb = OpenAIEmbeddings(model=ep.model, base_url=ep.resolved_base_url(), api_key=ep.api_key(),
                               check_embedding_ctx_length=False, timeout=timeout, max_retries=max_retries,
                               http_client=sync, http_async_client=aclient)
        return LangchainEmbeddingsWrapper(emb), sync


# ---------------------------------------------------------------- the scorer

class RagasScorer:
    """The chosen metrics with a fresh judge (one per run). ``await scorer.aclose()`` when done."""

    def __init__(self, metrics: list[str] | None = None, judge: LLMEndpoint | None = None, *,
                 timeout: float = 60.0, max_retries: int = 2, gate: Gate | None = None,
                 embeddings: str = "minilm", meter: UsageMeter | None = None):
        self.judge, self.timeout = judge, timeout
        self.active, self.skipped = split_metrics(metrics, judge)
        self.gate = gate or Gate(8)
        self.meter = meter or UsageMeter()
        self._closers: list = []
        self.metrics = {n: METRICS[n].build() for n in self.active}
        self.id_metrics = {n: METRICS[n].by_id() for n in self.active if METRICS[n].by_id}
        if judge is not None and any(METRICS[n].needs_judge for n in self.active):
            self._attach_judge(judge, timeout, max_retries, embeddings)

    def _attach_judge(self, judge: LLMEndpoint, timeout: float, max_retries: int, embeddings: str) -> None:
        from langchain_openai import ChatOpenAI

        ok, why = judge.availability()
        if not ok:
            raise ValueError(f"judge {judge.label}: {why}")
        aclient, sclient = http_clients(limits=http_limits(self.gate.size))  # api_key() is the URL's own key
        chat = ChatOpenAI(model=judge.model, base_url=judge.resolved_base_url(), api_key=judge.api_key(),
                          timeout=timeout, max_retries=max_retries, temperature=0.0,
                          http_async_client=aclient, http_client=sclient)
        # One attempt at Ragas' level: the openai client already retried the HTTP call max_retries times.
        run_config = RunConfig(timeout=int(max(1, timeout)), max_retries=1, max_wait=1, max_workers=self.gate.size)
        llm = GatedLLM(chat, self.gate, run_config)
        self._closers += [aclient, sclient]
        for name, metric in self.metrics.items():
            spec = METRICS[name]
            if spec.needs_judge:
                metric.llm = llm
            if spec.needs_embeddings:
                metric.embeddings, extra = build_embeddings(embeddings, timeout, max_retries, judge.settings)
                self._closers += [extra] if extra is not None else []
            metric.init(run_config)

    async def score(self, sample: RagSample, only: list[str] | None = None,
                    meter: UsageMeter | None = None) -> dict[str, MetricResult]:
        """Every active metric (or ``only`` those) for one row, concurrently; never raises.
        Judge token usage goes to ``meter`` (the row's) or else the scorer's own."""
        names = [n for n in self.active if only is None or n in only]
        results = await asyncio.gather(*(self._one(n, sample, meter or self.meter) for n in names))
        return dict(zip(names, results))

    async def _one(self, name: str, sample: RagSample, meter: UsageMeter) -> MetricResult:
        spec = METRICS[name]
        na = applicability(spec, sample)
        if na:
            return MetricResult(not_applicable=na)
        if "response" in spec.needs and sample.response is None:
            return MetricResult(error="no response: generation failed")
        if "retrieved_contexts" in spec.needs and not sample.retrieved_contexts:
            return MetricResult(error="no contexts were retrieved")
        trace = JudgeTrace(meter, self.judge.model) if spec.needs_judge else None
        how = variant(spec, sample)
        metric, needs = (self.id_metrics[name], ID_NEEDS) if how == BY_ID else (self.metrics[name], spec.needs)
        fields = {f: getattr(sample, f) for f in ("user_input", *needs)}
        try:
            value = await metric.single_turn_ascore(SingleTurnSample(**fields), callbacks=[trace] if trace else None)
            value = float(value)
        except Exception as e:  # one row's metric fails; the run goes on
            return MetricResult(error=describe_error(e), reasons=trace.outputs if trace else [], variant=how)
        reasons = trace.outputs if trace else []
        if math.isnan(value):
            return MetricResult(error=nan_reason(name, reasons), reasons=reasons, variant=how)
        return MetricResult(value=value, reasons=reasons, variant=how)

    async def aclose(self) -> None:
        for c in self._closers:
            close = getattr(c, "aclose", None)
            await close() if close else c.close()
        self._closers = []


def describe_error(e: BaseException) -> str:
    """One line: the exception type and its message (timeouts say so)."""
    msg = str(e).strip().splitlines()[0] if str(e).strip() else ""
    kind = type(e).__name__
    if isinstance(e, asyncio.TimeoutError) or "Timeout" in kind:
        return f"timeout ({kind}){': ' + msg if msg else ''}"
    return f"{kind}: {msg}"[:500] if msg else kind


def nan_reason(name: str, reasons: list[dict]) -> str:
    if name == "faithfulness" and any(r.get("statements") == [] for r in reasons):
        return "no score: no statements could be extracted from the response"
    return "no score: Ragas returned NaN (the judge's reply gave nothing to score)"


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
