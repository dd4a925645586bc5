"""The phases of a load test, and ``LoadRun``: the one object that owns a load test while it runs.

A phase is one headless Locust run against one model (``run_phase``); the SLO finder is a series of
short phases with doubling users (``find_slo``). ``LoadRun`` holds the validated ``LoadConfig``, the
service it uses (started here unless one is given or ``cfg.host`` names one), the Locust processes of
the running phase and the ``LoadRecorder`` that writes the run record as phases finish; it runs the
phases in order and stops what it started however the run ends. Models run one after another, each
with the service to itself, so one model's CPU use never shows up in another's latency.

Locust is never imported here (it monkey-patches the importing process with gevent): it runs as
``python -m locust`` (``loadtests.procs.LocustProcess``).

Usage:
    run = LoadRun(LoadConfig(models=["bm25"], duration=5), store=RunStore.default())
    report = run.run()                      # raises after recording the run failed or stopped
    r = run_phase(url, "minilm", "search", users=4, spawn_rate=4, duration=10, out_prefix=out / "minilm")
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from loadtests import procs
from loadtests.config import SCENARIOS, LoadConfig, LoadReport
from loadtests.procs import LoadTestError, LocustProcess, ServiceProcess
from loadtests.results import (
    LoadRecorder,
    ModelResult,
    SloResult,
    read_failures,
    read_final,
    read_history,
    split_from_timings,
)
from rag.i18n import _
from rag.processes import free_port

HERE = Path(__file__).resolve().parent
Progress = Callable[[dict], None]  # {"phase", "model", "fraction", "row"?}


def run_phase(url: str, model: str, endpoint: str, users: int, spawn_rate: float, duration: int,
              out_prefix: Path, k: int = 10, processes: int = 1, service: ServiceProcess | None = None,
              on_row: Callable[[dict], None] | None = None, stop: threading.Event | None = None,
              workers: int = 0, started: list[LocustProcess] | None = None) -> ModelResult:
    """One headless Locust run against one model; live rows to ``on_row``; raises on a broken run.
    ``processes`` > 1: Locust forks that many generators; ``workers`` > 0: a master plus that many
    ``--worker`` processes started here. Either way the master writes the files read below.
    ``started``: the owner's list the Locust processes are kept in while they run."""
    locustfile, prefix = SCENARIOS[endpoint]
    procs.post_json(url, "/stats/reset")
    opts = ["--model", model, "--endpoint", endpoint, "--k", str(k)]
    mine = started if started is not None else []
    if workers:
        port = free_port()
        proc = LocustProcess.master(HERE / locustfile, url, users, spawn_rate, duration, out_prefix, workers, port,
                                    [*opts, "--expect-workers-max-wait", "60"])
        mine.append(proc)
        mine.extend(LocustProcess.worker(HERE / locustfile, port, Path(f"{out_prefix}.worker{i}.log"))
                    for i in range(workers))
    else:
        proc = LocustProcess.headless(HERE / locustfile, url, users, spawn_rate, duration, out_prefix, opts,
                                      processes)
        mine.append(proc)
    seen, failures_checked = 0, 0
    try:
        deadline = time.monotonic() + duration + 60 + (60 if workers else 0)
        while proc.poll() is None:
            if stop is not None and stop.is_set():
                raise LoadTestError(_("stopped by the user"))
            _raise_if_service_exited(service, model)
            if time.monotonic() > deadline:
                raise LoadTestError(_("Locust did not finish within {seconds} s; see {log}").format(
                    seconds=duration + 60, log=proc.log_path))
            rows = read_history(out_prefix, "Aggregated")
            for row in rows[seen:]:
                if on_row:
                    on_row(row)
            seen = max(seen, len(rows))
            if rows and rows[-1]["failures"] > failures_checked:  # new failures: is something down?
                failures_checked = rows[-1]["failures"]
                _raise_if_down(url, service, model, read_failures(out_prefix))
            time.sleep(0.5)
    finally:
        while mine:  # the master first; the workers quit with it, stop() makes sure
            mine.pop(0).stop()
    if proc.returncode not in (0, 1):  # 1 = the run had failed requests: a result, not a broken run
        raise LoadTestError(_("Locust exited with code {code}: {reason}").format(code=proc.returncode,
                                                                                 reason=proc.reason()))
    stats = read_final(out_prefix)
    name = f"{prefix}[{model}]"
    entry = stats.get(name) or stats.get("Aggregated")
    if entry is None or entry.requests == 0:
        raise LoadTestError(_("Locust sent no {name} requests: {reason}").format(name=name, reason=proc.reason()))
    history = read_history(out_prefix, name)
    for row in read_history(out_prefix, "Aggregated")[seen:]:
        if on_row:
            on_row(row)
    failures = read_failures(out_prefix)
    if entry.failures:
        _raise_if_down(url, service, model, failures)
    timings = procs.get_json(url, "/stats/timings") if endpoint != "milvus" else {}
    return ModelResult(model, endpoint, users, spawn_rate, duration, entry, history,
                       split_from_timings(timings, endpoint, model, entry.avg_ms), failures)


def _raise_if_service_exited(service: ServiceProcess | None, model: str) -> None:
    if service is not None and not service.alive():
        raise LoadTestError(_("the service exited (code {code}) during the {model} phase: {reason}").format(
            code=service.returncode, model=model, reason=service.reason()))


def _raise_if_down(url: str, service: ServiceProcess | None, model: str, failures: list[dict]) -> None:
    """Failed requests from overload are a result; a dead service or Milvus makes the run failed."""
    _raise_if_service_exited(service, model)
    try:
        procs.get_json(url, "/health?deep=true", timeout=5)
    except procs.ServiceBusy:
        return  # slow under load is a result, not a fault
    except LoadTestError as e:
        top = failures[0]["error"] if failures else "?"
        raise LoadTestError(_("{error} (during the {model} phase; most frequent failure: {failure})").format(
            error=e, model=model, failure=top)) from e


def _file_part(model: str) -> str:
    """A file-name-safe, unique stand-in for a model key (``st:/a/b`` must not become a path)."""
    from rag.models.registry import resolve

    return resolve(model).name


def find_slo(url: str, model: str, endpoint: str, target_p95_ms: float, out_dir: Path, max_users: int = 64,
             step_seconds: int = 10, k: int = 10, service: ServiceProcess | None = None,
             progress: Progress | None = None, stop: threading.Event | None = None,
             started: list[LocustProcess] | None = None) -> SloResult:
    """Double the users (1, 2, 4, …) until p95 exceeds the target or a request fails."""
    res = SloResult(model, target_p95_ms)
    users = 1
    while users <= max_users:
        if progress:
            progress({"phase": _("SLO {model}: {users} users").format(model=model, users=users), "model": model})
        r = run_phase(url, model, endpoint, users, users, step_seconds,
                      out_dir / f"slo_{_file_part(model)}_u{users}", k, service=service, stop=stop, started=started)
        ok = r.stats.failures == 0 and r.stats.p95_ms <= target_p95_ms
        res.steps.append({"users": users, "rps": round(r.stats.rps, 2), "p95_ms": r.stats.p95_ms,
                          "p50_ms": r.stats.p50_ms, "failures": r.stats.failures, "ok": ok})
        if not ok:
            res.stopped_by = _("failures") if r.stats.failures else _("p95 {p95} ms > {limit} ms").format(
                p95=f"{r.stats.p95_ms:g}", limit=f"{target_p95_ms:g}")
            return res
        res.max_users, res.rps = users, r.stats.rps
        users *= 2
    res.stopped_by = _("reached the {users}-user cap").format(users=max_users)
    return res


def check_models(url: str, models: list[str], endpoint: str = "search") -> dict:
    """Fail before any load if the service cannot serve what was asked; else its ``/models`` answer."""
    info = procs.get_json(url, "/models")
    known = [m["name"] for m in info["models"]]
    missing = [m for m in models if m not in known]
    if missing:
        raise LoadTestError(_("the service at {url} has no model {missing}; it has: {known}").format(
            url=url, missing=", ".join(missing), known=", ".join(known)))
    if endpoint == "rag" and info.get("generator_error"):
        raise LoadTestError(_("the service at {url} cannot answer /rag: {error}").format(
            url=url, error=info["generator_error"]))
    return info


class LoadRun:
    """One load test from its validated config to its run record, and everything it started.

    Built: the config is validated, the dataset loaded and the run recorded as running (so every
    later failure is recorded with its reason). ``run()``: the service (``cfg.host``, the one given,
    or one started here), one phase per model, the SLO search if asked; then the run is recorded
    done, failed or stopped, and what this run started is stopped.

    Usage:
        run = LoadRun(cfg, progress=print, stop=threading.Event())
        run.run_id                          # the run record, already "running"
        report = run.run()
    """

    def __init__(self, cfg: LoadConfig, store=None, service: ServiceProcess | None = None,
                 progress: Progress | None = None, stop: threading.Event | None = None):
        from rag.data.loaders import load_dataset
        from rag.runs import RunStore
        from rag.settings import get_settings

        cfg.validate()
        self.cfg = cfg
        dataset = load_dataset(cfg.dataset)
        dataset.require_text("a load test")
        self.recorder = LoadRecorder(store or RunStore.default(), cfg.record(), dataset)
        self.run_id = self.recorder.run_id
        self.report = LoadReport(self.run_id)
        self.service, self.own_service = service, None
        self.locust: list[LocustProcess] = []   # the running phase's master, workers or single process
        self.say = progress or (lambda ev: None)
        self.stop_event = stop or threading.Event()
        self.out_dir = get_settings().user_path("loadtests", self.run_id, "x").parent
        self.url = ""

    def run(self) -> LoadReport:
        try:
            self._connect()
            self._phases()
            self.recorder.finish()
            self.say({"phase": "done", "fraction": 1.0})
            return self.report
        except BaseException as e:
            stopped = isinstance(e, KeyboardInterrupt) or self.stop_event.is_set()
            self.recorder.finish("stopped" if stopped else "failed", str(e) or type(e).__name__)
            try:
                e.run_id = self.run_id  # so callers can say which run record holds the reason
            except AttributeError:
                pass
            raise
        finally:
            self.close()

    def stop(self) -> None:
        """Ask the run to end: the running phase notices within half a second."""
        self.stop_event.set()

    def close(self) -> None:
        """Stop the Locust processes still running and the service this run started (idempotent)."""
        while self.locust:
            self.locust.pop().stop(5.0)
        if self.own_service is not None:
            self.own_service.stop()
            self.own_service = None

    def _connect(self) -> None:
        from rag.models.registry import resolve

        cfg = self.cfg
        for m in cfg.models:
            resolve(m)  # ModelUnavailable naming the known models, recorded as the run's reason
        if cfg.host:
            self.url = cfg.host.rstrip("/")
        else:
            if self.service is None or not self.service.alive():
                self.say({"phase": _("starting the service (loads the models once)"), "fraction": 0.0})
                self.service = self.own_service = ServiceProcess(cfg.dataset, cfg.models, index=cfg.index(),
                                                                 batching=cfg.batching_json()).start()
            self.url = self.service.url
        self.report.url = self.url
        self.recorder.service_settings(check_models(self.url, cfg.models, cfg.endpoint))
        self.report.service = self.recorder.service

    def _phases(self) -> None:
        cfg, n = self.cfg, len(self.cfg.models) * (2 if self.cfg.slo_p95_ms else 1)
        for i, model in enumerate(cfg.models):
            self.say({"phase": _("{model}: {users} users for {seconds} s").format(
                model=model, users=cfg.users, seconds=cfg.duration), "model": model, "fraction": i / n})
            r = run_phase(self.url, model, cfg.endpoint, cfg.users, cfg.spawn_rate, cfg.duration,
                          self.out_dir / _file_part(model), cfg.k, cfg.processes, self.service,
                          on_row=lambda row, _m=model: self.say({"model": _m, "row": row}), stop=self.stop_event,
                          workers=cfg.workers, started=self.locust)
            self.report.results[model] = r
            self.recorder.model_done(r)
            self.say({"phase": _("{model} done").format(model=model), "model": model, "result": r.summary()})
        if not cfg.slo_p95_ms:
            return
        for i, model in enumerate(cfg.models):
            self.say({"phase": _("SLO {model}").format(model=model), "model": model,
                      "fraction": (len(cfg.models) + i) / n})
            s = find_slo(self.url, model, cfg.endpoint, cfg.slo_p95_ms, self.out_dir, cfg.slo_max_users,
                         cfg.slo_step_seconds, cfg.k, self.service, self.say, self.stop_event, started=self.locust)
            self.report.slo[model] = s
            self.recorder.slo_done(s)
