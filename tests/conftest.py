"""Shared fixtures: one temporary data folder and one real Milvus Lite server for the whole session.

Every test process gets its own data folder (``WORKBENCH_DATA_DIR``) and a free port for Milvus
Lite (``WORKBENCH_MILVUS_PORT``), so tests never touch ``./data`` and never collide with a running
app. The server is stopped at the end of the session.

Under pytest-xdist (``make test`` runs ``-n 2 --dist loadfile``) each worker is its own session: its own data
folder, Milvus Lite, apps and servers, and ports from its own range (``free_port``), so the two workers never
pick the same one. Whole modules go to a worker (``tests/support/xdist_schedule.py``), the browser modules that
share one app as one unit; ``-n 0`` or ``-p no:xdist`` runs everything in this one process, as before.
"""

from __future__ import annotations

import itertools
import os
import random
import shutil
import socket
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCIFACT = ROOT.parent / "shared" / "datasets" / "scifact"
ARTIFACTS = ROOT / "test-artifacts"
# The browser modules that share one ``streamlit run`` (``shared_app``, tests/e2e/conftest.py): under pytest-xdist
# one unit, in one worker, the first thing it runs (tests/support/xdist_schedule.py). xdist's scheduler sees only
# test ids, so they are named here; collection fails, saying so, when a module's use of ``shared_app`` and this
# list disagree.
SHARED_APP_GROUP = "e2e-shared-app"
SHARED_APP_MODULES = frozenset(f"tests/e2e/{m}.py" for m in (
    "test_demo", "test_audio_journey", "test_chinese_journey", "test_decide_journey", "test_hostile_upload",
    "test_images_journey", "test_pages_chinese_browser", "test_pages_in_chinese", "test_two_users"))

_DATA = Path(tempfile.mkdtemp(prefix="wb-test-"))

# "gw0", "gw1", ... in a pytest-xdist worker; "" in a plain run, in xdist's controller, and in a script a test
# starts that imports this file (it inherits the variable, not the plugin)
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "") if "xdist" in sys.modules else ""


def _port_range() -> range | None:
    """A pytest-xdist worker's own ports, below Linux's ephemeral range (32768-60999), so neither the other worker
    nor an outgoing connection is handed one of them: worker gwN takes 10000+2000*N to 11999+2000*N, up to gw10;
    any other process lets the OS pick (``bind(0)``), as before. A port picked here may be bound only minutes
    later (the session's Milvus Lite starts with the first test that needs it); with the OS picking for both
    workers, the other worker could be handed it in between."""
    n = int(WORKER[2:]) if WORKER.startswith("gw") and WORKER[2:].isdigit() else None
    return range(10000 + 2000 * n, 12000 + 2000 * n) if n is not None and n <= 10 else None


# the range in a random order, so two ports handed out in a row are not neighbours (a server that also binds
# its port + 1 would meet the next one)
_PORTS = random.sample(_port_range(), 2000) if _port_range() else []
_NEXT_PORT = itertools.cycle(_PORTS)


def free_port() -> int:
    """A port on 127.0.0.1 nothing listens on; in an xdist worker from its own range (never the same one twice in
    a session unless all 2000 were handed out)."""
    for _ in range(len(_PORTS)):
        port = next(_NEXT_PORT)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Set before any test module imports rag.settings.
os.environ["WORKBENCH_DATA_DIR"] = str(_DATA)
os.environ["WORKBENCH_MILVUS_PORT"] = str(free_port())
for var in ("MILVUS_URI", "MILVUS_TOKEN", "OPENAI_API_KEY", "OPENAI_BASE_URL", "WORKBENCH_ENDPOINT_KEYS"):
    os.environ.pop(var, None)


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: end-to-end or heavy tests (still run in CI)")
    if getattr(config.option, "dist", "no") == "load":
        # ``-n 2`` alone means xdist's per-test "load", which would split a module's ordered journey and pay its
        # module fixtures once per worker: whole modules it is (tests/support/xdist_schedule.py)
        config.option.dist = "loadfile"
    if getattr(config.option, "dist", "no") != "no" and not WORKER:
        # xdist's controller, before any worker starts: test-artifacts/ emptied once for the run (each worker
        # then writes into its own test-artifacts/gwN/, tests/e2e/conftest.py)
        shutil.rmtree(ARTIFACTS, ignore_errors=True)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """Whole modules (the shared-app modules as one unit) per worker, longest first, for ``--dist loadfile``
    (tests/support/xdist_schedule.py)."""
    if config.getvalue("dist") != "loadfile":
        return None
    from tests.support.xdist_schedule import LongestFirst

    return LongestFirst(config, log)


def pytest_collection_modifyitems(session, config, items):
    """The demo's browser journey first, then the other browser journeys, on the session's fresh data folder, as
    a new user meets the app: the demo's journey asserts that it builds the sample's collections ("built 31
    documents"), which it only does before any other test has built them. (When the tests sat in one folder,
    ``tests/e2e`` sorted first by name; the package folders now sort around it, and other journeys sort before
    the demo's.) Relative order is kept otherwise.

    Under ``make test`` the modules that use the shared app run in one worker, in this order, the first unit it
    runs (tests/support/xdist_schedule.py): they must be the ones ``SHARED_APP_MODULES`` names."""
    def rank(item) -> int:
        path = str(item.path)
        return 0 if path.endswith("/tests/e2e/test_demo.py") else 1 if "/tests/e2e/" in path else 2
    items.sort(key=rank)
    modules: dict[str, bool] = {}
    for item in items:
        module = item.nodeid.split("::", 1)[0]
        modules[module] = modules.get(module, False) or "shared_app" in getattr(item, "fixturenames", ())
    wrong = sorted(m for m, shares in modules.items() if shares != (m in SHARED_APP_MODULES))
    if wrong:
        raise pytest.UsageError(f"{', '.join(wrong)}: uses shared_app but is not in SHARED_APP_MODULES, or the "
                                "other way round (tests/conftest.py): pytest-xdist must run those modules as one unit")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return _DATA


@pytest.fixture(scope="session")
def milvus():
    """The real Milvus Lite server (started once per session)."""
    from rag.milvus.server import ensure_milvus, stop_started_servers
    from rag.settings import reset_settings

    reset_settings()
    info = ensure_milvus()
    yield info
    stop_started_servers()


@pytest.fixture(scope="session")
def retriever(milvus):
    from rag.retrieval import Retriever

    wb = Retriever(milvus)
    yield wb
    wb.close()


@pytest.fixture(scope="session")
def tiny_models_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("tiny-models")


@pytest.fixture(scope="session")
def tiny_clip_dir(tiny_models_dir) -> Path:
    """A random tiny CLIP saved with transformers (tests/support/tiny_models.py): ``clip:{tiny_clip_dir}``."""
    from tests.support.tiny_models import make_tiny_clip

    return make_tiny_clip(tiny_models_dir / "clip")


@pytest.fixture(scope="session")
def tiny_siglip_dir(tiny_models_dir) -> Path:
    from tests.support.tiny_models import make_tiny_siglip

    return make_tiny_siglip(tiny_models_dir / "siglip")


@pytest.fixture(scope="session")
def tiny_resnet_dir(tiny_models_dir) -> Path:
    """A random tiny ResNet image backbone: ``img:{tiny_resnet_dir}``."""
    from tests.support.tiny_models import make_tiny_resnet

    return make_tiny_resnet(tiny_models_dir / "resnet")


@pytest.fixture(scope="session")
def tiny_clap_dir(tiny_models_dir) -> Path:
    """A random tiny CLAP (tests/support/tiny_audio_models.py): ``clap:{tiny_clap_dir}``."""
    from tests.support.tiny_audio_models import make_tiny_clap

    return make_tiny_clap(tiny_models_dir / "clap")


@pytest.fixture(scope="session")
def tiny_ast_dir(tiny_models_dir) -> Path:
    """A random tiny Audio Spectrogram Transformer: ``aud:{tiny_ast_dir}``."""
    from tests.support.tiny_audio_models import make_tiny_ast

    return make_tiny_ast(tiny_models_dir / "ast")


@pytest.fixture(scope="session")
def sample():
    from rag.data.samples.text import load_sample

    return load_sample()


def pytest_sessionfinish(session, exitstatus):
    try:
        from rag.milvus.server import stop_started_servers

        stop_started_servers()
    finally:
        shutil.rmtree(_DATA, ignore_errors=True)


def _runs_state() -> list[tuple]:
    from rag.runs import RunStore

    store = RunStore.default()
    return [(r.id, r.status, r.finished, len(store.rows(r.id))) for r in store.list(limit=100_000)]


@pytest.fixture
def unchanged(milvus, data_dir):
    """Nothing written, nothing lost: the same Milvus collections and the same runs (and rows) after."""
    client = milvus.client()
    collections, runs = sorted(client.list_collections()), _runs_state()
    yield
    assert sorted(client.list_collections()) == collections, "a collection was created or dropped"
    assert _runs_state() == runs, "the run store changed"
