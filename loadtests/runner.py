"""Run load tests: start the service, run Locust per model, read its files, find the SLO, record it.

Every child (service, Locust) is started in its own process group and registered
(``loadtests.procs``); it is stopped when its run ends, fails or is stopped, and at exit; children also
watch this process
(``WORKBENCH_PARENT_PID``) and quit if it is killed, so nothing keeps loading a machine after the app
is gone. Locust is never imported here (it monkey-patches the importing process with gevent): it
runs as ``python -m locust``. Load goes to 127.0.0.1 unless the caller names another host.

Models are run one after another, each with the service to itself, so one model's CPU use never
shows up in another's latency. Bounds: at most ``MAX_USERS`` users and ``MAX_DURATION_S`` seconds.

Usage:
    report = run_load_test(LoadConfig(models=["minilm", "bm25"], users=10, duration=20))
    report.results["minilm"].stats.p95_ms, report.run_id
    with ServiceProcess(dataset="sample", models=["minilm"]) as svc:
        ui = start_web_ui(svc.url)            # ui.url -> http://127.0.0.1:PORT
"""

from __future__ import annotations

import atexit
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from loadtests import procs
from loadtests.batcher import DEFAULT_MAX_BATCH, DEFAULT_WINDOW_MS
from loadtests.procs import LoadTestError, LocustProcess, ServiceProcess, free_port
from loadtests.results import (
    LoadRecorder,
    ModelResult,
    SloResult,
    read_failures,
    read_final,
    read_history,
    split_from_timings,
)

HERE = Path(__file__).resolve().parent
# endpoint -> (locustfile, request name prefix); a new kind of load is one entry
ENDPOINTS: dict[str, tuple[str, str]] = {
    "search": ("locustfile.py", "search"),
    "rag": ("locustfile.py", "rag"),
    "milvus": ("locustfile_milvus.py", "milvus"),  # Milvus alone, no model: the database's share
}
MAX_USERS, MAX_DURATION_S, MAX_SPAWN_RATE = 500, 900, 100.0

Progress = Callable[[dict], None]  # {"phase", "model", "fraction", "row"?}


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
    batching: bool = True         # the service micro-batches concurrent queries per model (--no-batching: off)
    batch_window_ms: float = DEFAULT_WINDOW_MS
    max_batch: int = DEFAULT_MAX_BATCH

    def batching_json(self) -> dict:
        return {"batching": self.batching, "batch_window_ms": self.batch_window_ms, "max_batch": self.max_batch}

    def index(self) -> dict:
        """IndexConfig.to_json() of this run (validates the settings)."""
        from rag.store import IndexConfig

        return IndexConfig(self.index_type, self.metric, dict(self.index_params)).to_json()

    def validate(self) -> None:
        """Bounds, before anything is recorded or started (model names are checked in the run)."""
        if not self.models:
            raise ValueError("choose at least one model")
        if self.endpoint not in ENDPOINTS:
            raise ValueError(f"unknown endpoint {self.endpoint!r}; choose from {', '.join(ENDPOINTS)}")
        checks = [(1 <= self.users <= MAX_USERS, f"users must be 1-{MAX_USERS}"),
                  (0 < self.spawn_rate <= MAX_SPAWN_RATE, f"spawn rate must be >0 and <= {MAX_SPAWN_RATE:g}"),
                  (1 <= self.duration <= MAX_DURATION_S, f"duration must be 1-{MAX_DURATION_S} s"),
                  (1 <= self.k <= 100, "k must be 1-100"),
                  (1 <= self.processes <= (os.cpu_count() or 1) * 2, "processes must be 1-2×CPUs"),
                  (0 <= self.workers <= (os.cpu_count() or 1) * 2, "workers must be 0-2×CPUs"),
                  (self.processes == 1 or self.workers == 0, "use either processes or workers, not both"),
                  (1 <= self.slo_max_users <= MAX_USERS, f"SLO max users must be 1-{MAX_USERS}"),
                  (1 <= self.slo_step_seconds <= 120, "SLO step must be 1-120 s"),
                  (self.slo_p95_ms is None or self.slo_p95_ms > 0, "the p95 target must be > 0 ms"),
                  (0 <= self.batch_window_ms <= 1000, "the batch window must be 0-1000 ms"),
                  (1 <= self.max_batch <= 1024, "max batch must be 1-1024")]
        for ok, msg in checks:
            if not ok:
                raise ValueError(msg)
        self.index()  # unknown index type, metric or parameter

    def record(self) -> dict:
        """The run's config: every field, with index_params as used (defaults filled in), and the
        device and batch size of local encoders (the service runs with this environment)."""
        from rag.embedders import runtime_info

        return {**{k: v for k, v in self.__dict__.items() if v is not None}, "index_params": self.index()["params"],
                **runtime_info()}


@dataclass
class LoadReport:
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


def run_phase(url: str, model: str, endpoint: str, users: int, spawn_rate: float, duration: int,
              out_prefix: Path, k: int = 10, processes: int = 1, service: ServiceProcess | None = None,
              on_row: Callable[[dict], None] | None = None, stop: threading.Event | None = None,
              workers: int = 0) -> ModelResult:
    """One headless Locust run against one model; live rows to ``on_row``; raises on a broken run.
    ``processes`` > 1: Locust forks that many generators; ``workers`` > 0: a master plus that many
    ``--worker`` processes started here. Either way the master writes the files read below."""
    locustfile, prefix = ENDPOINTS[endpoint]
    procs.post_json(url, "/stats/reset")
    opts = ["--model", model, "--endpoint", endpoint, "--k", str(k)]
    helpers: list[LocustProcess] = []
    if workers:
        port = free_port()
        proc = LocustProcess.master(HERE / locustfile, url, users, spawn_rate, duration, out_prefix, workers, port,
                                    [*opts, "--expect-workers-max-wait", "60"])
        helpers = [LocustProcess.worker(HERE / locustfile, port, Path(f"{out_prefix}.worker{i}.log"))
                   for i in range(workers)]
    else:
        proc = LocustProcess.headless(HERE / locustfile, url, users, spawn_rate, duration, out_prefix, opts,
                                      processes)
    seen, failures_checked = 0, 0
    try:
        deadline = time.monotonic() + duration + 60 + (60 if workers else 0)
        while proc.poll() is None:
            if stop is not None and stop.is_set():
                proc.stop()
                raise LoadTestError("stopped by the user")
            if service is not None and not service.alive():
                proc.stop()
                raise LoadTestError(f"the service exited (code {service.returncode}) during the {model} phase: "
                                    f"{service.reason()}")
            if time.monotonic() > deadline:
                proc.stop()
                raise LoadTestError(f"Locust did not finish within {duration + 60} s; see {proc.log_path}")
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
        proc.stop()
        for w in helpers:  # they quit with their master; stop() makes sure
            w.stop(5.0)
    if proc.returncode not in (0, 1):  # 1 = the run had failed requests: a result, not a broken run
        raise LoadTestError(f"Locust exited with code {proc.returncode}: {proc.reason()}")
    stats = read_final(out_prefix)
    name = f"{prefix}[{model}]"
    entry = stats.get(name) or stats.get("Aggregated")
    if entry is None or entry.requests == 0:
        raise LoadTestError(f"Locust sent no {name} requests: {proc.reason()}")
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


def _raise_if_down(url: str, service: ServiceProcess | None, model: str, failures: list[dict]) -> None:
    """Failed requests from overload are a result; a dead service or Milvus makes the run failed."""
    if service is not None and not service.alive():
        raise LoadTestError(f"the service exited (code {service.returncode}) during the {model} phase: "
                            f"{service.reason()}")
    try:
        procs.get_json(url, "/health?deep=true", timeout=5)
    except procs.ServiceBusy:
        return  # slow under load is a result, not a fault
    except LoadTestError as e:
        top = failures[0]["error"] if failures else "?"
        raise LoadTestError(f"{e} (during the {model} phase; most frequent failure: {top})") from e


def _file_part(model: str) -> str:
    """A file-name-safe, unique stand-in for a model key (``st:/a/b`` must not become a path)."""
    from rag.embedders import resolve

    return resolve(model).name


def find_slo(url: str, model: str, endpoint: str, target_p95_ms: float, out_dir: Path, max_users: int = 64,
             step_seconds: int = 10, k: int = 10, service: ServiceProcess | None = None,
             progress: Progress | None = None, stop: threading.Event | None = None) -> SloResult:
    """Double the users (1, 2, 4, …) until p95 exceeds the target or a request fails."""
    res = SloResult(model, target_p95_ms)
    users = 1
    while users <= max_users:
        if progress:
            progress({"phase": f"SLO {model}: {users} users", "model": model})
        r = run_phase(url, model, endpoint, users, users, step_seconds,
                      out_dir / f"slo_{_file_part(model)}_u{users}", k, service=service, stop=stop)
        ok = r.stats.failures == 0 and r.stats.p95_ms <= target_p95_ms
        res.steps.append({"users": users, "rps": round(r.stats.rps, 2), "p95_ms": r.stats.p95_ms,
                          "p50_ms": r.stats.p50_ms, "failures": r.stats.failures, "ok": ok})
        if not ok:
            res.stopped_by = "failures" if r.stats.failures else f"p95 {r.stats.p95_ms:g} ms > {target_p95_ms:g} ms"
            return res
        res.max_users, res.rps = users, r.stats.rps
        users *= 2
    res.stopped_by = f"reached the {max_users}-user cap"
    return res


def run_load_test(cfg: LoadConfig, progress: Progress | None = None, stop: threading.Event | None = None,
                  store=None, service: ServiceProcess | None = None) -> LoadReport:
    """The whole job: service, one phase per model, optional SLO search, run record. Raises on failure,
    after marking the run failed (or stopped) with its reason and stopping what it started."""
    from rag.embedders import resolve
    from rag.loaders import load_dataset
    from rag.runs import RunStore
    from rag.settings import get_settings

    cfg.validate()
    dataset = load_dataset(cfg.dataset)
    rec = LoadRecorder(store or RunStore.default(), cfg.record(), dataset)
    report = LoadReport(rec.run_id)
    say = progress or (lambda ev: None)
    own = None
    out_dir = get_settings().path("loadtests", rec.run_id, "x").parent
    try:
        for m in cfg.models:
            resolve(m)  # ModelUnavailable naming the known models, recorded as the run's reason
        if cfg.host:
            url = cfg.host.rstrip("/")
        else:
            if service is None or not service.alive():
                say({"phase": "starting the service (loads the models once)", "fraction": 0.0})
                service = own = ServiceProcess(cfg.dataset, cfg.models, index=cfg.index(),
                                               batching=cfg.batching_json()).start()
            url = service.url
        report.url = url
        rec.service_settings(check_models(url, cfg.models, cfg.endpoint))
        report.service = rec.service
        phases = len(cfg.models) * (2 if cfg.slo_p95_ms else 1)
        for i, model in enumerate(cfg.models):
            say({"phase": f"{model}: {cfg.users} users for {cfg.duration} s", "model": model,
                 "fraction": i / phases})
            r = run_phase(url, model, cfg.endpoint, cfg.users, cfg.spawn_rate, cfg.duration,
                          out_dir / _file_part(model), cfg.k, cfg.processes, service, stop=stop, workers=cfg.workers,
                          on_row=lambda row, _m=model: say({"model": _m, "row": row}))
            report.results[model] = r
            rec.model_done(r)
            say({"phase": f"{model} done", "model": model, "result": r.summary()})
        if cfg.slo_p95_ms:
            for i, model in enumerate(cfg.models):
                say({"phase": f"SLO {model}", "model": model, "fraction": (len(cfg.models) + i) / phases})
                s = find_slo(url, model, cfg.endpoint, cfg.slo_p95_ms, out_dir, cfg.slo_max_users,
                             cfg.slo_step_seconds, cfg.k, service, say, stop)
                report.slo[model] = s
                rec.slo_done(s)
        rec.finish()
        say({"phase": "done", "fraction": 1.0})
        return report
    except BaseException as e:
        stopped = isinstance(e, KeyboardInterrupt) or (stop is not None and stop.is_set())
        rec.finish("stopped" if stopped else "failed", str(e) or type(e).__name__)
        try:
            e.run_id = rec.run_id  # so callers can say which run record holds the reason
        except AttributeError:
            pass
        raise
    finally:
        if own is not None:
            own.stop()


def check_models(url: str, models: list[str], endpoint: str = "search") -> dict:
    """Fail before any load if the service cannot serve what was asked; else its ``/models`` answer."""
    info = procs.get_json(url, "/models")
    known = [m["name"] for m in info["models"]]
    missing = [m for m in models if m not in known]
    if missing:
        raise LoadTestError(f"the service at {url} has no model {', '.join(missing)}; it has: {', '.join(known)}")
    if endpoint == "rag" and info.get("generator_error"):
        raise LoadTestError(f"the service at {url} cannot answer /rag: {info['generator_error']}")
    return info


def start_web_ui(url: str, models: list[str] | None = None, port: int | None = None) -> LocustProcess:
    """Locust's web UI on 127.0.0.1 against the service, model and endpoint pickable in its form."""
    port = port or free_port()
    if procs.port_in_use(port):
        raise LoadTestError(f"port {port} on 127.0.0.1 is in use; choose another for the Locust web UI")
    env = {"WORKBENCH_LOCUST_MODELS": ",".join(models)} if models else {}
    return LocustProcess.web(HERE / "locustfile.py", url, port, env).wait_ready()


# ---------------------------------------------------------------- app-wide processes (the page)

def dataset_spec(dataset) -> str | None:
    """What the service can load for a dataset in the app: "sample", a BEIR folder or zip, else None."""
    src = str(getattr(dataset, "source", "") or "")
    if src == "sample":
        return "sample"
    p = Path(src)
    return str(p) if src and (p.is_dir() or (p.is_file() and p.suffix.lower() == ".zip")) else None


class AppProcesses:
    """What the app keeps between page runs: one service, one Locust web UI, one load-test job (two
    load tests at once on the same cores would only measure each other). Stopped by their buttons
    or at exit."""

    def __init__(self):
        self.service: ServiceProcess | None = None
        self.web: LocustProcess | None = None
        self.job: LoadTestJob | None = None
        self.lock = threading.RLock()

    def ensure_service(self, dataset: str, models: list[str], index: dict | None = None,
                       batching: dict | None = None) -> ServiceProcess:
        """The running service if it serves ``dataset``, ``models``, ``index`` (IndexConfig.to_json(),
        default FLAT) and ``batching`` (LoadConfig.batching_json(), default on), else a new one (with
        the union of models)."""
        from rag.store import IndexConfig

        index = index or IndexConfig().to_json()
        batching = batching or LoadConfig(models=[]).batching_json()
        with self.lock:
            s = self.service
            if s is not None and s.alive() and s.dataset == dataset and set(models) <= set(s.models) \
                    and s.index == index and s.batching == batching:
                return s
            keep = set(s.models) if s is not None and s.dataset == dataset else set()
            self.stop_web()
            if s is not None:
                s.stop()
            self.service = None
            self.service = ServiceProcess(dataset, sorted(set(models) | keep), index=index,
                                          batching=batching).start()
            return self.service

    def start_job(self, cfg: LoadConfig) -> LoadTestJob:
        with self.lock:
            if self.job is not None and self.job.is_alive():
                raise LoadTestError("a load test is already running; stop it first")
            cfg.validate()
            factory = None if cfg.host else (lambda: self.ensure_service(cfg.dataset, cfg.models, cfg.index(),
                                                                          cfg.batching_json()))
            self.job = LoadTestJob(cfg, factory)
            self.job.start()
            return self.job

    def start_web(self, dataset: str, models: list[str], index: dict | None = None,
                  batching: dict | None = None) -> LocustProcess:
        with self.lock:
            svc = self.ensure_service(dataset, models, index, batching)
            if self.web is None or not self.web.alive():
                self.web = start_web_ui(svc.url, svc.models)
            return self.web

    def stop_web(self) -> None:
        with self.lock:
            if self.web is not None:
                self.web.stop()
            self.web = None

    def stop_all(self) -> None:
        with self.lock:
            if self.job is not None:
                self.job.stop()
                self.job.join(30)
            self.stop_web()
            if self.service is not None:
                self.service.stop()
            self.service = None


class LoadTestJob(threading.Thread):
    """``run_load_test`` in a thread, its progress kept for a page to poll; ``stop()`` ends it cleanly."""

    def __init__(self, cfg: LoadConfig, service_factory: Callable[[], ServiceProcess] | None = None):
        super().__init__(daemon=True, name="load-test")
        self.cfg, self.service_factory = cfg, service_factory
        self.stop_event = threading.Event()
        self.phase, self.fraction, self.error = "queued", 0.0, None
        self.rows: dict[str, list[dict]] = {m: [] for m in cfg.models}
        self.report: LoadReport | None = None
        self.run_id: str | None = None

    def _progress(self, ev: dict) -> None:
        self.phase = ev.get("phase", self.phase)
        self.fraction = ev.get("fraction", self.fraction)
        if "row" in ev:
            self.rows.setdefault(ev["model"], []).append(ev["row"])

    def run(self) -> None:
        try:
            service = None
            if self.service_factory and not self.cfg.host:
                self._progress({"phase": "starting the service (loads the models once)"})
                service = self.service_factory()
            self.report = run_load_test(self.cfg, self._progress, self.stop_event, service=service)
            self.run_id = self.report.run_id
        except BaseException as e:  # shown on the page; the run record already says failed/stopped
            self.error = str(e) or type(e).__name__
            self.run_id = getattr(e, "run_id", None)
            self.phase = "stopped" if self.stop_event.is_set() else "failed"

    def stop(self) -> None:
        self.stop_event.set()


APP = AppProcesses()
atexit.register(APP.stop_all)
atexit.register(procs.stop_all)



__all__ = ["APP", "ENDPOINTS", "LoadConfig", "LoadReport", "LoadTestError", "LoadTestJob", "LocustProcess",
           "ServiceProcess", "find_slo", "run_load_test", "run_phase", "start_web_ui"]
