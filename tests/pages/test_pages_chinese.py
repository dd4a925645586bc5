"""The Decide, Data, Index and Retrieval pages in Chinese (issue 29): each page run by AppTest in the states a
reader meets first (the sample loaded, the Chinese sample loaded, before and after a BM25 build, after a
comparison) shows no interface string of ours in English and no raw None/nan; a choice made in one language
survives switching to the other; English reads exactly as before (the helpers return the source text).

Data (the dataset's texts and ids, model and provider names) is shown as it is and taken out before the scan
(``tests.support.page_scan.english_left``); what else stays English is the explicit ``ALLOWED_WORDS``.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT
from tests.support.page_scan import english_left, raw_cells

TIMEOUT = 180


@pytest.fixture
def zh():
    """This test thread reads Chinese too: AppTest formats a widget's value with its ``format_func`` (``_``) in
    the test's thread when it sends the widgets' state back, and must find it among the Chinese options."""
    from rag.i18n import language

    with language("zh"):
        yield


def page(name: str, lang: str = "zh") -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / name), default_timeout=TIMEOUT)
    at.session_state["ui_lang"] = lang  # what the sidebar's switch stores for this session
    return at


def data_of(at, models: tuple[str, ...] = ()) -> tuple[str, ...]:
    """What the page shows as data: the dataset's name, ids and texts, the models and the providers' names."""
    from rag.models.providers import PROVIDERS
    from rag.models.registry import REGISTRY

    ds = at.session_state["dataset"]
    texts = [ds.name, *(d.id for d in ds.documents), *(d.title for d in ds.documents),
             *(q.id for q in ds.queries), *(q.text for q in ds.queries), *(q.reference or "" for q in ds.queries)]
    providers = [t for p in PROVIDERS.values() for t in (p.label, p.key_env)]
    # the collections in Milvus (the Index page's drop list): data of whichever tests of the session built them
    collections = [o for s in at.selectbox if s.key == "drop_collection" for o in s.options]
    return (*texts, *REGISTRY, *models, *providers, *collections)


def assert_chinese(at, models: tuple[str, ...] = ()) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert english_left(at, data_of(at, models)) == []
    assert raw_cells(at) == []


def test_decide_page_in_chinese_before_a_run(milvus, zh):
    at = page("0_Decide.py").run()
    assert_chinese(at)
    assert at.title[0].value == "🧭 决策"
    assert at.selectbox(key="decide_task").options == ["检索", "RAG", "图片检索"]
    # the value stays the brief's field value (read from the session: AppTest formats options in this thread)
    assert at.session_state["decide_task"] == "retrieval"
    assert at.radio(key="decide_where").options == ["本地或 API", "仅本地"]


def test_data_page_in_chinese_with_the_sample_and_the_chinese_sample(milvus, zh):
    at = page("1_Data.py").run()
    assert_chinese(at)
    source = at.radio(key="data_source")
    assert (source.label, source.options[0], at.session_state["data_source"]) == ("来源", "内置示例", "Built-in sample")
    assert [t.label for t in at.tabs] == ["文档", "问题", "相关性标注"]
    questions = next(d.value for d in at.dataframe if "参考答案" in d.value.columns)
    assert list(questions.columns) == ["ID", "问题", "参考答案", "相关"]
    caption = next(c.value for c in at.caption if c.value.startswith("数据集 **sample**："))
    assert caption.endswith("个已标注问题，") is False and "篇文档" in caption, caption

    next(b for b in at.button if b.label == "加载中文示例").click().run()
    assert_chinese(at)
    assert at.success[0].value == "已加载 **sample-zh**。"
    assert any(c.value.startswith("🌐 语言 · 文档：中文 100 %") for c in at.caption)


def test_index_page_in_chinese_before_and_after_a_bm25_build(milvus, zh):
    at = page("2_Index.py").run()
    assert_chinese(at)
    models = at.dataframe[0].value
    assert list(models.columns) == ["模型", "说明", "类型", "可运行", "不可运行的原因"]
    assert set(models["可运行"]) <= {"🟢 是", "⚪ 否"}
    assert "hybrid" in set(models["模型"]) and "混合" in set(models["类型"])  # data kept, fixed words translated
    at.multiselect(key="index_chosen").set_value(["bm25"]).run()
    next(b for b in at.button if b.label == "构建集合").click().run()
    assert_chinese(at, ("bm25",))
    ready = at.success[0].value
    assert not at.error and re.fullmatch(r"已就绪：bm25（(已复用|[\d,]+ 篇/秒)）", ready), ready
    collections = next(d.value for d in at.dataframe if "数据集" in d.value.columns)
    assert set(collections.loc[collections["数据集"] == "sample", "完整"]) == {"是"}


@pytest.mark.slow  # minilm embeds the sample (~40 s on 2 shared cores)
def test_retrieval_page_in_chinese_after_a_comparison(milvus, zh):
    at = page("3_Retrieval.py").run()
    assert_chinese(at)
    assert at.info[-1].value == "选择模型和 k，然后点击 **对比**。"
    at.multiselect(key="retrieval_models_chosen").set_value(["minilm", "bm25"]).run()
    next(b for b in at.button if b.label == "对比").click().run()
    assert_chinese(at, ("minilm", "bm25"))
    assert [s.value for s in at.subheader][:2] == [
        "各模型指标（均值，基于查询的 95% bootstrap 置信区间，10,000 次重采样）", "各模型看到的内容"]
    ranks = next((d.value for d in at.dataframe if "召回率" in list(d.value.index)),  # the per-query rank table
                 [list(d.value.index)[-3:] for d in at.dataframe])
    assert isinstance(ranks, pd.DataFrame), ranks
    assert list(ranks.index[-2:]) == ["精确率", "召回率"] and list(ranks.columns) == ["minilm", "bm25"]


def test_a_choice_survives_switching_the_language(milvus):
    """Widgets whose label is translated carry a key: the label changes, the value stays."""
    from rag.i18n import language

    at = page("1_Data.py", "en").run()
    at.radio(key="data_source").set_value("Documents (.txt, .md, .pdf, .docx, .html)").run()
    at.number_input(key="chunk_size").set_value(500).run()
    at.session_state["ui_lang"] = "zh"
    at.run()  # (this thread still English: AppTest sends back the widgets' state as the last run showed them)
    assert not at.exception
    assert at.session_state["data_source"] == "Documents (.txt, .md, .pdf, .docx, .html)"
    assert at.radio(key="data_source").label == "来源"
    size = at.number_input(key="chunk_size")
    assert (size.label, size.value) == ("分块大小（字符）", 500)

    with language("zh"):
        at = page("3_Retrieval.py", "zh").run()
        at.multiselect(key="retrieval_models_chosen").set_value(["bm25"]).run()
        at.session_state["ui_lang"] = "en"
        at.run()
    assert at.multiselect(key="retrieval_models_chosen").value == ["bm25"]
    assert at.multiselect(key="retrieval_models_chosen").label == "Models"


def test_english_helpers_return_the_source_text():
    """An English reader sees today's text: the helpers that re-word lower layers' English give it back as is."""
    import pandas as pd

    from evaluators.retrieval.evaluate import LEGEND
    from rag.data.language import profile_dataset
    from rag.data.samples.text import load_sample
    from rag.i18n import language
    from ui.language_panel import profile_summary
    from ui.tables import legend, localized

    frame = pd.DataFrame({"model": ["bm25"], "can run": ["🟢 yes"]})
    with language("en"):
        assert legend() == LEGEND and localized(frame) is frame
        for name in ("sample", "sample-zh"):
            p = profile_dataset(load_sample(name))
            assert profile_summary(p) == p.summary()
    with language("zh"):
        assert localized(frame).to_dict("records") == [{"模型": "bm25", "可运行": "🟢 是"}]
        assert profile_summary(profile_dataset(load_sample("sample-zh"))).startswith("文档：中文 100 %")
        assert legend().startswith("单元格颜色表示相关性：绿色 ✅ 相关")
