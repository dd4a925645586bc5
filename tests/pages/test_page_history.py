"""AppTest of the History page: list, filter, open, export, report, delete with undo, compare."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from rag.runs import RunNotFound, RunStore
from tests.conftest import ROOT
from tests.support.run_fixtures import make_dataset, write_load_run, write_retrieval_run

TIMEOUT = 120


@pytest.fixture(scope="module")
def seeded():
    store = RunStore.default()
    ds = make_dataset("history-page", n_queries=8)
    first = write_retrieval_run(store, ds, {"minilm": {f"q{i}": 0.5 + 0.05 * (i % 3) for i in range(8)},
                                            "bm25": {f"q{i}": 0.4 + 0.04 * (i % 4) for i in range(8)}})
    second = write_retrieval_run(store, ds, {"hybrid": {f"q{i}": 0.55 for i in range(8)}})
    load = write_load_run(store, ds, {"minilm": {"p50_ms": 30, "p95_ms": 90, "p99_ms": 150},
                                      "bm25": {"p50_ms": 10, "p95_ms": 30, "p99_ms": 50}})
    return store, first, second, load


def page() -> AppTest:
    return AppTest.from_file(str(ROOT / "pages" / "6_History.py"), default_timeout=TIMEOUT).run()


def by_label(widgets, label):
    return next(w for w in widgets if w.label == label)


def test_list_filter_and_open_a_run(seeded):
    store, first, second, load = seeded
    at = page()
    assert not at.exception
    by_label(at.multiselect, "Dataset").select("history-page").run()
    listed = at.dataframe[0].value
    assert set(listed["id"]) == {first, second, load}
    by_label(at.multiselect, "Kind").select("load").run()
    assert list(at.dataframe[0].value["id"]) == [load]
    by_label(at.multiselect, "Kind").unselect("load").run()

    at.multiselect(key="history_selected").select(first).run()
    assert not at.exception
    verdicts = [m.value for m in at.markdown]
    assert any(v.startswith("- Best on nDCG@5: minilm") for v in verdicts)
    assert at.selectbox(key="open_metric").value == "ndcg@5"
    labels = [b.label for b in at.get("download_button")]
    assert labels[:3] == ["⬇️ CSV", "⬇️ PARQUET", "⬇️ JSON"]
    by_label(at.button, "Build stakeholder report").click().run()
    assert not at.exception and "⬇️ report.html" in [b.label for b in at.get("download_button")]


def test_delete_needs_confirmation_and_can_be_undone(seeded):
    store, first, second, load = seeded
    rows_before = store.rows(second)
    at = page()
    at.multiselect(key="history_selected").select(second).run()
    delete = by_label(at.button, "🗑️ Delete run")
    assert delete.disabled
    at.checkbox(key="confirm_delete").check().run()
    by_label(at.button, "🗑️ Delete run").click().run()
    assert not at.exception
    with pytest.raises(RunNotFound):
        store.get(second)
    assert any(f"Deleted run {second}" in i.value for i in at.info)
    by_label(at.button, "↩️ Undo delete").click().run()
    assert not at.exception
    assert store.get(second).status == "done" and store.rows(second) == rows_before


def test_compare_runs_shows_verdicts_and_the_frontier(seeded):
    store, first, second, load = seeded
    at = page()
    at.multiselect(key="history_selected").select(first).select(second).select(load).run()
    assert not at.exception
    assert any(s.value.startswith("Comparing 3 runs") for s in at.subheader)
    text = " ".join(m.value for m in at.markdown)
    assert f"minilm [{first}]" not in text and "Best on nDCG@5:" in text  # model names are unique here
    assert len(at.get("plotly_chart")) == 1  # the quality–latency frontier
    frontier = at.dataframe[-1].value
    assert set(frontier["setup"]) == {f"minilm [{first}]", f"bm25 [{first}]", f"hybrid [{second}]"}
    assert frontier.set_index("setup").loc[f"bm25 [{first}]", "p95 ms"] == "30"  # formatted (evaluators.formatting)
