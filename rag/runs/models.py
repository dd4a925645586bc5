"""Typed runs: one pydantic model per run kind for its configuration, rows and summary.

Why: run records used to be untyped dicts with metric values beside the row fields
(``row["ndcg@10"]`` next to ``row["ranking"]``), so every reader kept its own list of "fields that
are not metrics". Here each row has its metric values in ``scores`` ({name: value or None}) and
every field the code reads is declared; configurations and summaries allow extra fields because
they carry open-ended data (index parameters, runtime info, the environment manifest).

Old stores still open: ``RunRow.read`` moves the numeric fields a row model does not declare into
``scores`` (rows written before typed runs, ``tests/runs/fixtures/runs_v1.sqlite``), so the store migrates
rows as it reads and writes them. The kinds' *names and models* live here (the store validates
against them); what each kind means to a reader (headline, comparison, report) is
``evaluators.stats.run_kinds``. Adding a kind: its models and one ``register_kind`` call here, one entry there.

Usage:
    row = RetrievalRow(model="bm25", item_id="q1", ranking=[["d3", 1.2]], scores={"ndcg@10": 0.8})
    RUN_MODELS["rag"].row.read({"model": "m", "item_id": "q1", "rouge_l": 0.4}).scores   # {"rouge_l": 0.4}
    RUN_MODELS["load"].summary.model_validate(run.summary).per_model()              # {model: {p95_ms: ..}}
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from rag.i18n import _


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


class _Open(BaseModel):
    """Configs and summaries: declared fields are checked, anything else is kept as given."""
    model_config = ConfigDict(extra="allow", protected_namespaces=())


class RunRow(BaseModel):
    """One (model, item) row of any kind; metric values only in ``scores``."""
    model_config = ConfigDict(extra="allow", protected_namespaces=())

    model: str
    item_id: str
    scores: dict[str, float | None] = Field(default_factory=dict)

    @classmethod
    def read(cls, data: dict) -> RunRow:
        """A stored row, migrated: numeric (or empty) fields this model does not declare are metric
        values of a row written before typed runs, and move into ``scores``."""
        if "scores" in data:
            return cls.model_validate(data)
        declared = set(cls.model_fields)
        scores = {k: (float(v) if _number(v) and math.isfinite(v) else None) for k, v in data.items()
                  if k not in declared and (v is None or _number(v))}
        rest = {k: v for k, v in data.items() if k not in scores}
        return cls.model_validate({**rest, "scores": scores})

    def columns(self) -> dict[str, Any]:
        """The row as flat export columns: its fields, then each score under its metric's name."""
        out = self.model_dump(exclude={"scores"})
        return {**out, **{k: v for k, v in self.scores.items() if k not in out}}


class RetrievalRow(RunRow):
    ranking: list[tuple[str, float]] = Field(default_factory=list)   # [(doc id, score)] best first


class RagRow(RunRow):
    question_id: str | None = None
    question: str = ""
    response: str | None = None
    generator: str | None = None
    retrieved_ids: list[str] = Field(default_factory=list)
    retrieved_scores: list[float] = Field(default_factory=list)
    contexts: list[str] = Field(default_factory=list)
    relevant_ids: list[str] | None = None
    reference: str | None = None
    errors: dict[str, str] = Field(default_factory=dict)            # metric (or "generation") -> reason
    not_applicable: dict[str, str] = Field(default_factory=dict)    # metric -> why it could not apply
    reasons: dict[str, Any] = Field(default_factory=dict)           # metric -> the judge's steps
    variants: dict[str, str] = Field(default_factory=dict)          # metric -> "by id" / "by text"
    repeats: dict[str, list[float | None]] = Field(default_factory=dict)  # metric -> each judge repeat's value
    second_judge: dict[str, dict[str, Any]] = Field(default_factory=dict)  # scores/errors/reasons -> metric -> …
    usage: dict[str, dict[str, int]] = Field(default_factory=dict)  # LLM model -> token counts
    seconds: float | None = None


class LoadRow(RunRow):
    """``item_id`` "load" (one phase: Locust's numbers in ``scores``, the time series in ``history``)
    or "slo" (the SLO search: ``max_users`` and ``rps`` in ``scores``, every step in ``steps``)."""
    users: int | None = None
    spawn_rate: float | None = None
    duration_s: float | None = None
    seconds: float | None = None
    split: dict[str, float] = Field(default_factory=dict)
    top_failures: list[dict] = Field(default_factory=list)
    history: list[dict] = Field(default_factory=list)
    target_p95_ms: float | None = None
    stopped_by: str | None = None
    steps: list[dict] = Field(default_factory=list)


class RunConfig(_Open):
    models: list[str] = Field(default_factory=list)
    k: int | None = None
    dataset_source: str | None = None
    model_ids: dict[str, str | None] = Field(default_factory=dict)


class RetrievalConfig(RunConfig):
    collections: dict[str, str] = Field(default_factory=dict)
    query_kinds: dict[str, int] = Field(default_factory=dict)  # judged queries evaluated: {"text": n, "image": m}


class RagRunConfig(RunConfig):
    rag: dict = Field(default_factory=dict)          # evaluators.rag.config.RagConfig as a dict
    generator: dict | str | None = None
    judge: dict | None = None
    metrics_active: list[str] = Field(default_factory=list)
    metrics_skipped: dict = Field(default_factory=dict)


class LoadConfig(RunConfig):
    endpoint: str = "search"
    users: int | None = None


class RunSummary(_Open):
    def per_model(self) -> dict[str, dict[str, float | None]]:
        """``{model: {metric: value}}``: the one shape every reader of per-model aggregates gets."""
        return {}


class RetrievalSummary(RunSummary):
    metrics: dict[str, dict[str, float | None]] = Field(default_factory=dict)   # model -> metric -> mean
    search_seconds: dict[str, float] = Field(default_factory=dict)

    def per_model(self) -> dict[str, dict[str, float | None]]:
        return self.metrics


class RagMetric(_Open):
    mean: float | None = None
    n: int = 0
    total: int = 0
    not_applicable: int = 0
    failed: int = 0
    variant: str | None = None


class RagSummary(RunSummary):
    metrics: dict[str, dict[str, RagMetric]] = Field(default_factory=dict)     # model -> metric -> aggregate
    metrics_active: list[str] = Field(default_factory=list)
    metrics_skipped: dict = Field(default_factory=dict)
    rows: int | None = None
    expected_rows: int | None = None
    failed_rows: int = 0
    generator: dict | None = None
    judge: str | None = None
    usage: dict = Field(default_factory=dict)
    prices: dict = Field(default_factory=dict)

    def per_model(self) -> dict[str, dict[str, float | None]]:
        return {m: {name: v.mean for name, v in ms.items()} for m, ms in self.metrics.items()}


class LoadResult(_Open):
    requests: int = 0
    failures: int = 0
    rps: float = 0.0
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    avg_ms: float | None = None
    users: int | None = None
    split: dict[str, float] = Field(default_factory=dict)
    top_failures: list[dict] = Field(default_factory=list)


class LoadSummary(RunSummary):
    results: dict[str, LoadResult] = Field(default_factory=dict)               # model -> Locust's numbers
    service: dict = Field(default_factory=dict)
    slo: dict[str, dict] = Field(default_factory=dict)
    slo_steps: dict[str, list[dict]] = Field(default_factory=dict)
    slo_stopped_by: dict[str, str] = Field(default_factory=dict)

    def per_model(self) -> dict[str, dict[str, float | None]]:
        return {m: {k: float(v) for k, v in r.model_dump().items() if _number(v)} for m, r in self.results.items()}


class SweepRow(RunRow):
    """One (setup, query) row of a sweep: ``model`` is the setup's id, ``ranking`` its document ranking
    (chunked setups scored at document level), ``latency_ms`` that query's search (reranker included)."""
    ranking: list[tuple[str, float]] = Field(default_factory=list)
    latency_ms: float | None = None


class SweepConfig(RunConfig):
    setups: list[dict] = Field(default_factory=list)          # evaluators.sweep.setups.Setup, as dicts, in order
    grid: dict = Field(default_factory=dict)                  # the lists the sweep was given
    collections: dict[str, str] = Field(default_factory=dict)  # setup id -> collection searched
    milvus_uri: str | None = None                             # the Milvus searched (no credentials)
    query_tokens: float | None = None                         # tokens per query the embedding cost assumes


class SweepSummary(RunSummary):
    metrics: dict[str, dict[str, float | None]] = Field(default_factory=dict)   # setup id -> metric -> mean
    latency: dict[str, dict[str, float]] = Field(default_factory=dict)        # setup id -> p50_ms, p95_ms
    cost: dict[str, dict] = Field(default_factory=dict)                       # setup id -> usd_per_1k_queries, basis
    asr: dict[str, dict] = Field(default_factory=dict)                        # setup id -> its ASR record (WER …)
    metric: str | None = None                                                 # the leaderboard's metric
    leaderboard: list[dict] = Field(default_factory=list)                     # best first, with CLD letters
    mdd: float | None = None                                                  # minimum detectable difference
    n_queries: int | None = None
    notes: list[str] = Field(default_factory=list)
    seconds: float | None = None

    def per_model(self) -> dict[str, dict[str, float | None]]:
        return {s: {**m, **self.latency.get(s, {})} for s, m in self.metrics.items()}


class DecisionConfig(RunConfig):
    """The brief the decision was made against (``flows.decide.brief.Brief`` as JSON)."""
    brief: dict = Field(default_factory=dict)


class DecisionRow(RunRow):
    """One candidate (``item_id`` "candidate"): every constraint of the brief with its measured value."""
    passes: bool = False
    failed: list[str] = Field(default_factory=list)
    checks: list[dict] = Field(default_factory=list)
    quality: dict = Field(default_factory=dict)          # metric, mean, ci_low, ci_high, n
    p95_ms: float | None = None
    cost_month_usd: float | None = None
    one_off_usd: float | None = None
    memory_mb: float | None = None


class DecisionSummary(RunSummary):
    """The recommendation, why, and the runs it was built from (the whole record in ``record``)."""
    recommended: str | None = None
    reason: str = ""
    runner_up: str | None = None
    what_would_change: str = ""
    tied_group: list[str] = Field(default_factory=list)
    runs: dict[str, str | None] = Field(default_factory=dict)   # retrieval, rag, load -> run id
    verdicts: dict[str, dict] = Field(default_factory=dict)     # model -> mean, ci_low, ci_high, p95_ms, cost, passes
    record: dict = Field(default_factory=dict)

    def per_model(self) -> dict[str, dict[str, float | None]]:
        return {m: {k: float(v) for k, v in r.items() if _number(v)} for m, r in self.verdicts.items()}


@dataclass(frozen=True)
class RunModels:
    """The models of one run kind."""
    config: type[RunConfig]
    row: type[RunRow]
    summary: type[RunSummary]


RUN_MODELS: dict[str, RunModels] = {}


def register_kind(name: str, config: type[RunConfig], row: type[RunRow], summary: type[RunSummary]) -> None:
    RUN_MODELS[name] = RunModels(config, row, summary)


register_kind("retrieval", RetrievalConfig, RetrievalRow, RetrievalSummary)
register_kind("rag", RagRunConfig, RagRow, RagSummary)
register_kind("load", LoadConfig, LoadRow, LoadSummary)
register_kind("sweep", SweepConfig, SweepRow, SweepSummary)
register_kind("decision", DecisionConfig, DecisionRow, DecisionSummary)


def models_for(kind: str) -> RunModels:
    """The models of ``kind``; ValueError names the registered kinds."""
    if kind not in RUN_MODELS:
        raise ValueError(f"run kind must be one of {tuple(RUN_MODELS)}")  # i18n: internal (kinds come from code)
    return RUN_MODELS[kind]


def batching_label(config: dict, summary: dict | None = None) -> str:
    """How the service served a load run: what it reported (``summary["service"]``), else what was
    asked (``config``); runs recorded before micro-batching existed were served one at a time."""
    b = (summary or {}).get("service") or config
    if "batching" not in b:
        return _("micro-batching off (one request at a time; recorded before the setting existed)")
    if not b["batching"]:
        return _("micro-batching off (one request at a time)")
    return _("micro-batching on (window {window} ms, max batch {max_batch})").format(
        window=f"{float(b.get('batch_window_ms', 0)):g}", max_batch=b.get("max_batch") or _("not recorded"))
