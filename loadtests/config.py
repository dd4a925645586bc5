"""What one load test is: its settings (``LoadConfig``, bounds checked before anything starts) and its answer.

A new kind of load is one ``SCENARIOS`` entry: the endpoint's name (what the page, the CLI and the
run record say), the locustfile that drives it and the prefix of its Locust request names.

Usage:
    cfg = LoadConfig(models=["minilm", "bm25"], users=10, duration=20)
    cfg.validate()                       # ValueError naming the bound, before a process starts
    cfg.record()                         # the run's config as the run store keeps it
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import NamedTuple

from loadtests.batcher import DEFAULT_MAX_BATCH, DEFAULT_WINDOW_MS
from loadtests.results import ModelResult, SloResult
from rag.i18n import _


class Scenario(NamedTuple):
    locustfile: str       # in loadtests/
    request_prefix: str   # Locust names each request ``<prefix>[<model>]``


SCENARIOS: dict[str, Scenario] = {
    "search": Scenario("locustfile.py", "search"),
    "rag": Scenario("locustfile.py", "rag"),
    "milvus": Scenario("locustfile_milvus.py", "milvus"),  # Milvus alone, no model: the database's share
}
MAX_USERS, MAX_DURATION_S, MAX_SPAWN_RATE = 500, 900, 100.0


@dataclass
class LoadConfig:
    """One load test. ``host=None`` starts a service on 127.0.0.1 for the run (or uses ``service``)."""
    models: list[str]
    endpoint: str = "search"
    users: int = 10
    spawn_rate: float = 5.0
    duration: int = 20            # seconds per model
    k: int = 10
    dataset: str = "sample"
    host: str | None = None       # an already running service, named explicitly
    processes: int = 1            # Locust --processes: one master forks N generators
    workers: int = 0              # >0: a --master and this many separately started --worker processes
    slo_p95_ms: float | None = None
    slo_max_users: int = 64
    slo_step_seconds: int = 10
    index_type: str = "FLAT"      # the index config searched (the app-wide choice on the page)
    metric: str = "COSINE"
    index_params: dict = field(default_factory=dict)
    bm25_analyzer: str = "auto"   # BM25/hybrid analyzer ("auto": from the corpus' language; rag.milvus.analyzers)
    batching: bool = True         # the service micro-batches concurrent queries per model (--no-batching: off)
    batch_window_ms: float = DEFAULT_WINDOW_MS
    max_batch: int = DEFAULT_MAX_BATCH

    def batching_json(self) -> dict:
        return {"batching": self.batching, "batch_window_ms": self.batch_window_ms, "max_batch": self.max_batch}

    def index(self) -> dict:
        """IndexConfig.to_json() of this run (validates the settings)."""
        from rag.milvus.index_config import IndexConfig

        return IndexConfig(self.index_type, self.metric, dict(self.index_params), self.bm25_analyzer).to_json()

    def validate(self) -> None:
        """Bounds, before anything is recorded or started (model names are checked in the run)."""
        if not self.models:
            raise ValueError(_("choose at least one model"))
        if self.endpoint not in SCENARIOS:
            raise ValueError(_("unknown endpoint {endpoint}; choose from {choices}").format(
                endpoint=repr(self.endpoint), choices=", ".join(SCENARIOS)))
        checks = [(1 <= self.users <= MAX_USERS, _("users must be 1-{max}").format(max=MAX_USERS)),
                  (0 < self.spawn_rate <= MAX_SPAWN_RATE,
                   _("spawn rate must be >0 and <= {max}").format(max=f"{MAX_SPAWN_RATE:g}")),
                  (1 <= self.duration <= MAX_DURATION_S, _("duration must be 1-{max} s").format(max=MAX_DURATION_S)),
                  (1 <= self.k <= 100, _("k must be 1-100")),
                  (1 <= self.processes <= (os.cpu_count() or 1) * 2, _("processes must be 1-2×CPUs")),
                  (0 <= self.workers <= (os.cpu_count() or 1) * 2, _("workers must be 0-2×CPUs")),
                  (self.processes == 1 or self.workers == 0, _("use either processes or workers, not both")),
                  (1 <= self.slo_max_users <= MAX_USERS, _("SLO max users must be 1-{max}").format(max=MAX_USERS)),
                  (1 <= self.slo_step_seconds <= 120, _("SLO step must be 1-120 s")),
                  (self.slo_p95_ms is None or self.slo_p95_ms > 0, _("the p95 target must be > 0 ms")),
                  (0 <= self.batch_window_ms <= 1000, _("the batch window must be 0-1000 ms")),
                  (1 <= self.max_batch <= 1024, _("max batch must be 1-1024"))]
        for ok, msg in checks:
            if not ok:
                raise ValueError(msg)
        self.index()  # unknown index type, metric or parameter

    def record(self) -> dict:
        """The run's config: every field, with index_params as used (defaults filled in), and the
        device and batch size of local encoders (the service runs with this environment)."""
        from rag.models.devices import runtime_info

        return {**{k: v for k, v in self.__dict__.items() if v is not None}, "index_params": self.index()["params"],
                **runtime_info()}


@dataclass
class LoadReport:
    """What ``run_load_test`` returns: per model its result and SLO answer, and the run record's id."""
    run_id: str
    results: dict[str, ModelResult] = field(default_factory=dict)
    slo: dict[str, SloResult] = field(default_factory=dict)
    url: str = ""
    service: dict = field(default_factory=dict)   # what the service said it does (micro-batching setting)

    def to_json(self) -> dict:
        out = {"run_id": self.run_id, "results": {m: r.stats.brief() for m, r in self.results.items()}}
        if self.slo:
            out["slo"] = {m: s.brief() for m, s in self.slo.items()}
        return out
