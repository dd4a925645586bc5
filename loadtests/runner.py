"""Run load tests: ``run_load_test`` for the CLI and the demo, and what the app keeps between page runs.

A load test is one ``LoadRun`` (``loadtests.phases``): it owns the config, the service and Locust
processes it starts and the run record. Every child is started in its own process group and
registered (``rag.processes``); it is stopped when its run ends, fails or is stopped, and at exit;
children also watch this process (``WORKBENCH_PARENT_PID``) and quit if it is killed, so nothing
keeps loading a machine after the app is gone. Load goes to 127.0.0.1 unless the caller names
another host. Bounds: at most ``MAX_USERS`` users and ``MAX_DURATION_S`` seconds.

Usage:
    report = run_load_test(LoadConfig(models=["minilm", "bm25"], users=10, duration=20))
    report.results["minilm"].stats.p95_ms, report.run_id
    with ServiceProcess(dataset="sample", models=["minilm"]) as svc:
        ui = start_web_ui(svc.url)            # ui.url -> http://127.0.0.1:PORT
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from loadtests import procs
from loadtests.config import LoadConfig, LoadReport
from loadtests.phases import HERE, LoadRun, Progress
from loadtests.procs import LoadTestError, LocustProcess, ServiceProcess
from rag import processes
from rag.i18n import _, current_language, set_language
from rag.processes import free_port
from rag.settings import current_owner, use_owner


def run_load_test(cfg: LoadConfig, progress: Progress | None = None, stop: threading.Event | None = None,
                  store=None, service: ServiceProcess | None = None) -> LoadReport:
    """The whole job: service, one phase per model, optional SLO search, run record. Raises on failure,
    after marking the run failed (or stopped) with its reason and stopping what it started."""
    return LoadRun(cfg, store, service, progress, stop).run()


def start_web_ui(url: str, models: list[str] | None = None, port: int | None = None) -> LocustProcess:
    """Locust's web UI on 127.0.0.1 against the service, model and endpoint pickable in its form."""
    port = port or free_port()
    if procs.port_in_use(port):
        raise LoadTestError(_("port {port} on 127.0.0.1 is in use; choose another for the Locust web UI").format(
            port=port))
    env = {"WORKBENCH_LOCUST_MODELS": ",".join(models)} if models else {}
    return LocustProcess.web(HERE / "locustfile.py", url, port, env).wait_ready()


# ---------------------------------------------------------------- app-wide processes (the page)

def dataset_spec(dataset) -> str | None:
    """What the service can load for a dataset in the app: a built-in sample, a BEIR folder or zip, else None."""
    from rag.data.samples.text import TEXT_SAMPLES

    src = str(getattr(dataset, "source", "") or "")
    if src in TEXT_SAMPLES:
        return src
    p = Path(src)
    return str(p) if src and (p.is_dir() or (p.is_file() and p.suffix.lower() == ".zip")) else None


class AppProcesses:
    """What the app keeps between page runs: one service, one Locust web UI, one load-test job (two
    load tests at once on the same cores would only measure each other). Stopped by their buttons
    or at exit (an exit hook of ``rag.processes``: the job is stopped first, so its run is recorded
    stopped, then the web UI and the service).

    Usage:
        APP.start_job(LoadConfig(models=["bm25"]))   # APP.job.phase, APP.job.rows
        APP.start_web("sample", ["bm25"]).url
    """

    def __init__(self):
        self.service: ServiceProcess | None = None
        self.web: LocustProcess | None = None
        self.job: LoadTestJob | None = None
        self.lock = threading.RLock()
        processes.on_exit(self.stop_all)

    def ensure_service(self, dataset: str, models: list[str], index: dict | None = None,
                       batching: dict | None = None) -> ServiceProcess:
        """The running service if it serves ``dataset``, ``models``, ``index`` (IndexConfig.to_json(),
        default FLAT) and ``batching`` (LoadConfig.batching_json(), default on), else a new one (with
        the union of models)."""
        from rag.milvus.index_config import IndexConfig

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
                raise LoadTestError(_("a load test is already running; stop it first"))
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
    """A ``LoadRun`` in a thread, its progress kept for a page to poll; ``stop()`` ends it cleanly.

    Usage:
        job = LoadTestJob(cfg); job.start()
        job.phase, job.fraction, job.rows     # live; job.report / job.error once it ends
    """

    def __init__(self, cfg: LoadConfig, service_factory: Callable[[], ServiceProcess] | None = None):
        super().__init__(daemon=True, name="load-test")
        self.cfg, self.service_factory = cfg, service_factory
        self.stop_event = threading.Event()
        self.phase, self.fraction, self.error = "queued", 0.0, None
        self.rows: dict[str, list[dict]] = {m: [] for m in cfg.models}
        self.report: LoadReport | None = None
        self.run_id: str | None = None
        self.owner = current_owner()  # the signed-in user who started it: its run goes to their store
        self.lang = current_language()  # its phases and errors read in the starter's language, not the thread's


    def _progress(self, ev: dict) -> None:
        self.phase = ev.get("phase", self.phase)
        self.fraction = ev.get("fraction", self.fraction)
        if "row" in ev:
            self.rows.setdefault(ev["model"], []).append(ev["row"])

    def run(self) -> None:
        use_owner(self.owner)  # this thread records into the starter's run store (rag.settings.user_path)
        set_language(self.lang)
        try:
            service = None
            if self.service_factory and not self.cfg.host:
                self._progress({"phase": _("starting the service (loads the models once)")})
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

