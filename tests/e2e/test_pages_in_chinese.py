"""The RAG quality, Load test, History and Sweep pages in a real browser, in Chinese and then in English: the
sidebar's switch turns them Chinese (CJK drawn with Noto CJK), none of our English sentences is left, nothing
raw is shown, and switching back gives today's English. Screenshots of each page in both languages
(``zh_*`` / ``en_*``) go to test-artifacts/screenshots/, or to docs/screenshots/ under `make screenshots`.

Runs come from tests/support/run_fixtures.py (two retrieval runs and a load run on a small dataset) written
into the app's own store, so History and Load test show tables and charts without a long run."""

from __future__ import annotations

import pytest

from tests.e2e.test_demo import no_raw_values, readme_shot
from tests.support.run_fixtures import make_dataset, write_load_run, write_retrieval_run

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def streamlit_app(shared_app):
    """The app this module shares with the other page walks (tests/e2e/conftest.py, shared_app)."""
    return shared_app

# page: (its Chinese nav label and title, its English one, English sentences of ours that must not show in
# Chinese, a Chinese text that must)
PAGES = {
    "rag_quality": ("RAG 质量", "RAG quality", ["Top-k contexts", "Generation, metrics, run settings"],
                    "Top-k 上下文数"),
    "load_test": ("压力测试", "Load test", ["Run load test", "Seconds per model", "Throughput"], "开始压测"),
    "history": ("历史记录", "History", ["Open one run, or pick two", "runs shown"], "打开一次运行"),
    "sweep": ("参数扫描", "Sweep", ["Chunk sizes", "Rank by", "Run sweep"], "分块大小"),
}


def switch_language(p, current: str, option: str) -> None:
    """The sidebar's language switch (labelled in the language in use) set to ``option``."""
    box = p.page.locator('[data-testid="stSidebar"]').get_by_role("combobox", name=current, exact=True).first
    box.click()
    p.page.get_by_role("option", name=option, exact=True).first.click()
    p.wait_idle()


def test_result_pages_in_chinese_then_english(st_page):
    from rag.runs import RunStore

    store = RunStore.default()  # the app's own store (the session's data folder)
    ds = make_dataset("zh-browser", n_queries=8)
    write_retrieval_run(store, ds, {"minilm": {f"q{i}": 0.5 + 0.05 * (i % 3) for i in range(8)},
                                    "bm25": {f"q{i}": 0.4 + 0.04 * (i % 4) for i in range(8)}})
    write_load_run(store, ds, {"minilm": {"p50_ms": 30, "p95_ms": 90, "p99_ms": 150},
                               "bm25": {"p50_ms": 10, "p95_ms": 30, "p99_ms": 50}})
    p = st_page
    switch_language(p, "Interface language", "简体中文")
    for name, (zh, _en, english, chinese) in PAGES.items():
        p.goto(zh)
        p.text(chinese)
        text = p.main.inner_text()
        assert [s for s in english + ["Choose options"] if s in text] == [], name
        assert no_raw_values(text) == [], name
        readme_shot(p.shot(f"zh_{name}"), f"zh_{name}", 1100)
    switch_language(p, "界面语言", "English")
    for name, (_zh, en, english, _chinese) in PAGES.items():
        p.goto(en)
        p.text(english[0])
        readme_shot(p.shot(f"en_{name}"), f"en_{name}", 1100)
