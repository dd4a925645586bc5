"""The load test's child processes, the service and Locust, and the HTTP calls the runner makes to them.

Starting, registering and stopping them is ``rag.processes`` (one process group each, so stopping one
also stops Locust's ``--processes`` workers; only the variables a child needs; stopped at exit; each
told ``WORKBENCH_PARENT_PID`` and quitting by itself if this process dies without cleaning up). Here:
the command lines, readiness (the service's ready file and ``/health``, the web UI's port) and which
secrets each child gets. When one fails, ``reason()`` gives the line of its log that says why.

Usage:
    with ServiceProcess("sample", ["minilm"]) as svc:
        get_json(svc.url, "/models")
        loc = LocustProcess.headless(locustfile, svc.url, users=2, spawn_rate=2, duration=5, prefix=out)
        loc.wait()
"""

from __future__ import annotations

import itertools
import json
import os
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from rag.i18n import _, current_language
from rag.processes import Child, free_port, port_in_use
from rag.settings import get_settings


class LoadTestError(RuntimeError):
    """A load test could not run or broke off; the message says why and what to do."""


class ServiceBusy(LoadTestError):
    """The service accepted the connection but did not answer in time: overloaded, not down."""


_seq = itertools.count()
LLM_VARS = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "WORKBENCH_ENDPOINT_KEYS")  # a service with an LLM generator


def child_language() -> dict:
    """``WORKBENCH_LANG`` for a child: the language current here (a session's), so the one line a failing
    service or Locust process writes, which the error shown here quotes (``reason()``), reads in it too."""
    return {"WORKBENCH_LANG": current_language()}


# ---------------------------------------------------------------- HTTP helpers (stdlib: no event loop needed)

def _request(url: str, method: str, body: dict | None, timeout: float) -> dict:
    data = json.dumps(body).encode() if body is not None else (b"" if method == "POST" else None)
    req = urllib.request.Request(url, data=data, method=method, headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:  # noqa: S310 (our own service URL)
            return json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        try:
            detail = json.loads(e.read()).get("detail", "")
        except (ValueError, AttributeError):
            detail = ""
        raise LoadTestError(_("{method} {url} answered {code}: {detail}").format(
            method=method, url=url, code=e.code, detail=detail or e.reason)) from e
    except TimeoutError as e:
        raise ServiceBusy(_("{method} {url} did not answer within {seconds} s").format(
            method=method, url=url, seconds=f"{timeout:g}")) from e
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        if isinstance(reason, TimeoutError):
            raise ServiceBusy(_("{method} {url} did not answer within {seconds} s").format(
                method=method, url=url, seconds=f"{timeout:g}")) from e
        raise LoadTestError(_("the service at {address} does not answer ({reason})").format(
            address=url.split("/", 3)[:3][-1], reason=reason)) from e


def get_json(base: str, path: str, timeout: float = 30.0) -> dict:
    return _request(base.rstrip("/") + path, "GET", None, timeout)


def post_json(base: str, path: str, body: dict | None = None, timeout: float = 30.0) -> dict:
    return _request(base.rstrip("/") + path, "POST", body, timeout)


# ---------------------------------------------------------------- the service

class ServiceProcess(Child):
    """``python -m loadtests.service`` on 127.0.0.1 (a free port by default), ready when /health answers."""

    def __init__(self, dataset: str = "sample", models: list[str] | None = None, port: int = 0,
                 host: str = "127.0.0.1", generator: str | None = None, milvus_uri: str | None = None,
                 index: dict | None = None, batching: dict | None = None):
        self.dataset, self.models, self.port, self.host = dataset, list(models or []), port, host
        # {"batching": bool, "batch_window_ms": float, "max_batch": int}; missing keys: the service's defaults
        self.batching = dict(batching or {})
        self.generator, self.milvus_uri = generator, milvus_uri
        self.index = index or {"index_type": "FLAT", "metric": "COSINE", "params": {}}  # IndexConfig.to_json()
        self.url = ""
        self.proc = None

    def start(self, timeout: float = 300.0) -> ServiceProcess:
        from rag.milvus.server import ensure_milvus

        if self.milvus_uri is None:
            ensure_milvus()  # started (and owned) here, so the service and Locust all reuse it
        if self.port and port_in_use(self.port, self.host):
            raise LoadTestError(_("port {port} on {host} is in use; choose another port or 0 for any").format(
                port=self.port, host=self.host))
        logs = get_settings().path("logs", "x").parent
        stamp = f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{next(_seq)}"
        ready = logs / f"service-{stamp}.ready.json"
        ready.unlink(missing_ok=True)
        cmd = [sys.executable, "-m", "loadtests.service", "--dataset", self.dataset, "--host", self.host,
               "--port", str(self.port), "--ready-file", str(ready)]
        if self.models:
            cmd += ["--models", ",".join(self.models)]
        if self.generator:
            cmd += ["--generator", self.generator]
        if self.milvus_uri:
            cmd += ["--milvus-uri", self.milvus_uri]
        cmd += ["--index", self.index["index_type"], "--metric", self.index["metric"],
                "--index-params", json.dumps(self.index.get("params") or {}),
                "--bm25-analyzer", self.index.get("bm25_analyzer", "auto")]
        cmd += batching_flags(self.batching)
        super().__init__(cmd, logs / f"service-{stamp}.log", env=child_language(), secrets=self.secrets)
        deadline = time.monotonic() + timeout
        try:
            while not ready.exists():
                if not self.alive():
                    raise LoadTestError(_("the load-test service did not start: {reason}").format(reason=self.reason()))
                if time.monotonic() > deadline:
                    raise LoadTestError(_("the load-test service was not ready within {seconds} s; see {log}").format(
                        seconds=f"{timeout:.0f}", log=self.log_path))
                time.sleep(0.2)
            self.url = json.loads(ready.read_text())["url"]
            while True:
                try:
                    health = get_json(self.url, "/health", timeout=5)
                    self.models = health["models"]
                    return self
                except LoadTestError:
                    if not self.alive() or time.monotonic() > deadline:
                        raise LoadTestError(_("the load-test service does not answer at {url}: {reason}").format(
                            url=self.url, reason=self.reason())) from None
                    time.sleep(0.2)
        except BaseException:
            self.stop()
            raise
        finally:
            ready.unlink(missing_ok=True)

    @property
    def secrets(self) -> tuple[str, ...]:
        """The service reaches Milvus (token) and, for /rag with an LLM generator, that LLM (its keys)."""
        llm = self.generator not in (None, "", "extractive")
        return ("MILVUS_TOKEN", *(LLM_VARS if llm else ()))

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def returncode(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def stop(self, grace: float = 10.0) -> None:
        if self.proc is not None:
            super().stop(grace)


def batching_flags(b: dict) -> list[str]:
    """The service's micro-batching flags for {"batching", "batch_window_ms", "max_batch"}."""
    flags = [] if b.get("batching", True) else ["--no-batching"]
    if b.get("batch_window_ms") is not None:
        flags += ["--batch-window-ms", f"{float(b['batch_window_ms']):g}"]
    if b.get("max_batch") is not None:
        flags += ["--max-batch", str(int(b["max_batch"]))]
    return flags


# ---------------------------------------------------------------- Locust

def master_flags(port: int) -> list[str]:
    """The master binds 127.0.0.1:``port`` and its workers connect there. Measured: with only
    ``--master-bind-port`` the forked workers tried 127.0.0.1:5557 until the time limit."""
    return ["--master-bind-host", "127.0.0.1", "--master-bind-port", str(port), "--master-port", str(port)]


def _locust_secrets(locustfile: Path) -> tuple[str, ...]:
    """Locust talks to the service over plain HTTP; only the direct-Milvus locustfile needs a token."""
    return ("MILVUS_TOKEN",) if Path(locustfile).name == "locustfile_milvus.py" else ()


class LocustProcess(Child):
    """``python -m locust`` headless (CSV + JSON files) or with its web UI bound to 127.0.0.1."""

    url = ""

    @classmethod
    def headless(cls, locustfile: Path, host: str, users: int, spawn_rate: float, duration: int,
                 prefix: Path, extra: list[str] | None = None, processes: int = 1) -> LocustProcess:
        prefix = Path(prefix)
        prefix.parent.mkdir(parents=True, exist_ok=True)
        for suffix in (".json", "_stats.csv", "_stats_history.csv", "_failures.csv", "_exceptions.csv"):
            Path(f"{prefix}{suffix}").unlink(missing_ok=True)
        cmd = [sys.executable, "-m", "locust", "-f", str(locustfile), "--headless", "-u", str(users),
               "-r", f"{spawn_rate:g}", "-t", f"{int(duration)}s", "--host", host, "--csv", str(prefix),
               "--csv-full-history", "--json-file", str(prefix), "--only-summary", "--stop-timeout", "2",
               *(extra or [])]
        if processes > 1:  # forked workers connect to --master-port (default 5557), not the bind port
            cmd += ["--processes", str(processes), *master_flags(free_port())]
        return cls(cmd, Path(f"{prefix}.log"), env=child_language(), secrets=_locust_secrets(locustfile))

    @classmethod
    def master(cls, locustfile: Path, host: str, users: int, spawn_rate: float, duration: int, prefix: Path,
               workers: int, port: int, extra: list[str] | None = None) -> LocustProcess:
        """A headless master that waits for ``workers`` separately started ``--worker`` processes; it
        alone writes the CSV and JSON files (the workers' stats merged), so results read as one process'."""
        return cls.headless(locustfile, host, users, spawn_rate, duration, prefix,
                            [*(extra or []), "--master", "--expect-workers", str(workers), *master_flags(port)])

    @classmethod
    def worker(cls, locustfile: Path, port: int, log_path: Path) -> LocustProcess:
        """One ``--worker`` for a master on 127.0.0.1:``port``; host, users and custom options (model,
        endpoint, k) come from the master."""
        cmd = [sys.executable, "-m", "locust", "-f", str(locustfile), "--worker", "--master-host", "127.0.0.1",
               "--master-port", str(port)]
        return cls(cmd, Path(log_path), env=child_language(), secrets=_locust_secrets(locustfile))

    @classmethod
    def web(cls, locustfile: Path, host: str, port: int, env: dict | None = None) -> LocustProcess:
        logs = get_settings().path("logs", "x").parent
        cmd = [sys.executable, "-m", "locust", "-f", str(locustfile), "--host", host,
               "--web-host", "127.0.0.1", "--web-port", str(port)]
        p = cls(cmd, logs / f"locust-web-{port}.log", {**child_language(), **(env or {})})
        p.url = f"http://127.0.0.1:{port}"
        p.port = port
        return p

    def wait_ready(self, timeout: float = 60.0) -> LocustProcess:
        deadline = time.monotonic() + timeout
        while not port_in_use(self.port):
            if not self.alive():
                raise LoadTestError(_("the Locust web UI did not start: {reason}").format(reason=self.reason()))
            if time.monotonic() > deadline:
                self.stop()
                raise LoadTestError(_("the Locust web UI did not answer within {seconds} s; see {log}").format(
                    seconds=f"{timeout:.0f}", log=self.log_path))
            time.sleep(0.2)
        return self
