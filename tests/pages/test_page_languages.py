"""The Chinese sample through the pages (AppTest over app.py): the profile on the Data page, the analyzer
chosen for Chinese and kept app-wide from the Index page, the English model's note, the run's record."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT

TIMEOUT = 240


def _by_label(widgets, label):
    return next(w for w in widgets if w.label == label)


def test_chinese_sample_profile_analyzer_and_model_note_across_pages(milvus):
    from rag.runs import RunStore

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    at.switch_page("pages/1_Data.py").run()
    _by_label(at.button, "Load the Chinese sample").click().run()
    assert not at.exception and not at.error
    assert any(c.value == "🌐 Languages · Documents: 100 % Chinese · questions: 100 % Chinese · 0 mixed-language "
                          "texts" for c in at.caption)

    at.switch_page("pages/2_Index.py").run()
    assert not at.exception
    assert any(c.value == "BM25 analyzer for **sample-zh**: jieba (chosen for Chinese)" for c in at.caption)
    assert any(w.value.startswith("**minilm**: all-MiniLM-L6-v2 is an English model; 100 % of your documents "
                                  "are Chinese") for w in at.warning)
    _by_label(at.selectbox, "BM25 analyzer (BM25 and hybrid)").set_value("english").run()
    assert any(c.value == "BM25 analyzer for **sample-zh**: english (set by you) — english does not tokenize "
                          "Chinese, the corpus' main language" for c in at.caption)

    at.switch_page("pages/3_Retrieval.py").run()
    _by_label(at.multiselect, "Models").set_value(["bm25"]).run()
    _by_label(at.button, "Compare").click().run()
    assert not at.exception and not at.error
    run = RunStore.default().get(at.session_state["retrieval_run_id"])
    assert run.config["bm25_analyzer"] == {"name": "english", "params": run.config["bm25_analyzer"]["params"],
                                           "language": "zh", "chosen": "user",
                                           "note": "english does not tokenize Chinese, the corpus' main language"}
    assert run.config["language"]["main_language"] == "zh"
    at.switch_page("pages/2_Index.py").run()  # the choice held across pages
    assert _by_label(at.selectbox, "BM25 analyzer (BM25 and hybrid)").value == "english"
