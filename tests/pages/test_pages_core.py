"""AppTest for the entry point and the Data, Index and Retrieval pages (real Milvus, real MiniLM)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT, SCIFACT

TIMEOUT = 180


def page(name: str) -> AppTest:
    return AppTest.from_file(str(ROOT / "pages" / name), default_timeout=TIMEOUT)


def test_app_entry_shows_navigation_and_status(milvus):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    assert not at.exception
    assert any("answers" in s.value for s in at.sidebar.success)  # Milvus status
    assert any(c.value.startswith("🖥️ Local encoders: cpu, batch 64") for c in at.sidebar.caption)  # device
    assert at.title[0].value.startswith("🧭 Decide")  # the front door; the Data page is one link away


def dataset_line(at) -> str:
    """The page's "Dataset **name**: N documents, …" caption (the demo panel's caption may come first)."""
    return next(c.value for c in at.caption if c.value.startswith("Dataset **"))


def test_data_page_defaults_to_the_sample_and_loads_beir(milvus):
    at = page("1_Data.py").run()
    assert not at.exception
    assert "31 documents, 16 judged questions" in dataset_line(at)
    if SCIFACT.exists():
        at.radio[0].set_value("BEIR folder").run()
        at.text_input[0].set_value(str(SCIFACT)).run()
        at.button[0].click().run()
        assert not at.exception and not at.error
        assert "5,183 documents, 300 judged questions" in dataset_line(at)


def test_data_page_reports_a_bad_folder_and_keeps_the_dataset(milvus, tmp_path):
    (tmp_path / "corpus.jsonl").write_text('{"_id": "a", "text": "x"}\n{"_id": "a", "text": "y"}\n')
    (tmp_path / "queries.jsonl").write_text('{"_id": "q", "text": "x"}\n')
    (tmp_path / "qrels").mkdir()
    (tmp_path / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq\ta\t1\n")
    at = page("1_Data.py").run()
    at.radio[0].set_value("BEIR folder").run()
    at.text_input[0].set_value(str(tmp_path)).run()
    at.button[0].click().run()
    assert not at.exception
    assert "corpus.jsonl" in at.error[0].value and "line 2" in at.error[0].value
    assert "31 documents" in at.caption[0].value  # the sample is still loaded


def test_index_page_builds_collections_with_progress(milvus):
    at = page("2_Index.py").run()
    assert not at.exception
    assert at.multiselect[0].value == ["minilm", "bm25"]
    at.button[0].click().run()
    assert not at.exception and not at.error
    assert "Ready: minilm" in at.success[0].value
    limits = next(d.value for d in at.dataframe if "max tokens" in d.value.columns)  # issue 24: shown after a build
    minilm = limits.set_index("model").loc["minilm"]
    assert (minilm["dims"], minilm["max tokens"], minilm["documents cut"]) == ("384", "256", "0 of 31")
    assert minilm["vectors / 1M docs (FLAT)"] == "1.54 GB"  # 384 × 4 B × 1e6
    names = next(d.value for d in at.dataframe if "rows" in d.value.columns)["name"].tolist()
    assert any(n.startswith("wb_sample_minilm_") for n in names)
    assert any(n.startswith("wb_sample_bm25_") for n in names)


def test_index_page_rejects_an_unknown_custom_model(milvus):
    at = page("2_Index.py").run()
    at.text_input[0].set_value("nope-model").run()
    at.button[0].click().run()
    assert not at.exception
    assert "unknown model 'nope-model'" in at.error[0].value


@pytest.mark.slow
def test_retrieval_page_shows_the_article_table(milvus):
    at = page("3_Retrieval.py").run()
    assert not at.exception
    at.button[0].click().run()
    assert not at.exception and not at.error
    frames = [d.value for d in at.dataframe]
    metrics = frames[0]
    table = next(f for f in frames if list(f.index)[-2:] == ["Precision", "Recall"])
    verdict = next(f for f in frames if "mark" in f.columns)
    assert (verdict["mark"] == "★ best").sum() == 1
    assert any("ndcg" in m.value.lower() or "nDCG" in m.value for m in at.markdown)
    assert list(metrics.index) == ["minilm", "bm25"] and "ndcg@4" in metrics.columns
    assert list(table.columns) == ["minilm", "bm25"]
    assert list(table.index)[-2:] == ["Precision", "Recall"]
    assert table["minilm"].iloc[1] == "✅ Java"  # "auto garbage collection", rank 2 (MiniLM puts C++ first)
    assert table["minilm"].iloc[0] == "❎ C++"
    assert len(at.get("plotly_chart")) == 1
    limits = next(f for f in frames if "max tokens" in f.columns).set_index("model")
    assert limits.loc["minilm", "documents cut"] == "0 of 31" and limits.loc["minilm", "query prompt"] == "none"
