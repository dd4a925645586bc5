"""What a RAG run is asked to do (``RagConfig``), checked before any work, and what its run record says.

Usage:
    cfg = RagConfig(models=["minilm", "bm25"], generator="extractive", k=4)
    check_config(cfg)                      # ValueError / ModelUnavailable before anything runs
    questions_for(dataset, cfg)            # the dataset's queries, or a saved question set
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

from evaluators.rag.cost import PriceTable
from evaluators.rag.metrics import split_metrics
from rag.data.dataset import Dataset
from rag.data.language import profile_dataset
from rag.data.question_sets import EvalQuestion, load_question_set, questions_from_dataset
from rag.i18n import _
from rag.milvus.index_config import IndexConfig
from rag.models.devices import runtime_info
from rag.models.generators import DEFAULT_PROMPT, GenerationConfig, generator_kind, generator_label
from rag.models.limits import models_info
from rag.models.llm import parse_llm
from rag.models.registry import resolve


@dataclass
class RagConfig:
    models: list[str]
    generator: str = "extractive"
    judge: str = "none"
    generator_base_url: str | None = None
    judge_base_url: str | None = None
    metrics: list[str] | None = None          # None: every metric that can run
    k: int = 4
    temperature: float = 0.0
    prompt_template: str = DEFAULT_PROMPT
    max_tokens: int = 300
    concurrency: int = 4
    timeout: float = 60.0
    max_retries: int = 2
    spend_cap_usd: float | None = None
    limit: int | None = None                  # first N questions
    question_set: str | None = None           # a saved question set instead of the dataset's queries
    embeddings: str = "minilm"                # for answer relevancy
    judge_repeats: int = 1                    # each judged metric scored this many times per row (judge noise)
    judge_temperature: float | None = None    # the judge's temperature (None: Ragas' 0.01)
    second_judge: str | None = None           # another judge scoring the same rows (how far the verdicts depend on it)
    chunking: str = ""
    index: dict = field(default_factory=lambda: IndexConfig().to_json())  # IndexConfig.to_json(): type, metric, params
    prices: dict = field(default_factory=lambda: PriceTable.default().to_json())

    def generation(self) -> GenerationConfig:
        return GenerationConfig(self.k, self.temperature, self.prompt_template, self.max_tokens, self.timeout,
                                self.max_retries, max_connections=self.concurrency)

    @classmethod
    def from_dict(cls, d: dict) -> RagConfig:
        return cls(**{f.name: d[f.name] for f in fields(cls) if f.name in d})

    def price_table(self) -> PriceTable:
        return PriceTable({m: (float(v[0]), float(v[1])) for m, v in self.prices.items()}) if self.prices \
            else PriceTable()


def questions_for(ds: Dataset, cfg: RagConfig) -> list[EvalQuestion]:
    qs = load_question_set(cfg.question_set) if cfg.question_set else questions_from_dataset(ds)
    return qs[:cfg.limit] if cfg.limit else qs


def check_config(cfg: RagConfig, settings=None) -> None:
    """Fail before any work on a bad model, generator, judge or setting (with ``settings``' keys)."""
    for m in cfg.models:
        resolve(m)
    if not cfg.models:
        raise ValueError(_("choose at least one embedding model"))
    kind = generator_kind(cfg.generator)
    for ep in ([] if kind.is_baseline else [parse_llm(cfg.generator, cfg.generator_base_url, settings)]) + \
            [e for e in [parse_llm(cfg.judge, cfg.judge_base_url, settings), parse_llm(cfg.second_judge)] if e]:
        ok, why = ep.availability()
        if not ok:
            raise ValueError(_("{endpoint}: {why}").format(endpoint=ep.label, why=why))
    split_metrics(cfg.metrics, parse_llm(cfg.judge, cfg.judge_base_url))
    if cfg.concurrency < 1 or cfg.timeout <= 0 or cfg.max_retries < 0 or cfg.judge_repeats < 1:
        raise ValueError(_("concurrency and judge repeats must be ≥ 1, timeout > 0 and retries ≥ 0"))
    cfg.generation()  # validates the template and k
    IndexConfig.from_json(cfg.index)  # validates the index type, metric and parameters


def run_config_record(ds: Dataset, cfg: RagConfig) -> dict:
    kind = generator_kind(cfg.generator)
    judge = parse_llm(cfg.judge, cfg.judge_base_url)
    active, skipped = split_metrics(cfg.metrics, judge)
    return {"models": cfg.models, "k": cfg.k, "dataset_source": ds.source, "rag": asdict(cfg),
            "generator": {"spec": cfg.generator, "label": generator_label(cfg.generator, cfg.generator_base_url),
                          "baseline": kind.is_baseline},
            "judge": judge.to_config() if judge else None, "metrics_active": active, "metrics_skipped": skipped,
            "model_ids": {m: resolve(m).model_id for m in cfg.models},
            "models_info": models_info(cfg.models, ds),  # prompts, dims, max tokens and cuts, as retrieval records
            "language": profile_dataset(ds).to_json(),
            # Ragas 0.4.3 adapts prompts only by LLM translation (PromptMixin.adapt_prompts): not done, said
            "judge_prompts": "english" if judge else None,
            **IndexConfig.from_json(cfg.index).record(), **runtime_info()}
