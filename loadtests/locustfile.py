"""Locust load against the workbench service: questions from the dataset, one request name per model.

Each request is named ``<endpoint>[<model>]`` (``search[minilm]``, ``rag[bm25]``), so Locust's
tables, charts and CSVs show every model on its own line. The model ("all" = round-robin over what
the service has indexed), the endpoint and k are custom options, shown in the Locust web UI's
start form. Questions are the dataset's own (``GET /questions``), drawn at random per user with a
fixed seed, so two runs send the same mix. Besides the stdlib and Locust only ``rag.settings`` and
``rag.processes`` are imported (environment and parent watch; no models, no Milvus): the generator
process stays light and never becomes the bottleneck.

Usage:
    locust -f loadtests/locustfile.py --host http://127.0.0.1:8000 --web-host 127.0.0.1   # web UI :8089
    locust -f loadtests/locustfile.py --host http://127.0.0.1:8000 --headless -u 10 -r 5 -t 30s \\
           --model minilm --endpoint search --csv load/minilm
"""

from __future__ import annotations

import itertools
import json
import logging
import random
import sys
import urllib.request
from pathlib import Path
from typing import NamedTuple

import gevent
import locust.stats
from locust import FastHttpUser, constant, events, task

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `locust -f` puts only loadtests/ on the path
log = logging.getLogger("workbench")
locust.stats.CSV_STATS_FLUSH_INTERVAL_SEC = 1  # the app reads _stats_history.csv live

JSON_HEADERS = {"content-type": "application/json"}


class Request(NamedTuple):
    """The HTTP request a user sends for one ``--endpoint``."""
    method: str
    path: str
    body: object          # (model, question, k) -> JSON body, or None: no model, no body
    expect: bytes         # a byte string every good answer holds


REQUESTS: dict[str, Request] = {
    "search": Request("POST", "/search", lambda m, q, k: {"model": m, "query": q, "k": k}, b'"hits"'),
    "rag": Request("POST", "/rag", lambda m, q, k: {"model": m, "question": q, "k": k}, b'"answer"'),
    "health": Request("GET", "/health", None, b'"ok"'),  # trivial: measures the load generator, not the models
}


class Workload:
    """What this process learned from the service at test start (each worker process asks itself).
    Request bodies are encoded once here, not per request: the generator's CPU is the scarce thing."""
    models: list[str] = []
    bodies: dict[str, list[bytes]] = {}   # model -> one JSON body per question
    cycle = None
    error: str | None = None


def _get_json(url: str, timeout: float = 10.0) -> dict:
    with urllib.request.urlopen(url, timeout=timeout) as r:  # noqa: S310 (the user's own --host)
        return json.loads(r.read())


@events.init_command_line_parser.add_listener
def _options(parser):
    from rag.settings import get_settings

    choices = get_settings().locust_models  # WORKBENCH_LOCUST_MODELS, set by the app: a dropdown in the web UI
    parser.add_argument("--model", default="all", include_in_web_ui=True,
                        choices=["all", *choices.split(",")] if choices else None,
                        help="model to load, or 'all' for round-robin over the service's models")
    parser.add_argument("--endpoint", default="search", choices=list(REQUESTS), include_in_web_ui=True,
                        help="search (embed + Milvus), rag (+ generate) or health (no model work)")
    parser.add_argument("--k", type=int, default=10, include_in_web_ui=True, help="results per query (1-100)")
    parser.add_argument("--think-ms", type=int, default=0, include_in_web_ui=True,
                        help="pause between a user's requests; 0 = closed loop at full speed")


@events.test_start.add_listener
def _load_workload(environment, **_kw):
    from rag.i18n import _

    opts, host = environment.parsed_options, (environment.host or "").rstrip("/")
    Workload.error = None
    try:
        known = [m["name"] for m in _get_json(f"{host}/models")["models"]]
        questions = _get_json(f"{host}/questions")["questions"] or ["test"]
    except Exception as e:  # service down or not ours: say so and stop instead of 1000s of failures
        Workload.error = _("cannot read {host}/models and /questions: {error}").format(host=host, error=e)
    else:
        wanted = known if opts.model in ("all", "", None) else [opts.model]
        unknown = [m for m in wanted if m not in known]
        if unknown:
            Workload.error = _("unknown model {models}; the service has: {known}").format(
                models=", ".join(unknown), known=", ".join(known))
        Workload.models = wanted
        Workload.cycle = itertools.cycle(wanted)
        body = REQUESTS[opts.endpoint].body
        k = max(1, min(100, opts.k))
        Workload.bodies = {m: [json.dumps(body(m, q, k)).encode() for q in questions] for m in wanted} if body else {}
    if Workload.error:
        log.error(Workload.error)
        environment.process_exit_code = 2
        if environment.runner is not None:
            gevent.spawn_later(0.1, environment.runner.quit)


@events.init.add_listener
def _watch_parent(environment, **_):
    """Quit when the app that started us is gone: a killed app must not leave load running."""
    from rag.processes import exit_with_parent

    exit_with_parent(lambda: environment.runner and environment.runner.quit(), code=3)


class WorkbenchUser(FastHttpUser):
    """One simulated client: ask a random question of the next model, check the answer's shape."""
    wait_time = constant(0)
    _seq = itertools.count()

    def on_start(self):
        opts = self.environment.parsed_options
        self.rng = random.Random(1000 + next(self._seq))
        self.method, self.path, self.body, self.expect = REQUESTS[opts.endpoint]
        self.endpoint = opts.endpoint
        if opts.think_ms:
            self.wait_time = constant(opts.think_ms / 1000)

    @task
    def ask(self):
        if Workload.error or not Workload.models:
            gevent.sleep(0.5)
            return
        if self.body is None:
            name, kwargs = self.endpoint, {}
        else:
            model = next(Workload.cycle)
            name = f"{self.endpoint}[{model}]"
            kwargs = {"data": self.rng.choice(Workload.bodies[model]), "headers": JSON_HEADERS}
        with self.client.request(self.method, self.path, name=name, catch_response=True, **kwargs) as r:
            if r.status_code == 200 and self.expect not in (r.content or b""):
                r.failure(f"unexpected body: {(r.text or '')[:120]}")
