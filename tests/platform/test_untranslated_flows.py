"""Messages formed in ``flows/``, ``loadtests/`` and ``commands/`` reach a Chinese reader in Chinese: the scanner
finds no English literal handed to a raise / print there, and the real code paths (the CLI in a subprocess and in
process, the Decide steps on the sample, a load-test job's thread, an HTTP call to a closed port) say their
sentences in Chinese under ``WORKBENCH_LANG=zh`` / ``language("zh")``. No Milvus and no model is needed here."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rag.i18n import language
from tests.support.untranslated import ROOT, scan

# Words of our English sentences in these areas: none may be left in a Chinese printout.
ENGLISH_OF_OURS = ["no embedded Milvus", "running for", "no run store", "backed up", "error:", "does not exist",
                   "must be", "not a regression", "give one of", "brief:", "wrote ", "users", "kept", "excluded",
                   "documents", "questions", "language", "the decision"]


def _ours(text: str) -> list[str]:
    return [e for e in ENGLISH_OF_OURS if e in text]


def test_no_untranslated_string_in_flows_loadtests_commands():
    assert scan(["flows", "loadtests", "commands"]) == []


def _cli_zh(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "WORKBENCH_LANG": "zh", "WORKBENCH_DATA_DIR": str(tmp_path / "data")}
    env.pop("MILVUS_URI", None)
    return subprocess.run([sys.executable, "cli.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


def test_cli_milvus_status_runs_check_and_demo_refusal_in_chinese_in_a_subprocess(tmp_path):
    data = tmp_path / "data"
    r = _cli_zh(tmp_path, "milvus", "status")
    assert (r.returncode, r.stdout, r.stderr) == (0, f"{data} 没有在运行的嵌入式 Milvus\n", "")
    r = _cli_zh(tmp_path, "runs", "check")
    assert (r.returncode, r.stdout) == (0, f"{data / 'runs.sqlite'}：还没有运行库\n"), r.stderr
    # click refuses the option while parsing: the app's one line, our words in Chinese, the flag kept
    r = _cli_zh(tmp_path, "demo", "--output", str(tmp_path / "nope" / "out"))
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr == f"错误：--output {tmp_path / 'nope' / 'out'}：文件夹 {tmp_path / 'nope'} 不存在\n"
    assert _ours(r.stderr) == []


@pytest.fixture()
def zh(monkeypatch):
    monkeypatch.setenv("WORKBENCH_LANG", "zh")


def _run(capsys, *args) -> tuple[int, str, str]:
    import cli

    code = cli.main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_refusals_and_store_lines_in_chinese(zh, tmp_path, capsys):
    code, out, err = _run(capsys, "demo", "--output", str(tmp_path), "--spend-cap", "0")
    assert (code, out, err) == (2, "", "错误：--spend-cap 必须大于 0 美元\n")
    code, out, err = _run(capsys, "decide", "--metric", "bleu", "--no-survey")
    assert (code, out) == (2, "")
    assert err == "错误：需求有误：metric: 请从 ndcg, recall, mrr, map, precision, hit_rate 中选择一个（在 k 处计分）\n"
    bad = tmp_path / "regression.json"
    bad.write_text('{"k": 5}', encoding="utf-8")
    code, out, err = _run(capsys, "check-regression", str(bad))
    assert (code, err) == (2, f"错误：{bad}：不是回归文件（缺少 model, questions）\n")
    code, out, err = _run(capsys, "runs", "backup")  # the session's store exists (other tests) or not yet
    assert code == 0 and (out.startswith("已将 ") and " 备份到 " in out or out.endswith("：还没有运行库\n")), out
    assert _ours(out + err) == []


def test_decide_findings_shortlist_and_recheck_in_chinese():
    from flows.decide.analysis import analyse
    from flows.decide.brief import Brief
    from flows.decide.plan import index_choice
    from flows.decide.shortlist import Candidate, check
    from flows.decide.verify import recheck
    from rag.data.samples.text import load_sample
    from rag.models.catalog import ModelInfo

    ds = load_sample()
    with language("zh"):
        a = analyse(ds)
        brief = Brief(where="local", p95_ms=150, users=8)
        hosted = check(Candidate("api", "yours", "dense", ModelInfo(name="x/api", open_weights=False),
                                 price_per_mtok=0.02), brief, a)
        flat = index_choice(31)
        summary = recheck({"recommended": "bm25", "candidates": []},
                          {"recommended": "minilm", "candidates": [], "brief": {"k": 4}})["summary"]
        constraints = brief.constraints()
    by = {f.key: f for f in a.findings}
    assert by["size"].title == "语料规模"
    assert by["size"].value == "31 篇文档，16 个问题（16 个有标注）"  # the sample: 31 documents, 16 judged questions
    assert by["size"].meaning.startswith("决定第 5 步的索引类型和内存。有标注的问题少于 50 个时置信区间较宽")
    assert by["duplicate_questions"].title == "重复或近似重复的问题"
    assert hosted.excluded == "这是托管 API，而需求只允许本地模型"
    assert flat == ("FLAT", "31 篇文档 ≤ 100,000：精确搜索已经够快，召回率按定义为 100 %（无需测量 HNSW 召回率）")
    assert summary == "决策已改变：bm25 → minilm；需求有变化（k）"
    assert constraints[1] == ("p95_ms", "8 个用户时 p95 ≤ 150 ms")
    for f in a.findings:
        assert _ours(f.title + f.meaning) == [], f


def test_demo_steps_in_chinese():
    from flows.demo import DemoOptions, plan

    with language("zh"):
        steps = plan(DemoOptions(judged=False))
        steps[0].run_id = "r1"
        line = steps[0].line()
    assert [s.title for s in steps] == ["索引 minilm", "索引 bm25", "索引 hybrid", "检索对比",
                                        "RAG 质量（离线：抽取式答案，非 LLM 指标）",
                                        "RAG 质量（LLM 生成答案，评审指标）",
                                        "压测（每个模型 2 个用户 × 3 秒）", "决策：决策记录", "报告"]
    assert steps[5].reason == "已关闭" and line == "⏸️ 索引 minilm · 运行 r1"


def test_load_errors_in_chinese_and_a_job_thread_keeps_its_starters_language():
    from loadtests.config import LoadConfig
    from loadtests.procs import LoadTestError, get_json
    from loadtests.runner import LoadTestJob
    from rag.processes import free_port

    port = free_port()  # nothing listens there: a real refused connection
    with language("zh"), pytest.raises(LoadTestError) as e:
        get_json(f"http://127.0.0.1:{port}", "/health", timeout=5)
    assert str(e.value).startswith(f"127.0.0.1:{port} 上的服务没有响应（")
    with language("zh"):
        job = LoadTestJob(LoadConfig(models=["bm25"], users=0, host="http://127.0.0.1:1"))
    job.start()  # the thread has no language of its own: it runs in the one it was started in
    job.join(30)
    assert (job.phase, job.error) == ("failed", "用户数必须在 1-500 之间")


def test_a_failing_load_test_service_says_why_in_its_starters_language():
    """The service is a child process: it gets the language current here, and the line it prints on the way
    out (which the error quotes) is Chinese too. Milvus is not reached: the bad flag is refused first."""
    from loadtests.procs import LoadTestError, ServiceProcess

    with language("zh"), pytest.raises(LoadTestError) as e:
        ServiceProcess("sample", milvus_uri="http://127.0.0.1:1", batching={"batch_window_ms": -1}).start(timeout=60)
    assert str(e.value) == "压测服务未能启动：错误：--batch-window-ms 必须 >= 0，--max-batch 必须在 1-1024 之间"
