"""A shared app (served beyond 127.0.0.1) reads only folders under WORKBENCH_DATA_ROOTS.

AppTest of the Data page with ``server.address`` 0.0.0.0: a BEIR folder outside the roots (and ``..`` out of one)
is refused with one line and the current dataset kept; SciFact under a root loads; with no roots set every
folder is refused and the line says so. Bound to 127.0.0.1 (the default here) any folder loads.
"""

from __future__ import annotations

import pytest
from streamlit import config
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT, SCIFACT


@pytest.fixture
def shared(monkeypatch):
    from rag.settings import reset_settings

    before = config.get_option("server.address")
    config.set_option("server.address", "0.0.0.0")

    def roots(value: str | None):
        if value is None:
            monkeypatch.delenv("WORKBENCH_DATA_ROOTS", raising=False)
        else:
            monkeypatch.setenv("WORKBENCH_DATA_ROOTS", value)
        reset_settings()
    yield roots
    config.set_option("server.address", before)
    monkeypatch.undo()
    reset_settings()


def _load_beir(folder: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / "1_Data.py"), default_timeout=180).run()
    at.radio[0].set_value("BEIR folder").run()
    at.text_input[0].set_value(folder).run()
    at.button[0].click().run()
    assert not at.exception
    return at


def test_a_shared_app_reads_folders_under_the_roots_only(milvus, shared, tmp_path):
    shared(f"{tmp_path}:{SCIFACT.parent}")
    for outside in ("/etc", f"{SCIFACT.parent}/../../etc"):
        at = _load_beir(outside)
        assert at.error[0].value == (f"Not loaded: {outside}: outside the folders this shared app may read "
                                     f"(WORKBENCH_DATA_ROOTS: {tmp_path}, {SCIFACT.parent.resolve()})")
        assert "Dataset **sample**: 31 documents" in at.caption[0].value  # the current dataset is kept
    at = _load_beir(str(SCIFACT))
    assert not at.error and at.success[0].value == "Loaded **scifact**."


def test_a_shared_app_without_roots_reads_no_folder(milvus, shared):
    shared(None)
    at = _load_beir(str(SCIFACT))
    assert at.error[0].value == (f"Not loaded: {SCIFACT}: this app is shared (served beyond 127.0.0.1 or behind "
                                 "sign-in), so it reads only folders under WORKBENCH_DATA_ROOTS, and none is set; "
                                 "upload files instead, or ask whoever runs it to set WORKBENCH_DATA_ROOTS")
