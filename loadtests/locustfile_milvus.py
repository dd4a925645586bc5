"""Locust load straight at Milvus, no model and no HTTP service: the database's share of the latency.

The same searches the service runs (same collection, same index settings, same questions, the
query vectors embedded once up front), through the same ``MilvusStore.search`` code, so
``search[minilm]`` through the service minus ``milvus[minilm]`` here is the model's and the
service's cost. The plan (collection, questions, vectors) comes from the service's
``GET /plan/milvus``, so ``--host`` is the service's URL; Milvus' own URI comes from the plan or
``--milvus-uri``. pymilvus speaks gRPC, which blocks gevent unless gRPC's gevent support is switched
on before any channel exists: hence the first lines.

Usage:
    locust -f loadtests/locustfile_milvus.py --host http://127.0.0.1:8000 --headless -u 8 -r 8 -t 20s \\
           --model minilm
"""

import grpc.experimental.gevent as grpc_gevent

grpc_gevent.init_gevent()  # before pymilvus creates a channel

import itertools  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import random  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import urllib.request  # noqa: E402
from pathlib import Path  # noqa: E402

import gevent  # noqa: E402
import locust.stats  # noqa: E402
import numpy as np  # noqa: E402
from locust import User, constant, events, task  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `locust -f` puts only loadtests/ on the path
log = logging.getLogger("workbench")
locust.stats.CSV_STATS_FLUSH_INTERVAL_SEC = 1


class Plan:
    """Per process: model -> (spec, collection, IndexConfig, queries, vectors), and one Milvus client."""
    models: dict = {}
    cycle = None
    store = None
    error: str | None = None
    loaded_for: tuple | None = None


@events.init_command_line_parser.add_listener
def _options(parser):
    parser.add_argument("--model", default="all", include_in_web_ui=True,
                        help="model whose collection to search, or 'all' for round-robin")
    parser.add_argument("--endpoint", default="milvus", include_in_web_ui=False, help="(always milvus here)")
    parser.add_argument("--k", type=int, default=10, include_in_web_ui=True, help="results per query (1-100)")
    parser.add_argument("--milvus-uri", default="", include_in_web_ui=True,
                        help="default: the URI the service uses")


def _get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=120) as r:  # noqa: S310 (the user's own --host)
        return json.loads(r.read())


@events.init.add_listener
def _plan_before_the_clock(environment, **_):
    """Headless, ``-t`` starts counting while ``test_start`` still runs: a plan that takes seconds to load
    on a busy machine (imports, the service embedding the questions) ate a 3 s run whole (seen: 0
    requests). So headless runs load it here, before the clock starts; the web UI loads it per start."""
    opts = environment.parsed_options
    if opts is not None and getattr(opts, "headless", False) and not getattr(opts, "worker", False):
        _load_plan(environment)


@events.test_start.add_listener
def _load_plan(environment, **_kw):
    from rag.i18n import _
    from rag.milvus.index_config import IndexConfig
    from rag.milvus.server import MilvusInfo
    from rag.milvus.store import MilvusStore
    from rag.models.registry import resolve
    from rag.settings import get_settings

    opts, host = environment.parsed_options, (environment.host or "").rstrip("/")
    if Plan.cycle is not None and Plan.loaded_for == (host, opts.model):
        return  # loaded by _plan_before_the_clock
    Plan.error = None
    try:
        known = [m["name"] for m in _get_json(f"{host}/models")["models"]]
        wanted = known if opts.model in ("all", "", None) else [opts.model]
        if unknown := [m for m in wanted if m not in known]:
            raise ValueError(_("unknown model {models}; the service has: {known}").format(
                models=", ".join(unknown), known=", ".join(known)))
        Plan.models = {}
        for m in wanted:
            p = _get_json(f"{host}/plan/milvus?model={m}")
            vectors = np.asarray(p["vectors"], dtype=np.float32) if p["vectors"] else None
            Plan.models[m] = (resolve(m), p["collection"],
                              IndexConfig(p["index_type"], p["metric"], p.get("index_params") or {}),
                              p["queries"], vectors)
        uri = opts.milvus_uri or p["uri"]
        Plan.store = MilvusStore(MilvusInfo(uri=uri, token=get_settings().milvus_key, embedded=False))
        Plan.cycle = itertools.cycle(wanted)
        Plan.loaded_for = (host, opts.model)
    except Exception as e:
        Plan.error = _("cannot prepare the Milvus load from {host}: {error}").format(host=host, error=e)
        log.error(Plan.error)
        environment.process_exit_code = 2
        if environment.runner is not None:
            gevent.spawn_later(0.1, environment.runner.quit)


@events.init.add_listener
def _watch_parent(environment, **_):
    """Quit when the app that started us is gone (the same helper as locustfile.py and the service)."""
    from rag.processes import exit_with_parent

    exit_with_parent(lambda: environment.runner and environment.runner.quit(), code=3)


class MilvusUser(User):
    """Search one collection directly; each call reported as ``milvus[<model>]``."""
    wait_time = constant(0)
    _seq = itertools.count()

    def on_start(self):
        self.rng = random.Random(2000 + next(self._seq))
        self.k = max(1, min(100, self.environment.parsed_options.k))

    @task
    def search(self):
        if Plan.error or Plan.cycle is None:
            gevent.sleep(0.5)
            return
        model = next(Plan.cycle)
        spec, collection, cfg, queries, vectors = Plan.models[model]
        i = self.rng.randrange(len(queries))
        qv = None if vectors is None else vectors[i:i + 1]
        t, exc = time.perf_counter(), None
        try:
            Plan.store.search(collection, spec, [queries[i]], self.k, cfg, query_vectors=qv)
        except Exception as e:  # reported as a Locust failure, the run goes on
            exc = e
        self.environment.events.request.fire(request_type="milvus", name=f"milvus[{model}]",
                                             response_time=(time.perf_counter() - t) * 1000, response_length=0,
                                             exception=exc, context={})
