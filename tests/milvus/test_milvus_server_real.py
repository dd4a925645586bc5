"""Against a real Milvus 2.3.5 standalone (PyPI ``milvus``, authorization on; tests/support/milvus_standalone.py).

Dense models rank exactly as on Milvus Lite; what 2.3.5 cannot run (BM25 needs 2.5) is refused up front
with one line, never a pymilvus traceback; ``MILVUS_TOKEN`` right, wrong and missing; the token is
never written anywhere.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import time

import pytest

import cli
from rag.milvus.capabilities import Capabilities, MilvusUnsupported
from rag.milvus.index_config import IndexConfig
from rag.milvus.server import MilvusInfo, MilvusUnavailable
from rag.retrieval import Retriever
from rag.settings import get_settings
from tests.support.milvus_standalone import ROOT_TOKEN, milvus_standalone  # noqa: F401  (session fixture)

pytestmark = pytest.mark.slow
BM25_LINE = "bm25 needs Milvus >= 2.5 (BM25 function); this server is 2.3.5"


@pytest.fixture
def remote_env(milvus_standalone, monkeypatch):  # noqa: F811
    """Point the settings (CLI, service) at the standalone server; ``set_token(None)`` to drop it."""
    from rag.settings import reset_settings

    def set_token(token):
        if token is None:
            monkeypatch.delenv("MILVUS_TOKEN", raising=False)
        else:
            monkeypatch.setenv("MILVUS_TOKEN", token)
        reset_settings()

    monkeypatch.setenv("MILVUS_URI", milvus_standalone.uri)
    set_token(ROOT_TOKEN)
    yield set_token
    monkeypatch.undo()
    reset_settings()


def _remote(srv, token=ROOT_TOKEN) -> MilvusInfo:
    return MilvusInfo(uri=srv.uri, token=token, embedded=False)


@pytest.mark.parametrize("index_type", ["FLAT", "HNSW"])
def test_dense_rankings_equal_milvus_lite(milvus_standalone, milvus, sample, index_type):  # noqa: F811
    cfg = IndexConfig(index_type)
    with Retriever(milvus, cfg) as lite, Retriever(_remote(milvus_standalone), cfg) as real:
        assert real.store.capabilities == Capabilities("Milvus", "v2.3.5-lite")
        a = lite.search_all(sample, ["minilm"], k=10).rankings["minilm"]
        b = real.search_all(sample, ["minilm"], k=10).rankings["minilm"]
    assert len(a) == 16
    assert {q: [d for d, _ in r] for q, r in a.items()} == {q: [d for d, _ in r] for q, r in b.items()}
    assert max(abs(x - y) for q in a for (_, x), (_, y) in zip(a[q], b[q])) < 1e-5  # float32 cosine


def test_bm25_on_milvus_2_3_is_one_line_and_builds_nothing(remote_env, milvus_standalone, capsys):  # noqa: F811
    client = _remote(milvus_standalone).client()
    before = set(client.list_collections())
    assert cli.main(["retrieval", "--dataset", "sample", "--models", "minilm,bm25", "--k", "4"]) == 2
    assert capsys.readouterr().err == f"error: {BM25_LINE}\n"
    assert set(client.list_collections()) == before  # minilm was not built either: refused before any work


def test_the_store_and_the_load_test_service_refuse_bm25_up_front(remote_env, milvus_standalone, sample):  # noqa: F811
    from loadtests.service_state import ServiceConfig, ServiceState
    from rag.models.registry import resolve

    with Retriever(_remote(milvus_standalone)) as wb:
        with pytest.raises(MilvusUnsupported, match=f"^{re.escape(BM25_LINE)}$"):
            wb.store.ensure_collection(sample, resolve("bm25"))
        assert not [c for c in wb.store.client.list_collections() if "bm25" in c]
    with pytest.raises(MilvusUnsupported, match="^hybrid needs Milvus >= 2.5"):
        ServiceState(ServiceConfig("sample", ["hybrid"], milvus_standalone.uri), log=lambda m: None)


def test_cli_milvus_status_names_version_and_what_it_cannot_run(remote_env, milvus_standalone, capsys):  # noqa: F811
    assert cli.main(["milvus", "status"]) == 0
    assert capsys.readouterr().out == (
        f"Milvus 2.3.5 at {milvus_standalone.uri} (MILVUS_URI) answers\n  cannot run: {BM25_LINE}\n"
        "  cannot run: hybrid needs Milvus >= 2.5 (BM25 function); this server is 2.3.5\n")


def test_milvus_token_right_wrong_and_missing(remote_env, milvus_standalone, capsys):  # noqa: F811
    uri = milvus_standalone.uri
    assert _remote(milvus_standalone).client().get_server_version() == "v2.3.5-lite"
    with pytest.raises(MilvusUnavailable) as e:
        _remote(milvus_standalone, "root:wrong").client()
    assert str(e.value) == f"Milvus at {uri} rejected MILVUS_TOKEN (auth check failure): check the user and password."
    assert "root:wrong" not in str(e.value)
    with pytest.raises(MilvusUnavailable) as e:
        _remote(milvus_standalone, None).client()
    assert str(e.value) == (f"Milvus at {uri} requires authentication: set MILVUS_TOKEN (user:password, "
                            "e.g. root:Milvus, or an API key).")
    remote_env("root:wrong")
    assert cli.main(["retrieval", "--dataset", "sample", "--models", "minilm"]) == 2
    err = capsys.readouterr().err
    log = get_settings().path("logs", "workbench.log")  # issue 26: where the libraries' records went
    assert err == (f"error: Milvus at {uri} rejected MILVUS_TOKEN (auth check failure): check the user and "
                   f"password. (details: {log})\n")
    remote_env(None)
    assert cli.main(["milvus", "status"]) == 2
    assert capsys.readouterr().err.startswith(f"error: Milvus at {uri} requires authentication: set MILVUS_TOKEN")


def test_a_down_server_is_not_called_an_auth_problem():
    from tests.conftest import free_port

    uri = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(MilvusUnavailable) as e:
        MilvusInfo(uri=uri, token="root:Milvus", embedded=False).client(timeout=2)
    assert str(e.value).startswith(f"Cannot connect to Milvus at {uri}: Fail connecting to server on")
    assert str(e.value).endswith("Check MILVUS_URI / MILVUS_TOKEN and that the server is running.")


def test_the_token_is_never_written(remote_env, milvus_standalone, data_dir, tmp_path, capsys):  # noqa: F811
    password = "S3cret-DO-NOT-STORE-4242"
    root = _remote(milvus_standalone).client()
    if "wbtest" not in root.list_users():
        root.create_user("wbtest", password)
        root.grant_role("wbtest", "admin")
    token = f"wbtest:{password}"
    user = _remote(milvus_standalone, token).client()
    for _ in range(60):  # the proxy's privilege cache takes the role grant a moment (measured: not instant)
        try:
            user.create_collection("wb_probe", dimension=2)
            break
        except Exception:
            time.sleep(0.5)
    user.drop_collection("wb_probe")
    remote_env(token)
    out = tmp_path / "result.json"
    assert cli.main(["retrieval", "--dataset", "sample", "--models", "minilm", "--k", "3", "--output", str(out)]) == 0
    assert json.loads(out.read_text())["run_id"]
    printed = capsys.readouterr()
    files = [p for p in data_dir.rglob("*") if p.is_file()] + [out]
    # read in another process: opening the SQLite files here would drop this process's locks
    blob = subprocess.run(["cat", *map(str, files)], capture_output=True).stdout
    assert any(p.name.startswith("runs.sqlite") for p in files)
    for needle in (password.encode(), base64.b64encode(token.encode())):
        assert needle not in blob and needle.decode() not in printed.out + printed.err


def test_index_page_shows_bm25_disabled_with_the_reason(remote_env, milvus_standalone):  # noqa: F811
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from tests.conftest import ROOT

    st.cache_resource.clear()  # the page's cached Milvus connection must be this server's
    try:
        at = AppTest.from_file(str(ROOT / "pages" / "2_Index.py"), default_timeout=180).run()
        assert not at.exception
        table = at.dataframe[0].value.set_index("model")
        assert table.loc["bm25", "why not"] == BM25_LINE and table.loc["bm25", "can run"] == "⚪ no"
        assert table.loc["minilm", "can run"] == "🟢 yes"
        assert "bm25" not in at.multiselect[0].options and "hybrid" not in at.multiselect[0].options
    finally:
        st.cache_resource.clear()
