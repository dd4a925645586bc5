"""Shared fixtures: one temporary data folder and one real Milvus Lite server for the whole session.

Every test process gets its own data folder (``WORKBENCH_DATA_DIR``) and a free port for Milvus
Lite (``WORKBENCH_MILVUS_PORT``), so tests never touch ``./data`` and never collide with a running
app. The server is stopped at the end of the session.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCIFACT = ROOT.parent / "shared" / "datasets" / "scifact"

_DATA = Path(tempfile.mkdtemp(prefix="wb-test-"))


def free_port() -> int:
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


def pytest_collection_modifyitems(session, config, items):
    """The demo's browser journey first, then the other browser journeys, on the session's fresh data folder, as
    a new user meets the app: the demo's journey asserts that it builds the sample's collections ("built 31
    documents"), which it only does before any other test has built them. (When the tests sat in one folder,
    ``tests/e2e`` sorted first by name; the package folders now sort around it, and other journeys sort before
    the demo's.) Relative order is kept otherwise."""
    def rank(item) -> int:
        path = str(item.path)
        return 0 if path.endswith("/tests/e2e/test_demo.py") else 1 if "/tests/e2e/" in path else 2
    items.sort(key=rank)


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
