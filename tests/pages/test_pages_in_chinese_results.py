"""The RAG quality, Load test, History and Sweep pages in a Chinese session (AppTest): in every state set up
here no interface text of ours is left in English (``page_scan.english_left_after``: labels, help, placeholders,
markdown, captions, alerts, buttons, tabs, expanders, table headers) and nothing raw (None / nan) is shown;
English sessions read exactly as before (the pages' own tests, unchanged); a keyed widget keeps its value when
the language changes.

States: an empty run store; the built-in sample after a real RAG run (bm25, extractive generator, 2 questions:
Milvus Lite, real retrieval and Ragas' non-LLM metrics) and a real sweep (bm25, k 4); History and Load test
with runs written by ``tests/support/run_fixtures.py`` (two retrieval runs, a load run) opened and compared.
The runs go to a store of this module's own (``redirect_default``), so other tests' runs never show here.

What may stay Latin: names (datasets, models, run ids, libraries), standard abbreviations (``KEEP_WORDS``) and,
listed in ``ELSEWHERE`` with their owner, sentences that other modules build (shared pickers, verdicts, the
report's tables), which their own areas translate.
"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from rag.runs.store import RunStore, redirect_default
from tests.conftest import ROOT
from tests.support.page_scan import english_left_after as english_left
from tests.support.page_scan import raw_cells
from tests.support.run_fixtures import make_dataset, write_load_run, write_retrieval_run

TIMEOUT = 240
# Names shown as they are: the datasets' and models' own, metric keys as the CLI takes them, run kinds and
# statuses as the store records them (in run labels: ``ID · retrieval · DATASET · MODELS · WHEN · done``).
NAMES = ("sample", "minilm", "bm25", "hybrid", "zh-scan", "Extractive (baseline, no LLM)", "faithfulness",
         " retrieval ", " load ", " sweep ", " done", "**done**")
# Built by modules outside this area, translated with their own areas (engineer E: the shared ui modules;
# engineer F: the report's modules and the messages jobs raise): kept out of this scan, each with its owner.
ELSEWHERE = (
    # E, ui/tables + ui/state: the dataset caption, the verdicts' tables, the rank column
    r"^Dataset \*\*", r"^Paired differences", r"^(Rank|Metric|model|mean|total|coverage|mark|scored|diff|"
    r"significant|mdd)$",
    # the RAG drill-down's question / answer / reference lines: the row's own texts (the labels are translated)
    r"^\*\*问题：\*\*",
    # the Ragas metrics' names (evaluators/rag/metrics' registry, shared with the report, F): headers of scores
    r"^(Context precision|Context recall|String similarity|Faithfulness|Answer relevancy|ROUGE-L|BLEU)"
    r"( \([^)]*\))?$",
    # E, ui/pickers: the model and LLM pickers (the roles are marked N_ here, shown by the picker)
    r"^Your own models", r"^(嵌入模型|模型): Choose options$", r"^Text datasets: hf:", r"^Not offered here:",
    r"^(Generator|Judge|Second judge|"
    r"Test-set LLM)$", r"^Test-set LLM (model|base URL)$", r"^OpenAI's API",
    # F, messages jobs raise: why the test-set generator cannot run
    r"needs OPENAI_API_KEY \(environment, \.env or the sidebar\)|Generating a test set needs an LLM",
    # F, evaluators/sweep (the report's sweep section and the CLI print them too): plan, time, leaderboard
    r"^计划：", r"^耗时：", r"^Best on ", r"^No setup was scored", r"^Quality–latency–cost frontier", r"^cost of ",
    r"^(rank|letters|setup|wins|losses|ties|pareto)$",
    # F, evaluators/report/{history,frontier,sections}: the run list, the frontier table, the reread note
    r"^(kind|status|created|dataset|models|headline|run|users|ranking|USD per 1k queries|load endpoint|"
    r"Pareto-optimal|cost basis)$", r"^The dataset could not be re-read",
    # the stored rows' field names (History's Rows tab: the columns of the CSV / Parquet export, kept as they are)
    r"^(seconds|requests|failures|rps|split|history|steps)$",
)
# Parts of our sentences built elsewhere: F (rag/runs/models.batching_label, also the report's and CLI's)
ELSEWHERE_PARTS = ("micro-batching off (one request at a time; recorded before the setting existed)",)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """An empty run store of this module's own (RunStore.default() opens it while the tests run)."""
    redirect_default(tmp_path_factory.mktemp("zh-runs") / "runs.sqlite")
    yield RunStore.default()
    redirect_default(None)


def zh_page(name: str, **state) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / name), default_timeout=TIMEOUT)
    at.session_state["ui_lang"] = "zh"
    for k, v in state.items():
        at.session_state[k] = v
    return at.run()


def assert_chinese(at, allow: tuple[str, ...] = ()) -> None:
    assert not at.exception, at.exception
    left = english_left(at, NAMES + ELSEWHERE_PARTS + allow, ELSEWHERE)
    assert left == [], "\n".join(left)
    assert raw_cells(at) == []


def test_empty_store_history_and_load_test_in_chinese(store, milvus):
    at = zh_page("6_History.py")
    assert_chinese(at)
    assert at.title[0].value == "🗂️ 历史记录" and at.info[0].value.startswith("还没有运行记录")
    at = zh_page("5_Load_test.py")
    assert_chinese(at)
    assert [e.label for e in at.expander] == ["SLO 测定：p95 达标时能承受的最多用户数"]
    assert at.number_input(key="load_users").label == "用户数"
    assert at.info[-1].value == "选择模型和负载参数，然后点击**开始压测**。"


@pytest.mark.slow  # loads Ragas and measures MiniLM's rate for the sweep's plan (~60 s on 2 busy cores)
def test_rag_quality_and_sweep_before_a_run_in_chinese(store, milvus):
    at = zh_page("4_RAG_quality.py")
    assert_chinese(at)
    assert any(i.value.startswith("预估：**") for i in at.info)
    assert at.number_input(key="rag_k").label == "Top-k 上下文数"
    at = zh_page("7_Sweep.py")
    assert_chinese(at)
    assert at.text_input(key="sweep_chunk_sizes").label == "分块大小"


def test_a_keyed_widget_keeps_its_value_when_the_language_changes(store, milvus):
    at = zh_page("5_Load_test.py")
    at.number_input(key="load_users").set_value(7).run()
    at.session_state["ui_lang"] = "en"
    at.run()
    assert not at.exception and at.number_input(key="load_users").value == 7
    assert at.number_input(key="load_users").label == "Users"


@pytest.mark.slow  # a real RAG run (Ragas' non-LLM metrics)
def test_rag_quality_after_a_run_in_chinese(store, milvus):
    at = zh_page("4_RAG_quality.py")
    at.multiselect[0].set_value(["bm25"])
    at.number_input(key="rag_limit").set_value(2)
    at.button(key="rag_run").click().run()
    assert_chinese(at)
    body = "\n".join(c.value for c in at.caption)
    assert "状态 **done**" in body and "生成器 **" in body and "行 2/2" in body
    assert [s.value for s in at.subheader][:2] == ["得分：均值 [95% 置信区间]（已评分 / 适用的问题数）", "逐问题"]
    per_q = next(d.value for d in at.dataframe if "问题 ID" in d.value.columns)
    assert list(per_q.columns[:4]) == ["模型", "问题 ID", "问题", "状态"] and len(per_q) == 2


@pytest.mark.slow  # a real sweep (its plan measures rates first)
def test_sweep_leaderboard_in_chinese(store, milvus):
    at = zh_page("7_Sweep.py")
    at.multiselect[0].set_value(["bm25"])
    at.text_input(key="sweep_ks").set_value("4")
    at.run()
    assert_chinese(at)
    assert at.info[0].value.startswith("计划：")
    at.button(key="sweep_run").click().run()
    assert_chinese(at)
    assert any(c.value.startswith("运行 `") for c in at.caption)


@pytest.fixture(scope="module")
def seeded(store):
    ds = make_dataset("zh-scan", n_queries=8)
    first = write_retrieval_run(store, ds, {"minilm": {f"q{i}": 0.5 + 0.05 * (i % 3) for i in range(8)},
                                            "bm25": {f"q{i}": 0.4 + 0.04 * (i % 4) for i in range(8)}})
    second = write_retrieval_run(store, ds, {"hybrid": {f"q{i}": 0.55 for i in range(8)}})
    load = write_load_run(store, ds, {"minilm": {"p50_ms": 30, "p95_ms": 90, "p99_ms": 150},
                                      "bm25": {"p50_ms": 10, "p95_ms": 30, "p99_ms": 50}})
    return first, second, load


def test_history_list_open_and_compare_in_chinese(seeded, milvus):
    first, second, load = seeded
    at = zh_page("6_History.py")
    assert_chinese(at)
    assert at.multiselect(key="history_kinds").label == "类型"
    at.multiselect(key="history_selected").select(first).run()
    assert_chinese(at)
    assert [t.label for t in at.tabs] == ["统计", "行", "配置", "导出与删除", "逐查询"]
    at.multiselect(key="history_selected").select(second).run()
    assert_chinese(at)
    assert at.subheader[0].value == "对比 2 次运行"
    at.multiselect(key="history_selected").unselect(first).unselect(second).select(load).run()
    assert_chinese(at)


def test_load_results_in_chinese(seeded, milvus):
    at = zh_page("5_Load_test.py")
    assert_chinese(at)
    assert [t.label for t in at.tabs] == ["吞吐量", "延迟", "失败", "延迟拆分", "SLO"]
    table = next(d.value for d in at.dataframe)
    assert list(table.columns[:3]) == ["用户数", "请求数", "失败数"] and table.index.name == "模型"
    assert "没有失败的请求。" in [s.value for s in at.success]
