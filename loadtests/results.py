"""Read Locust's own output files, summarise them per model, and keep them in the run store.

Final numbers come from ``--json-file`` (written at shutdown, so it holds every request; the CSVs
are rewritten once a second and can miss the last one), percentiles computed from its response-time
histogram exactly as Locust does. Time series come from ``_stats_history.csv`` (with
``--csv-full-history``: one row per request name per second, percentiles over Locust's rolling
window), failures from ``_failures.csv``. The latency split comes from the other side: the service
keeps a ``TimingBook`` of its own per-stage timings, and ``split_from_timings`` sets Locust's mean
against it. Nothing here imports Locust: importing it monkey-patches
the whole process with gevent, which the Streamlit app must never be.

Usage:
    stats = read_final(prefix)                 # {request name: EntryStats}
    hist = read_history(prefix)                # [{"t": 0, "users": 4, "rps": 41.0, "p95_ms": 170, ...}]
    rec = LoadRecorder(RunStore.default(), {"models": ["minilm"], ...}, dataset)
    rec.model_done(result); rec.finish()
"""

from __future__ import annotations

import csv
import json
import threading
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rag.runs.models import LoadRow

PERCENTILES = {"p50_ms": 0.50, "p95_ms": 0.95, "p99_ms": 0.99}
HISTORY_COLUMNS = {"rps": "Requests/s", "fps": "Failures/s", "p50_ms": "50%", "p95_ms": "95%", "p99_ms": "99%",
                   "requests": "Total Request Count", "failures": "Total Failure Count"}
STAGES = ("wait_ms", "embed_ms", "search_ms", "generate_ms")  # the service's timing split, in chart order
TIMING_WINDOW = 50_000  # samples the service keeps per (endpoint, model, stage)
ROW_SCORES = ("requests", "failures", "rps", "p50_ms", "p95_ms", "p99_ms", "avg_ms")  # a phase row's ``scores``


def histogram_percentile(hist: dict, n: int, q: float) -> float:
    """Locust's ``calculate_response_time_percentile`` over a {rounded ms: count} histogram."""
    target, done = int(n * q), 0
    for rt, count in sorted(((float(k), int(v)) for k, v in hist.items()), reverse=True):
        done += count
        if n - done <= target:
            return rt
    return 0.0


@dataclass
class EntryStats:
    """One Locust request name (or the aggregate): what the CLI prints and the run store keeps."""
    name: str
    requests: int = 0
    failures: int = 0
    rps: float = 0.0
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    p99_ms: float = 0.0
    avg_ms: float = 0.0
    max_ms: float = 0.0
    seconds: float = 0.0

    def brief(self) -> dict:
        return {"requests": self.requests, "failures": self.failures, "rps": round(self.rps, 2),
                "p50_ms": self.p50_ms, "p95_ms": self.p95_ms, "p99_ms": self.p99_ms}


def _entry_from_json(e: dict) -> EntryStats:
    n = int(e.get("num_requests", 0))
    hist = {str(k): int(v) for k, v in (e.get("response_times") or {}).items()}
    span = max(0.0, float(e.get("last_request_timestamp") or 0) - float(e.get("start_time") or 0))
    pct = {k: histogram_percentile(hist, n, q) for k, q in PERCENTILES.items()} if n else {}
    return EntryStats(e.get("name", "?"), n, int(e.get("num_failures", 0)), n / span if span > 0 else 0.0,
                      avg_ms=round(float(e.get("total_response_time", 0)) / n, 2) if n else 0.0,
                      max_ms=round(float(e.get("max_response_time") or 0), 2), seconds=round(span, 2), **pct)


def _combine(name: str, entries: list[dict]) -> EntryStats:
    """The aggregate of several entries (Locust's "Aggregated" row, which the JSON file lacks)."""
    hist: dict[str, int] = {}
    for e in entries:
        for k, v in (e.get("response_times") or {}).items():
            hist[str(k)] = hist.get(str(k), 0) + int(v)
    starts = [float(e["start_time"]) for e in entries if e.get("start_time")]
    lasts = [float(e["last_request_timestamp"]) for e in entries if e.get("last_request_timestamp")]
    return _entry_from_json({
        "name": name, "num_requests": sum(int(e.get("num_requests", 0)) for e in entries),
        "num_failures": sum(int(e.get("num_failures", 0)) for e in entries), "response_times": hist,
        "total_response_time": sum(float(e.get("total_response_time", 0)) for e in entries),
        "max_response_time": max([float(e.get("max_response_time") or 0) for e in entries] or [0]),
        "start_time": min(starts) if starts else 0, "last_request_timestamp": max(lasts) if lasts else 0})


def read_final(prefix: str | Path) -> dict[str, EntryStats]:
    """{request name: stats} plus "Aggregated", from ``PREFIX.json`` (else ``PREFIX_stats.csv``)."""
    path = Path(f"{prefix}.json")
    if path.exists():
        entries = json.loads(path.read_text() or "[]")
        out = {e["name"]: _entry_from_json(e) for e in entries}
        out["Aggregated"] = _combine("Aggregated", entries)
        return out
    return read_stats_csv(prefix)


def _num(text: str | None) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):  # "N/A" before the first request
        return 0.0


def read_stats_csv(prefix: str | Path) -> dict[str, EntryStats]:
    path = Path(f"{prefix}_stats.csv")
    if not path.exists():
        return {}
    out = {}
    with path.open(newline="") as f:
        for r in csv.DictReader(f):
            out[r["Name"]] = EntryStats(r["Name"], int(_num(r["Request Count"])), int(_num(r["Failure Count"])),
                                        _num(r["Requests/s"]), _num(r["50%"]), _num(r["95%"]), _num(r["99%"]),
                                        round(_num(r["Average Response Time"]), 2),
                                        round(_num(r["Max Response Time"]), 2))
    return out


def read_history(prefix: str | Path, name: str | None = "Aggregated") -> list[dict]:
    """One request name's ``_stats_history.csv`` rows: t (s from the first row), users, rps, fps,
    p50/p95/p99 (Locust's rolling window), cumulative requests and failures.

    rps and fps are differences of the cumulative counts per second: Locust's own "Requests/s"
    column averages ~10 s and lags 2 s, which flattens a short run into a ramp.
    """
    path = Path(f"{prefix}_stats_history.csv")
    if not path.exists():
        return []
    rows: list[dict] = []
    with path.open(newline="") as f:
        for r in csv.DictReader(f):
            if (name is not None and r.get("Name") != name) or not r.get("Timestamp", "").isdigit():
                continue  # another name, or a half-written last line
            row = {"ts": int(r["Timestamp"]), "users": int(_num(r.get("User Count"))), "name": r.get("Name")}
            row.update({k: _num(r.get(col)) for k, col in HISTORY_COLUMNS.items()})
            rows.append(row)
    for prev, row in zip([None, *rows], rows):
        dt = row["ts"] - prev["ts"] if prev else 0
        row["rps"] = round((row["requests"] - prev["requests"]) / dt, 2) if prev and dt > 0 else 0.0
        row["fps"] = round((row["failures"] - prev["failures"]) / dt, 2) if prev and dt > 0 else 0.0
    t0 = rows[0]["ts"] if rows else 0
    return [{"t": r["ts"] - t0, **r} for r in rows if not (r["requests"] == 0 and r["users"] == 0)]


def read_failures(prefix: str | Path, limit: int = 5) -> list[dict]:
    """The most frequent failure messages: what a person needs to see first."""
    path = Path(f"{prefix}_failures.csv")
    if not path.exists():
        return []
    with path.open(newline="") as f:
        rows = [{"name": r["Name"], "error": r["Error"], "count": int(_num(r["Occurrences"]))}
                for r in csv.DictReader(f)]
    return sorted(rows, key=lambda r: -r["count"])[:limit]


@dataclass
class ModelResult:
    """One model's load phase: Locust's numbers, its time series, and the service's timing split."""
    model: str
    endpoint: str
    users: int
    spawn_rate: float
    duration_s: int
    stats: EntryStats
    history: list[dict] = field(default_factory=list)
    split: dict[str, float] = field(default_factory=dict)   # stage -> mean ms (+ "other_ms": HTTP, queueing)
    failures: list[dict] = field(default_factory=list)

    def summary(self) -> dict:
        return {**self.stats.brief(), "avg_ms": self.stats.avg_ms, "users": self.users,
                "spawn_rate": self.spawn_rate, "duration_s": self.duration_s, "seconds": self.stats.seconds,
                "split": self.split, "top_failures": self.failures}


class TimingBook:
    """Rolling server-side timings per (endpoint, model, stage), reset between load-test phases."""

    def __init__(self, window: int = TIMING_WINDOW):
        self.window = window
        self._lock = threading.Lock()
        self._data: dict[tuple[str, str, str], deque] = {}

    def add(self, endpoint: str, model: str, timings: dict[str, float]) -> None:
        data = self._data
        with self._lock:
            for stage, ms in timings.items():
                series = data.get((endpoint, model, stage))
                if series is None:  # (not setdefault: that builds a deque on every call, once per request and stage)
                    series = data[(endpoint, model, stage)] = deque(maxlen=self.window)
                series.append(ms)

    def reset(self) -> None:
        with self._lock:
            self._data.clear()

    def summary(self) -> dict:
        """{endpoint: {model: {stage: {n, mean, p50, p95}}}} in milliseconds."""
        with self._lock:
            items = [(k, np.asarray(v, dtype=float)) for k, v in self._data.items()]
        out: dict = {}
        for (endpoint, model, stage), arr in items:
            out.setdefault(endpoint, {}).setdefault(model, {})[stage] = {
                "n": int(arr.size), "mean": round(float(arr.mean()), 3),
                "p50": round(float(np.percentile(arr, 50)), 3), "p95": round(float(np.percentile(arr, 95)), 3)}
        return out


def split_from_timings(timings: dict, endpoint: str, model: str, client_avg_ms: float) -> dict[str, float]:
    """Mean ms per stage from ``/stats/timings``, plus what the client saw beyond the server's own time."""
    t = (timings.get(endpoint) or {}).get(model) or {}
    out = {s: round(t[s]["mean"], 2) for s in STAGES if s in t}
    if "server_ms" in t and client_avg_ms:
        out["other_ms"] = round(max(0.0, client_avg_ms - t["server_ms"]["mean"]), 2)
    return out


@dataclass
class SloResult:
    """The SLO finder's answer for one model: the last step that met the target, and every step."""
    model: str
    target_p95_ms: float
    max_users: int = 0
    rps: float = 0.0
    steps: list[dict] = field(default_factory=list)   # {users, rps, p95_ms, failures, ok}
    stopped_by: str = ""

    def brief(self) -> dict:
        return {"max_users": self.max_users, "rps": round(self.rps, 2)}


class LoadRecorder:
    """A "load" run in the run store, written as phases finish so a crash keeps what was measured."""

    def __init__(self, store, config: dict, dataset=None):
        self.store = store
        self.run_id = store.create("load", config, dataset=dataset)
        self.results: dict[str, dict] = {}
        self.slo: dict[str, dict] = {}
        self.service: dict = {}
        models = config.get("models") if isinstance(config, dict) else getattr(config, "models", None)
        self.config_models = set(models or [])

    def service_settings(self, models_info: dict) -> None:
        """What the service said it does (``/models``): micro-batching on or off, window, max batch, the BM25
        analyzer each BM25/hybrid collection was built with, and how each model was encoded (prompts, dims,
        max tokens). The config holds what was asked ("auto"); this is what served."""
        self.service = {k: models_info[k] for k in ("batching", "batch_window_ms", "max_batch") if k in models_info}
        analyzers = {m["name"]: m["bm25_analyzer"] for m in models_info.get("models", []) if m.get("bm25_analyzer")}
        if analyzers:
            self.service["bm25_analyzers"] = analyzers
        self.service["models_info"] = {m["name"]: m["encoded"] for m in models_info.get("models", [])
                                       if m.get("name") in self.config_models and m.get("encoded")}
        self.store.update_summary(self.run_id, self.summary())

    def summary(self) -> dict:
        """``results`` and ``slo`` as the CLI prints them, plus the SLO steps and why each search stopped,
        and the service's batching setting."""
        out: dict = {"results": self.results, **({"service": self.service} if self.service else {})}
        if self.slo:
            out["slo"] = {m: {"max_users": s["max_users"], "rps": s["rps"]} for m, s in self.slo.items()}
            out["slo_steps"] = {m: s["steps"] for m, s in self.slo.items()}
            out["slo_stopped_by"] = {m: s["stopped_by"] for m, s in self.slo.items()}
        return out

    def model_done(self, r: ModelResult) -> None:
        """One phase measured: its row (Locust's numbers in ``scores``, the time series) and the summary."""
        s = self.results[r.model] = r.summary()
        self.store.add_rows(self.run_id, [LoadRow(
            model=r.model, item_id="load", scores={k: s[k] for k in ROW_SCORES}, history=r.history,
            **{k: v for k, v in s.items() if k not in ROW_SCORES})])
        self.store.update_summary(self.run_id, self.summary())

    def slo_done(self, s: SloResult) -> None:
        self.slo[s.model] = {**s.brief(), "target_p95_ms": s.target_p95_ms, "stopped_by": s.stopped_by,
                             "steps": s.steps}
        self.store.add_rows(self.run_id, [LoadRow(model=s.model, item_id="slo", scores=s.brief(),
                                                  target_p95_ms=s.target_p95_ms, stopped_by=s.stopped_by,
                                                  steps=s.steps)])
        self.store.update_summary(self.run_id, self.summary())

    def finish(self, status: str = "done", error: str | None = None) -> None:
        self.store.finish(self.run_id, self.summary(), status=status, error=error)




def load_run(store, run_id: str = "latest") -> dict:
    """A stored load run for the charts: {run, results, histories, slo_steps}."""
    run = store.get(run_id, kind="load")
    histories = {r.model: r.history for r in store.typed_rows(run.id) if r.item_id == "load"}
    stopped = run.summary.get("slo_stopped_by", {})
    slo = {m: {**s, "stopped_by": stopped.get(m, "")} for m, s in run.summary.get("slo", {}).items()}
    return {"run": run, "results": run.summary.get("results", {}), "histories": histories,
            "slo": slo, "slo_steps": run.summary.get("slo_steps", {})}
