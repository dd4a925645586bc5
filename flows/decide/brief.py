"""Step 1 of choosing a model: the brief, what the user needs, stated before any number is looked at.

Why a typed record: every later step reads it (the shortlist filters by its languages, license, memory
and where models may run; the evaluation runs at its concurrency within its spend cap; the record
checks every candidate against each of its constraints), and a decision is only defensible when the
brief it was made against is saved with it. The defaults describe a common first project: retrieval,
nDCG@10 of at least 0.5, p95 ≤ 200 ms at 4 concurrent users, 10,000 queries a day, no memory limit,
local or API models, commercial use required.

Usage:
    brief = Brief(min_quality=0.6, p95_ms=150, users=8, where="local")
    brief.metric_name                       # "ndcg@10"
    Brief.load(path) == Brief.model_validate_json(brief.model_dump_json())
    brief.constraints()                     # [("quality", "nDCG@10 ≥ 0.6"), ("p95_ms", "p95 ≤ 150 ms at 8 users"), …]
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from rag.i18n import _

TASKS = ("retrieval", "rag", "image")
METRICS = ("ndcg", "recall", "mrr", "map", "precision", "hit_rate")
WHERE = {"local": "local models only (open weights, data stays here)", "api": "local models and hosted APIs"}


class Brief(BaseModel):
    """What the decision must satisfy. ``None`` on a limit means "no limit"."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    task: Literal["retrieval", "rag", "image"] = "retrieval"
    metric: str = Field("ndcg", description="retrieval metric family; scored at k")
    k: int = Field(10, ge=1, le=100)
    min_quality: float = Field(0.5, ge=0.0, le=1.0, description="the minimum acceptable mean of the metric")
    p95_ms: float | None = Field(200.0, gt=0, description="latency SLO: p95 of a search at `users` concurrent users")
    users: int = Field(4, ge=1, le=500)
    queries_per_day: int = Field(10_000, ge=0)
    budget_month_usd: float | None = Field(None, ge=0, description="monthly query-embedding cost limit")
    budget_one_off_usd: float | None = Field(None, ge=0, description="one-off corpus embedding cost limit")
    where: Literal["local", "api"] = "api"
    commercial: bool = True
    memory_mb: float | None = Field(None, gt=0, description="limit for model weights + vectors in memory")
    max_truncated: float = Field(0.5, ge=0.0, le=1.0,
                                 description="exclude a model that would cut more than this share of documents")
    spend_cap_usd: float = Field(0.5, gt=0, description="what evaluation may spend on paid APIs")
    load_seconds: int = Field(3, ge=1, le=900, description="load test length per model")

    @field_validator("metric")
    @classmethod
    def _metric(cls, v: str) -> str:
        if v not in METRICS:
            raise ValueError(_("give one of {choices} (scored at k)").format(choices=", ".join(METRICS)))
        return v

    @property
    def metric_name(self) -> str:
        """The metric as runs store it: ``ndcg@10``."""
        return f"{self.metric}@{self.k}"

    def constraints(self) -> list[tuple[str, str]]:
        """(key, the constraint in words) for every constraint the brief sets, in the record's order."""
        out = [("quality", f"{self.metric_name} ≥ {self.min_quality:g}")]
        if self.p95_ms is not None:
            out.append(("p95_ms", _("p95 ≤ {ms} ms at {users} users").format(ms=f"{self.p95_ms:g}", users=self.users)))
        if self.budget_month_usd is not None:
            out.append(("cost_month_usd", _("≤ ${usd}/month at {queries} queries/day").format(
                usd=f"{self.budget_month_usd:g}", queries=f"{self.queries_per_day:,}")))
        if self.budget_one_off_usd is not None:
            out.append(("one_off_usd", _("corpus embedding ≤ ${usd}").format(usd=f"{self.budget_one_off_usd:g}")))
        if self.memory_mb is not None:
            out.append(("memory_mb", _("memory ≤ {mb} MB").format(mb=f"{self.memory_mb:g}")))
        return out

    def to_json(self) -> dict:
        return self.model_dump(mode="json")

    def save(self, path: str | Path) -> Path:
        from rag.outputs import write_atomic

        return Path(write_atomic(path, json.dumps(self.to_json(), indent=2)))

    @classmethod
    def load(cls, path: str | Path) -> Brief:
        """A saved brief; one ValueError line naming the file and field when it does not parse."""
        p = Path(path)
        try:
            return cls.model_validate_json(p.read_text(encoding="utf-8"))
        except OSError as e:
            raise ValueError(_("{file}: cannot read the brief ({reason})").format(file=p, reason=e.strerror or e)) \
                from None
        except ValidationError as e:
            raise ValueError(_("{file}: {error}").format(file=p, error=first_error(e))) from None

    @classmethod
    def of(cls, **values) -> Brief:
        """A brief from options (``None`` values keep the defaults); ValueError names the field."""
        try:
            return cls(**{k: v for k, v in values.items() if v is not None})
        except ValidationError as e:
            raise ValueError(_("brief: {error}").format(error=first_error(e))) from None


def first_error(e: ValidationError) -> str:
    err = e.errors()[0]
    where = ".".join(str(x) for x in err.get("loc", ())) or "brief"
    return f"{where}: {err['msg'].removeprefix('Value error, ')}"
