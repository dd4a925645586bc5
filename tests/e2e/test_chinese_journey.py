"""The Chinese sample in a real browser: the language profile on the Data page, the BM25 analyzer chosen for
Chinese and the English model's note on the Index page, a comparison on the Retrieval page whose run records
jieba. Screenshots (with fonts-noto-cjk installed, scripts/install_browser.sh) go to test-artifacts/."""

from __future__ import annotations

import re

import pytest

from tests.e2e.journey_helpers import RUN_ID

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def streamlit_app(shared_app):
    """The app this module shares with the other page walks (tests/e2e/conftest.py, shared_app)."""
    return shared_app


def test_chinese_sample_from_data_to_a_recorded_run(st_page):
    from rag.runs import RunStore

    p = st_page
    p.press("Load the Chinese sample", "Loaded sample-zh.")
    p.text("🌐 Languages · Documents: 100 % Chinese · questions: 100 % Chinese · 0 mixed-language texts")
    p.shot("zh_01_data")

    p.goto("Index")
    p.text(re.compile(r"BM25 analyzer for sample-zh: jieba \(chosen for Chinese\)"))
    p.text(re.compile(r"all-MiniLM-L6-v2 is an English model; 100 % of your documents are Chinese"))
    p.shot("zh_02_index")

    p.goto("Retrieval")
    p.press("Compare", re.compile(r"^Run .* · k = 4 · 18 judged queries"))
    caption = p.main.get_by_text(re.compile(r"^Run .* · k = 4 · 18 judged queries")).first.inner_text()
    run = RunStore.default().get(RUN_ID.search(caption).group(0))
    assert run.config["bm25_analyzer"]["name"] == "jieba" and run.config["language"]["main_language"] == "zh"
    p.text(re.compile(r"all-MiniLM-L6-v2 is an English model"))  # next to its scores
    p.shot("zh_03_retrieval")
