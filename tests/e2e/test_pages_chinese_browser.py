"""The Decide, Data, Index and Retrieval pages in a real browser, in English and then, after the sidebar's switch,
in Chinese (issue 29): every line a reader sees in the main area (tables' data and code blocks aside) is Chinese
apart from data and the allowed names, with the CJK fonts drawn; a comparison made in English is shown in Chinese.

Screenshots of each page in both languages (``en_*.png``, ``zh_*.png``) go to test-artifacts/screenshots/;
``make screenshots`` writes them into docs/screenshots/ (the README's pictures) instead.
"""

from __future__ import annotations

import re

import pytest

from tests.e2e.test_demo import readme_shot
from tests.support.page_scan import RAW_CELL, english_lines

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def streamlit_app(shared_app):
    """The app this module shares with the other page walks (tests/e2e/conftest.py, shared_app)."""
    return shared_app

PAGES = [("Decide", "决策", "decide"), ("Data", "数据", "data"), ("Index", "索引", "index"),
         ("Retrieval", "检索", "retrieval")]
SHOWN_TEXT_JS = """() => { const m = document.querySelector('[data-testid="stMain"]').cloneNode(true);
    m.querySelectorAll('[data-testid="stDataFrame"], [data-testid="stCode"], pre').forEach(e => e.remove());
    document.body.appendChild(m); const t = m.innerText; m.remove(); return t; }"""


def shown_lines(p) -> list[str]:
    """The main area's text lines, without tables (data) and code blocks (commands)."""
    return [line.strip() for line in p.page.evaluate(SHOWN_TEXT_JS).splitlines() if line.strip()]


def data_words() -> tuple[str, ...]:
    from rag.data.samples.text import load_sample
    from rag.models.providers import PROVIDERS
    from rag.models.registry import REGISTRY

    ds = load_sample()
    return (ds.name, *(d.title for d in ds.documents), *(q.text for q in ds.queries), *(q.id for q in ds.queries),
            *REGISTRY, *(t for p in PROVIDERS.values() for t in (p.label, p.key_env)))


def shot(p, name: str) -> None:
    full = p.shot(name)
    readme_shot(full, name, height=1400)


def test_pages_in_english_then_in_chinese(st_page):
    p = st_page
    for en, _zh, name in PAGES[1:]:
        p.goto(en)
        if en == "Retrieval":
            p.press("Compare", re.compile(r"^Run .* · k = 4 · \d+ judged queries"))
        shot(p, f"en_{name}")
    p.goto("Decide")
    shot(p, "en_decide")

    switch = p.page.locator('[data-testid="stSidebar"]').get_by_role("combobox", name="Interface language")
    switch.click()
    p.page.get_by_role("option", name="简体中文", exact=True).click()
    p.page.locator("h1").filter(has_text="决策").first.wait_for(timeout=60_000)
    p.wait_idle()
    assert p.nav_links() == ["决策", "数据", "索引", "检索", "RAG 质量", "压力测试", "历史记录", "参数扫描"]
    # the Decide page's choices survive the switch (their options are shown translated; ui.interface_language)
    assert p.main.get_by_role("radio", name="本地或 API").is_checked()
    data = data_words()
    for _en, zh, name in PAGES:
        if zh != "决策":
            p.goto(zh)
        if zh == "检索":  # the English comparison, shown in Chinese
            p.text(re.compile(r"^运行 .* · k = 4 · \d+ 条已标注查询"))
            p.text("谁胜出，把握有多大")
        lines = shown_lines(p)
        assert english_lines(lines, data) == [], name
        assert [line for line in lines if RAW_CELL.search(line)] == [], name
        shot(p, f"zh_{name}")
