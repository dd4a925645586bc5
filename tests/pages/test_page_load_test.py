"""The Load test page through Streamlit's AppTest: renders, runs a short real load test, shows results."""

from __future__ import annotations

import time

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT
from tests.support.page_scan import raw_cells

PAGE = str(ROOT / "pages" / "5_Load_test.py")


@pytest.fixture()
def app_processes():
    from loadtests.runner import APP

    yield APP
    APP.stop_all()


def test_page_renders_its_controls(milvus):
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    assert [m.label for m in at.multiselect] == ["Models"]
    assert {"Users", "Spawn rate /s", "Seconds per model", "p95 target (ms)"} <= {n.label for n in at.number_input}
    buttons = {b.label for b in at.button}
    assert {"Run load test", "Stop", "Open Locust web UI", "Stop web UI", "Stop service"} <= buttons
    assert at.selectbox[0].options == ["search", "rag", "milvus"]
    assert [(t.label, t.value) for t in at.toggle] == [("Micro-batching", True)]


@pytest.mark.slow
def test_page_runs_a_load_test_and_shows_results(milvus, app_processes):
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    at.multiselect[0].set_value(["bm25"])
    inputs = {n.label: n for n in at.number_input}
    inputs["Users"].set_value(2)
    inputs["Seconds per model"].set_value(3)
    next(b for b in at.button if b.label == "Run load test").click()
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    job = app_processes.job
    deadline = time.monotonic() + 120
    while job.is_alive() and time.monotonic() < deadline:
        time.sleep(1)
        at.run()
    assert not job.is_alive() and job.error is None, job.error
    at.run()
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table.index) == ["bm25"] and int(table.loc["bm25", "requests"].replace(",", "")) > 0
    assert table.loc["bm25", "failures"] == "0"
    assert all(table.loc["bm25", c].replace(",", "").isdigit() for c in ("p50 ms", "p95 ms", "p99 ms"))  # integer ms
    assert raw_cells(at) == []  # results table, captions, failures and latency-split tabs
    assert at.selectbox[1].value == job.run_id
    assert any("micro-batching on (window 5 ms, max batch 32)" in c.value for c in at.caption)
    assert len(at.tabs) == 5
    # the service stays up for the next run and the web UI; each has a stop button
    assert app_processes.service is not None and app_processes.service.alive()
    next(b for b in at.button if b.label == "Open Locust web UI").click()
    at.run()
    web = app_processes.web
    assert web is not None and web.alive() and web.url.startswith("http://127.0.0.1:")
    assert any(web.url in s.value for s in at.success)
    next(b for b in at.button if b.label == "Stop web UI").click()
    at.run()
    assert app_processes.web is None and not web.alive()
    next(b for b in at.button if b.label == "Stop service").click()
    at.run()
    assert app_processes.service is None
