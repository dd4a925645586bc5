"""The RAG quality page, headless (streamlit AppTest): offline run, judged run via the test server."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT
from tests.support.openai_test_server import judge_server, llm_server  # noqa: F401  (fixtures)
from tests.support.page_scan import raw_cells

pytestmark = pytest.mark.slow
PAGE = str(ROOT / "pages" / "4_RAG_quality.py")


def by_label(widgets, label: str):
    return next(w for w in widgets if w.label.startswith(label))


def scores_table(at):
    """The model × metric table (the price editor is a dataframe too)."""
    return next(d.value for d in at.dataframe if "minilm" in list(getattr(d.value, "index", [])) or
                "bm25" in list(getattr(d.value, "index", [])))


def texts(at) -> str:
    return "\n".join(str(e.value) for kind in ("markdown", "caption", "info", "warning", "success")
                     for e in getattr(at, kind))


def test_offline_run_shows_scores_with_coverage_and_drilldown(milvus):
    at = AppTest.from_file(PAGE, default_timeout=300)
    at.run()
    assert not at.exception, at.exception
    body = texts(at)
    assert "Estimate:" in body and "**0** LLM calls" in body
    assert "baseline" in body and "need one" in body            # says which metrics need a judge, and how
    assert "Generating a test set needs an LLM" in body           # the synthetic test set explains what it needs
    by_label(at.number_input, "Only the first N").set_value(3)
    by_label(at.button, "Run").click().run()
    assert not at.exception, at.exception
    body = texts(at)
    assert "Status **done**" in body and "(baseline)" in body
    table = scores_table(at)
    assert list(table.index) == ["minilm", "bm25"]
    assert table.loc["minilm", "ROUGE-L"].endswith("(3/3)")      # every mean with its coverage
    assert "Faithfulness" not in table.columns                     # not run without a judge
    assert "**Question:** auto garbage collection" in body
    ctx = next(d.value for d in at.dataframe if "relevant" in getattr(d.value, "columns", []))
    assert set(ctx["relevant"]) <= {"✅", "❎"} and len(ctx) == 4
    assert raw_cells(at) == []                                     # scores, per question, drill-down, captions
    per_q = next(d.value for d in at.dataframe if "question_id" in getattr(d.value, "columns", []))
    assert all(v == "n/a" or (len(v) == 5 and v[1] == ".") for v in per_q["ROUGE-L"])  # 3 decimals, as text
    drill = next(s for s in at.selectbox if s.label == "Drill down")
    drill.set_value(len(drill.options) - 1).run()                 # another model's row: still nothing raw
    assert not at.exception and raw_cells(at) == []


def test_judged_run_shows_judge_reasons(milvus, llm_server):  # noqa: F811
    at = AppTest.from_file(PAGE, default_timeout=300)
    at.run()
    at.selectbox(key="Judge_kind").set_value("compat").run()
    at.text_input(key="Judge_compat_model").set_value("judge-model")
    at.text_input(key="Judge_compat_url").set_value(llm_server.base_url)
    by_label(at.number_input, "Only the first N").set_value(2)
    at.run()
    assert "Estimate: **4** rows" in texts(at)
    by_label(at.button, "Run").click().run()
    assert not at.exception, at.exception
    table = scores_table(at)
    assert table.loc["bm25", "Faithfulness"].endswith("(2/2)") and table.loc["bm25", "Faithfulness"] != "n/a"
    assert "The judge's reasons" in texts(at)
    reasons = next(d.value for d in at.dataframe if "verdict" in getattr(d.value, "columns", []))
    assert {"Faithfulness", "Context recall"} <= set(reasons["metric"])
    assert llm_server.stats()["chat_calls"] > 0
    # Beside the scores: how far to trust the judge (its verdicts against the sample's qrels, its failures)
    from evaluators.judge.reliability import for_run
    from rag.runs import RunStore

    store = RunStore.default()
    sentence = for_run(store, store.get("latest")).sentence()
    assert sentence.startswith("the judge agrees with your judgments on ")
    assert "(n = 16 contexts, 2 questions)" in sentence
    assert sentence[0].upper() + sentence[1:] + "." in [i.value for i in at.info]
    confusion = next(d.value for d in at.dataframe if "qrels: relevant" in getattr(d.value, "columns", []))
    assert confusion["qrels: relevant"].sum() + confusion["qrels: not relevant"].sum() == 16   # 2 × 2 rows × k = 4
    health = next(d.value for d in at.dataframe if "parse failures" in getattr(d.value, "columns", []))
    assert list(health["rows"]) == [4] * 4 and list(health["parse failures"]) == ["0 (0%)"] * 4
    assert raw_cells(at) == []


def test_judge_repeats_and_a_second_judge_from_the_page(milvus, llm_server):  # noqa: F811
    at = AppTest.from_file(PAGE, default_timeout=300)
    at.run()
    for role in ("Judge", "Second judge"):
        at.selectbox(key=f"{role}_kind").set_value("compat").run()
        at.text_input(key=f"{role}_compat_model").set_value("judge-model" if role == "Judge" else "judge-two")
        at.text_input(key=f"{role}_compat_url").set_value(llm_server.base_url)
    by_label(at.number_input, "Only the first N").set_value(1)
    by_label(at.number_input, "Judge repeats").set_value(2)
    at.run()
    assert not at.warning, [w.value for w in at.warning]
    by_label(at.button, "Run").click().run()
    assert not at.exception, at.exception
    captions = [c.value for c in at.caption]
    assert any(c.startswith("Second judge: the two judges agree on 100 % of context verdicts") for c in captions)
    noise = next(d.value for d in at.dataframe if "95% CI with judge noise" in getattr(d.value, "columns", []))
    assert set(noise["repeats"]) == {2} and set(noise["rows whose repeats differ"]) == {"0/1"}   # the plain judge
    assert raw_cells(at) == []
