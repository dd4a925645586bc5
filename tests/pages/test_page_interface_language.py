"""AppTest over app.py: the session's interface language (what the sidebar switch stores under ``ui_lang``)
turns the page titles and the sidebar Chinese; English is today's text; the first visit follows
WORKBENCH_LANG (AppTest has no browser locale).

Why a fresh AppTest per language instead of clicking the switch and re-running: in AppTest (Streamlit
1.67) a rerun or a page switch of this app comes back with an empty sidebar (measured on main too, before
this change): the page's file runs without app.py, so the switch's widget and its key are gone after it.
That is also why every page calls ``use_session_language()`` itself (the Retrieval check below).
"""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT

TIMEOUT = 240


def _app(page: str | None = None, lang: str | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    if lang:
        at.session_state["ui_lang"] = lang   # what the sidebar switch stores for this session
    if page:
        at.switch_page(page)
    return at.run()


def _switch(at):
    return next(w for w in at.sidebar.selectbox if w.key == "ui_lang")


def test_english_is_todays_app_with_the_switch_in_the_sidebar(milvus, monkeypatch):
    monkeypatch.delenv("WORKBENCH_LANG", raising=False)
    at = _app()
    assert not at.exception
    assert (_switch(at).value, _switch(at).label, _switch(at).options) == ("en", "Interface language",
                                                                          ["English", "简体中文"])
    # the app lands on Decide (issue 25)
    assert at.title[0].value == "🧭 Decide" and at.sidebar.markdown[0].value == "### Status"
    assert sorted(e.label for e in at.sidebar.expander) == ["API key and endpoint", "Models"]


def test_chinese_session_shows_chinese_titles_and_sidebar(milvus, monkeypatch):
    monkeypatch.delenv("WORKBENCH_LANG", raising=False)
    at = _app(lang="zh")
    assert not at.exception
    assert at.title[0].value == "🧭 决策"
    assert _switch(at).value == "zh" and _switch(at).label == "界面语言"
    assert at.sidebar.markdown[0].value == "### 状态"
    assert sorted(e.label for e in at.sidebar.expander) == ["API 密钥与端点", "模型"]
    assert any(s.value.endswith("已响应（" + s.value.split("（")[-1]) for s in at.sidebar.success)  # Milvus status
    at = _app("pages/3_Retrieval.py", lang="zh")
    assert not at.exception and at.title[0].value == "🔎 检索"


def test_the_first_visit_follows_workbench_lang(milvus, monkeypatch):
    monkeypatch.setenv("WORKBENCH_LANG", "zh_CN")
    at = _app()
    assert not at.exception
    assert _switch(at).value == "zh" and at.title[0].value == "🧭 决策"
