"""The house rules of the app's shape: thin pages that app.py lists, small ui modules, and statistics a
page re-run does not recompute (AppTest over the real run store, real bootstraps)."""

from __future__ import annotations

import ast

import pytest
from streamlit.testing.v1 import AppTest

import evaluators.stats.run_stats as rs
from rag.runs import RunStore
from tests.conftest import ROOT
from tests.support.run_fixtures import make_dataset, write_retrieval_run

MAX_PAGE_LINES = 100
MAX_MODULE_LINES = 400


def navigation_pages() -> list[str]:
    """The files app.py's ``PAGES`` table hands to ``st.navigation`` (read from its source, not run)."""
    tree = ast.parse((ROOT / "app.py").read_text())
    table = next(n.value for n in tree.body if isinstance(n, ast.Assign) and n.targets[0].id == "PAGES")
    return [f for f, _title, _icon in ast.literal_eval(table)]


def test_every_file_in_pages_is_a_listed_page_of_at_most_100_lines():
    listed = navigation_pages()
    present = sorted(f"pages/{p.name}" for p in (ROOT / "pages").iterdir() if p.name != "__pycache__")
    assert present == sorted(listed) == ["pages/0_Decide.py", "pages/1_Data.py", "pages/2_Index.py",
                                         "pages/3_Retrieval.py",
                                         "pages/4_RAG_quality.py", "pages/5_Load_test.py", "pages/6_History.py",
                                         "pages/7_Sweep.py"]
    lengths = {f: len((ROOT / f).read_text().splitlines()) for f in listed}
    assert {f: n for f, n in lengths.items() if n > MAX_PAGE_LINES} == {}


def test_ui_modules_are_small_and_common_is_gone():
    lengths = {p.name: len(p.read_text().splitlines()) for p in (ROOT / "ui").glob("*.py")}
    assert "common.py" not in lengths
    assert {"state.py", "resources.py", "sidebar.py", "pickers.py", "progress.py", "tables.py", "errors.py",
            "stats.py"} <= set(lengths)
    assert {n: k for n, k in lengths.items() if k > MAX_MODULE_LINES} == {}


@pytest.fixture
def counted(monkeypatch):
    """Counts calls of ``run_stats`` (what the pages' cache calls on a miss) and of ``compute_stats``
    (the bootstraps), each still calling the real function."""
    calls = {"run_stats": 0, "compute_stats": 0}
    for name in calls:
        real = getattr(rs, name)

        def counting(*args, _real=real, _name=name, **kw):
            calls[_name] += 1
            return _real(*args, **kw)

        monkeypatch.setattr(rs, name, counting)
    rs._MEMO.clear()
    return calls


def test_history_rerun_after_a_widget_change_does_not_recompute_the_statistics(counted):
    store = RunStore.default()
    ds = make_dataset("structure-cache", n_queries=6)
    run = write_retrieval_run(store, ds, {"minilm": {f"q{i}": 0.5 + 0.05 * i for i in range(6)},
                                          "bm25": {f"q{i}": 0.4 for i in range(6)}})
    at = AppTest.from_file(str(ROOT / "pages" / "6_History.py"), default_timeout=120).run()
    at.multiselect(key="history_selected").select(run).run()
    assert not at.exception
    assert counted == {"run_stats": 1, "compute_stats": 1}
    assert at.selectbox(key="open_metric").value == "ndcg@5"

    at.selectbox(key="open_metric").set_value("precision@5").run()  # a widget change: the page re-runs
    assert not at.exception
    # issue 22: the coverage beside the mean
    assert "- Best on Precision@5: minilm, 0.312 [0.279, 0.346] over 6 of 6 questions." in at.markdown[0].value
    at.multiselect[0].select("retrieval").run()  # the Kind filter
    assert not at.exception and counted == {"run_stats": 1, "compute_stats": 1}

    store.add_rows(run, [{"model": "bm25", "item_id": "q0", "ndcg@5": 1.0, "precision@5": 0.5}])
    at.run()  # the run changed (its stamp): computed again, once
    assert not at.exception and counted == {"run_stats": 2, "compute_stats": 2}
    at.selectbox(key="open_metric").set_value("ndcg@5").run()
    assert counted == {"run_stats": 2, "compute_stats": 2}
    assert at.markdown[0].value.startswith("- Best on nDCG@5: minilm, 0.625 [0.558, 0.692] over 6 of 6 questions.")
    table = next(d.value for d in at.dataframe if "mark" in d.value.columns).set_index("model")
    assert table.loc["bm25", "mean"] == "0.500"  # (1.0 + 5 × 0.4) / 6: the changed row is in


@pytest.mark.slow
def test_retrieval_rerun_after_a_widget_change_does_not_recompute_the_statistics(retriever, sample, counted):
    from evaluators.retrieval.evaluate import evaluate_retrieval, save_run

    result = evaluate_retrieval(retriever, sample, ["minilm", "bm25"], k=4)
    run = save_run(RunStore.default(), sample, result)  # computes (and stores) the statistics as it finishes
    assert counted == {"run_stats": 1, "compute_stats": 1}
    at = AppTest.from_file(str(ROOT / "pages" / "3_Retrieval.py"), default_timeout=120)
    at.session_state["dataset"], at.session_state["retrieval_result"] = sample, result
    at.session_state["retrieval_run_id"] = run
    at.run()
    assert not at.exception and counted == {"run_stats": 2, "compute_stats": 1}  # read back, not recomputed
    at.selectbox(key="verdict_metric").set_value("recall@4").run()
    at.selectbox[-1].set_value(at.selectbox[-1].options[3]).run()  # another query
    assert not at.exception and counted == {"run_stats": 2, "compute_stats": 1}
