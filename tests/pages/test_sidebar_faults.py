"""The sidebar after faults: the embedded Milvus killed while the app runs is restarted on the next rerun
and the sidebar says so; a damaged run store is one line naming the file and the remedy.

A real app (AppTest over app.py) on its own data folder with its own embedded Milvus Lite server.
"""

from __future__ import annotations

import psutil
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT, free_port

pytestmark = pytest.mark.slow


@pytest.fixture
def own_folder(tmp_path, monkeypatch):
    from rag.milvus.server import stop_embedded
    from rag.settings import Settings, reset_settings

    folder = tmp_path / "data"
    monkeypatch.setenv("WORKBENCH_DATA_DIR", str(folder))
    monkeypatch.setenv("WORKBENCH_MILVUS_PORT", str(free_port()))
    reset_settings()
    st.cache_resource.clear()  # the session's Milvus connection is another folder's
    st.cache_data.clear()
    yield folder
    st.cache_resource.clear()
    st.cache_data.clear()
    stop_embedded(Settings(data_dir=folder, milvus_uri=""))
    monkeypatch.undo()
    reset_settings()


def test_a_killed_embedded_milvus_is_restarted_and_the_sidebar_says_so(own_folder):
    from rag.milvus.server import embedded_status

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    assert not at.exception and not at.sidebar.warning
    before = embedded_status()
    victim = psutil.Process(before["pid"])
    procs = [*victim.children(recursive=True), victim]
    for p in procs:
        p.kill()
    psutil.wait_procs(procs, timeout=10)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()  # the next page load (same process)
    assert not at.exception, at.exception
    assert not at.sidebar.error, [e.value for e in at.sidebar.error]
    after = embedded_status()
    assert after["running"] and after["pid"] != before["pid"] and after["port"] == before["port"]
    assert any("answers" in s.value for s in at.sidebar.success)
    (note,) = [w.value for w in at.sidebar.warning]
    assert note.startswith("Milvus Lite (embedded) stopped and was restarted at ")
    assert note.endswith(f"the job went on at {after['uri']}. Details: {own_folder}/logs/milvus.log")


def test_a_damaged_run_store_is_one_line_in_the_sidebar(own_folder):
    own_folder.mkdir(parents=True)
    store = own_folder / "runs.sqlite"
    store.write_bytes(b"SQLite format 3\x00" + b"\x01" * 5000)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    assert not at.exception
    assert [e.value for e in at.sidebar.error] == [
        f"run store {store} is damaged (file is not a database): restore the latest backup with `workbench runs "
        f"restore`, or move it aside (e.g. `mv {store} {store}.damaged`) to start a new store"]
