"""No English of ours formed in ``evaluators/`` reaches a Chinese reader: every message raised, printed or shown
there goes through the catalog (the scanner), and a few real paths read in Chinese: a gate on a stored run
(in-process and through the CLI with ``WORKBENCH_LANG=zh``), a sweep grid's bad value, the RAG job's progress
line, the judge's reliability sentence and the speech-to-text table's cells. English stays as it was."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from rag.i18n import language
from rag.runs import RunStore
from tests.conftest import ROOT
from tests.support.run_fixtures import make_dataset, write_retrieval_run
from tests.support.untranslated import scan


def test_no_english_message_of_ours_in_evaluators():
    assert scan(["evaluators"]) == []


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """A data folder with one finished retrieval run (ndcg@5 0.5 and 0.25 for two models)."""
    data = tmp_path_factory.mktemp("evaluators-zh")
    store = RunStore(data / "runs.sqlite")
    ds = make_dataset(n_queries=4)
    run_id = write_retrieval_run(store, ds, {"a": {q.id: 0.5 for q in ds.queries},
                                             "b": {q.id: 0.25 for q in ds.queries}})
    return data, store, run_id


def test_a_gate_on_an_unknown_metric_and_a_failing_gate_read_in_chinese(stored):
    from evaluators.report.gate import check_gate

    _, store, run_id = stored
    run = store.get(run_id)
    with language("zh"), pytest.raises(ValueError) as err:
        check_gate(store, run, "faithfulness", minimum=0.5)
    assert str(err.value) == f"运行 {run_id}（retrieval）中没有指标“faithfulness”；可用的有：ndcg@5, precision@5"
    with pytest.raises(ValueError) as err:
        check_gate(store, run, "faithfulness", minimum=0.5)
    assert str(err.value) == f"metric 'faithfulness' is not in run {run_id} (retrieval); available: ndcg@5, precision@5"
    with language("zh"):
        result = check_gate(store, run, "ndcg@5", minimum=0.4)
    assert not result.ok and result.message == f"门禁未通过（运行 {run_id}）：b ndcg@5 = 0.2500 < 最小值 0.4"
    with language("zh"):
        assert check_gate(store, run, "ndcg@5", minimum=0.2).message == \
            f"门禁通过（运行 {run_id}）：ndcg@5 >= 0.2：a 0.5000, b 0.2500"


def test_the_cli_gate_prints_its_refusal_in_chinese(stored):
    data, _, run_id = stored
    env = {**os.environ, "WORKBENCH_DATA_DIR": str(data), "WORKBENCH_LANG": "zh"}
    p = subprocess.run([sys.executable, "cli.py", "gate", "--run", run_id, "--metric", "ndcg@5"], cwd=ROOT,
                       capture_output=True, text=True, timeout=120, env=env)
    assert p.returncode != 0 and "Traceback" not in p.stderr
    assert "请给出 --min、--max 和/或 --ci-low" in p.stderr, p.stderr
    p = subprocess.run([sys.executable, "cli.py", "gate", "--run", run_id, "--metric", "ndcg@5", "--min", "0.4"],
                       cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)
    assert p.returncode == 1 and p.stderr.strip() == f"门禁未通过（运行 {run_id}）：b ndcg@5 = 0.2500 < 最小值 0.4"


def test_a_bad_sweep_grid_and_the_rag_progress_line_read_in_chinese():
    from evaluators.rag.job import RunProgress
    from evaluators.sweep.setups import grid_from_text

    with language("zh"), pytest.raises(ValueError) as err:
        grid_from_text(["bm25"], ks="5,x")
    assert str(err.value) == "k：'x' 不是 ≥ 1 的整数"
    with pytest.raises(ValueError) as err:
        grid_from_text(["bm25"], chunk_sizes="0")
    assert str(err.value) == "chunk sizes: '0' is not a whole number ≥ 1 or none"
    p = RunProgress(done=7, total=32, failed=1, elapsed=75, eta=250, cost_usd=0.0123)
    assert p.text == "7/32 rows · 1 with failures · 01:15 elapsed · ~04:10 left · $0.0123"
    with language("zh"):
        assert p.text == "7/32 行 · 1 行有失败 · 已用 01:15 · 约剩 04:10 · $0.0123"


def test_the_judges_reliability_and_the_speech_to_text_cells_read_in_chinese():
    """The sentence when the questions have no qrels; κ's words (Landis & Koch); the ASR table's cells."""
    from evaluators.judge.agreement import strength
    from evaluators.judge.reliability import judge_reliability
    from evaluators.report.encoded import asr_rows

    row = {"model": "m", "item_id": "q1", "question_id": "q1", "retrieved_ids": ["d1"], "relevant_ids": [],
           "scores": {"context_precision": 1.0}, "reasons": {}, "errors": {}}
    rel = judge_reliability([row], "judge", ["context_precision"])
    with language("zh"):
        assert rel.sentence() == ("评审模型与你的相关性标注（qrels）的一致性：无法计算"
                                  "（该运行的问题没有相关性标注（相关文档 id））")
        assert [strength(k) for k in (-0.1, 0.1, 0.3, 0.5, 0.7, 0.9)] == [
            "没有超出随机水平的一致", "轻微一致", "一般一致", "中等一致", "高度一致", "几乎完全一致"]
    assert rel.missing == "the run's questions have no qrels (relevant document ids)"   # the JSON keeps English

    class Run:
        config = {"asr": {"model": "asr:/w", "sounds": 3, "segments": 7, "cached": 2, "empty": ["a.wav"],
                          "dropped_audio_queries": 0, "wer": 0.125, "wer_files": 2, "options": {"device": "cpu"}}}
        summary: dict = {}

    with language("zh"):
        zh = asr_rows(Run())[0]
    assert zh["WER"] == "12.5%（2 个音频）" and zh["options"] == "device cpu"
    assert asr_rows(Run())[0]["WER"] == "12.5% over 2 sounds"
    Run.config["asr"]["wer"], Run.config["asr"]["options"] = None, {}
    with language("zh"):
        zh = asr_rows(Run())[0]
    assert (zh["WER"], zh["options"]) == ("未测量（没有 transcripts.jsonl）", "未记录")
