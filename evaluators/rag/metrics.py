"""The Ragas metric registry: our names, the Ragas class behind each, and what each needs.

==========================  ==============================================  =====  =============================
ours                        Ragas class                                     judge  needs
==========================  ==============================================  =====  =============================
faithfulness                collections.Faithfulness                        yes    response, retrieved contexts
answer_relevancy            collections.AnswerRelevancy (+ embeddings)      yes    response
context_precision           collections.ContextPrecisionWithReference       yes    reference answer, contexts
context_recall              collections.ContextRecall                       yes    reference answer, contexts
nonllm_context_precision    by id: ours (= Ragas IDBasedContextPrecision)    no     qrels ids (or reference contexts)
                            by text: NonLLMContextPrecisionWithReference
nonllm_context_recall       by id: ours (= Ragas IDBasedContextRecall)       no     qrels ids (or reference contexts)
                            by text: NonLLMContextRecall
rouge_l                     collections.RougeScore(rougeL, fmeasure) (*)    no     response, reference answer
bleu                        collections.BleuScore (*)                       no     response, reference answer
string_similarity           collections.NonLLMStringSimilarity (Levenshtein) no    response, reference answer
==========================  ==============================================  =====  =============================

(*) with CJK text, ROUGE tokenizes by character and BLEU uses sacrebleu's ``zh`` / ``char`` tokenizer
(evaluators/rag/text_metrics.py); text without CJK is scored exactly as Ragas does.

Every built metric has one call, ``await metric.ascore(**{field: sample.field for field in needs})``,
returning a Ragas ``MetricResult`` (or a float). The non-LLM context metrics have no
``ragas.metrics.collections`` class in Ragas 0.4.3: they run **by id** where the row has qrels ids
(``reference_context_ids``), with Ragas' ID-based definitions (evaluators/rag/id_metrics.py; fuzzy-matching
the texts of documents whose ids are known would only re-measure retrieval P/R with string noise), and
**by text** with the legacy ``ragas.metrics`` classes only for rows with reference contexts but no ids.

A row lacking a reference answer or reference contexts is *not applicable* for the metrics that need
them (never scored 0).

Usage:
    active, skipped = split_metrics(["faithfulness", "rouge_l"], judge=None)   # (["rouge_l"], {...})
    applicability(METRICS["context_recall"], RagSample("q?", "a", ["ctx"]))    # "not applicable: needs ..."
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

from evaluators.rag.id_metrics import IdMetric, id_context_precision, id_context_recall
from evaluators.rag.text_metrics import LanguageBleu, LanguageRouge
from rag.i18n import N_, _
from rag.models.llm import LLMEndpoint

JUDGE_HELP = N_("Choose a judge LLM (OpenAI with OPENAI_API_KEY, or an OpenAI-compatible server such as Ollama: "
              "ollama:llama3.1 or compat:MODEL@http://host:port/v1). CLI: --judge openai:gpt-4o-mini")


@dataclass(frozen=True)
class MetricSpec:
    name: str
    label: str
    needs_judge: bool
    needs: tuple[str, ...]                       # RagSample fields the metric reads: its ascore() arguments
    build: Callable[..., object] = field(repr=False)  # build(judge llm, embeddings), None where unused
    calls: Callable[[int], int] = field(repr=False, default=lambda k: 0)   # judge calls per row, given k
    needs_embeddings: bool = False
    description: str = ""
    by_id: Callable[[], object] | None = field(repr=False, default=None)   # the variant used when ids exist


BY_ID, BY_TEXT = "by id", "by text"
ID_NEEDS = ("retrieved_context_ids", "reference_context_ids")


class LegacyTextMetric:
    """A legacy ``ragas.metrics`` single-turn metric behind the collections call (``ascore(**fields)``).

    Used only for the text-based non-LLM context precision / recall: Ragas 0.4.3 has no collections
    class for them. Their one public import path (``ragas.metrics.<Name>``) warns DeprecationWarning
    ("use ragas.metrics.collections instead"), which has no such class to offer: that one warning is
    silenced at that one access.
    """

    def __init__(self, class_name: str):
        import ragas.metrics

        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", f"Importing {class_name} from 'ragas.metrics' is deprecated",
                                    DeprecationWarning)
            self.metric = getattr(ragas.metrics, class_name)()

    async def ascore(self, **fields) -> float:
        from ragas.dataset_schema import SingleTurnSample

        return await self.metric.single_turn_ascore(SingleTurnSample(user_input="", **fields))


def _rc():
    import ragas.metrics.collections as rc  # imported when a metric is built: Ragas takes seconds to import

    return rc


def display_label(name: str, variant: str | None = None) -> str:
    """The metric's label, naming the variant that ran: ``Context recall (non-LLM, by id)``."""
    spec = METRICS.get(name)
    label = spec.label if spec else name
    if not variant:
        return label
    return label[:-1] + f", {variant})" if label.endswith(")") else f"{label} ({variant})"


METRICS: dict[str, MetricSpec] = {s.name: s for s in [
    MetricSpec("faithfulness", "Faithfulness", True, ("user_input", "response", "retrieved_contexts"),
               lambda llm, emb: _rc().Faithfulness(llm=llm), lambda k: 2,
               description=N_("Share of the answer's statements the retrieved contexts support.")),
    MetricSpec("answer_relevancy", "Answer relevancy", True, ("user_input", "response"),
               lambda llm, emb: _rc().AnswerRelevancy(llm=llm, embeddings=emb, strictness=3), lambda k: 3, True,
               N_("Similarity of questions generated back from the answer to the real question.")),
    MetricSpec("context_precision", "Context precision", True, ("user_input", "reference", "retrieved_contexts"),
               lambda llm, emb: _rc().ContextPrecisionWithReference(llm=llm), lambda k: k,
               description=N_("Are the contexts useful for the reference answer ranked first (judged per context).")),
    MetricSpec("context_recall", "Context recall", True, ("user_input", "reference", "retrieved_contexts"),
               lambda llm, emb: _rc().ContextRecall(llm=llm), lambda k: 1,
               description=N_("Share of the reference answer's sentences the contexts support.")),
    MetricSpec("nonllm_context_precision", "Context precision (non-LLM)", False,
               ("retrieved_contexts", "reference_contexts"),
               lambda llm, emb: LegacyTextMetric("NonLLMContextPrecisionWithReference"),
               description=N_("By id (qrels): share of the retrieved documents that are relevant. By text (no ids): "
                           "average precision of retrieved contexts matching reference contexts (string similarity)."),
               by_id=lambda: IdMetric(id_context_precision)),
    MetricSpec("nonllm_context_recall", "Context recall (non-LLM)", False,
               ("retrieved_contexts", "reference_contexts"),
               lambda llm, emb: LegacyTextMetric("NonLLMContextRecall"),
               description=N_("Share of the relevant documents retrieved: by id (qrels), or by text (string "
                           "similarity of reference contexts) where there are no ids."),
               by_id=lambda: IdMetric(id_context_recall)),
    MetricSpec("rouge_l", "ROUGE-L", False, ("response", "reference"),
               lambda llm, emb: LanguageRouge(rouge_type="rougeL", mode="fmeasure"),
               description=N_("Longest-common-subsequence F1 of answer vs reference answer (CJK: by character).")),
    MetricSpec("bleu", "BLEU", False, ("response", "reference"), lambda llm, emb: LanguageBleu(),
               description=N_("sacreBLEU of answer vs reference answer, 0–1 (Chinese: zh tokenizer; "
                           "Japanese, Korean: by character).")),
    MetricSpec("string_similarity", "String similarity", False, ("response", "reference"),
               lambda llm, emb: _rc().NonLLMStringSimilarity(),
               description=N_("1 − normalised Levenshtein distance, answer vs reference answer.")),
]}
JUDGED = [m for m, s in METRICS.items() if s.needs_judge]
NON_LLM = [m for m, s in METRICS.items() if not s.needs_judge]
DATASET_FIELDS = {"reference": N_("a reference answer"), "reference_contexts": N_("reference contexts (qrels)")}


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
    repeats: list[float | None] | None = None   # each judge repeat's value (``--judge-repeats``), else None
    second: MetricResult | None = None          # the second judge's result (``--second-judge``)


def variant(spec: MetricSpec, sample: RagSample) -> str | None:
    """Which variant of a metric with an id form runs on this row: by id when it has qrels ids."""
    if spec.by_id is None:
        return None
    return BY_ID if sample.reference_context_ids and sample.retrieved_context_ids is not None else BY_TEXT


def applicability(spec: MetricSpec, sample: RagSample) -> str | None:
    """Why the metric does not apply to this question (the dataset lacks what it needs), else None."""
    if variant(spec, sample) == BY_ID:
        return None
    missing = [_(DATASET_FIELDS[f]) for f in spec.needs if f in DATASET_FIELDS and not getattr(sample, f)]
    return _("not applicable: needs {what}").format(what=_(" and ").join(missing)) if missing else None


def split_metrics(names: list[str] | None, judge: LLMEndpoint | None) -> tuple[list[str], dict[str, str]]:
    """(metrics that will run, {metric: why skipped}) for a requested list (None: all)."""
    names = list(METRICS) if not names else names
    unknown = [n for n in names if n not in METRICS]
    if unknown:
        raise ValueError(_("unknown metric(s) {unknown}; known: {known}").format(unknown=", ".join(unknown),
                                                                                 known=", ".join(METRICS)))
    skipped = {n: "needs a judge LLM. " + JUDGE_HELP for n in names if METRICS[n].needs_judge and judge is None}
    return [n for n in names if n not in skipped], skipped
