"""A second judge on the same rows: a biased test judge (every context precision verdict flipped) beside
the plain one, so the judges' agreement and each one's κ with the qrels are known by construction."""

from __future__ import annotations

import pytest

from evaluators.cost_estimate import estimate_run
from evaluators.judge_reliability import cohen_kappa, judge_reliability
from evaluators.rag_job import RagConfig, questions_for
from tests.openai_test_server import JudgeServer, judge_server  # noqa: F401  (fixture)
from tests.test_judge_reliability import METRICS, _run

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run(judge_server, sample, retriever):  # noqa: F811
    with JudgeServer(noise={"mode": "biased", "kinds": ["context_precision"]}) as biased:
        result = _run(judge_server, sample, retriever, limit=8, second_judge=f"compat:judge2@{biased.base_url}")
        yield result, biased.stats(), biased.base_url


def test_the_judges_compared(run, sample):
    result, biased_stats, url = run
    rel = judge_reliability(result.rows, "judge", METRICS)
    a, two = rel.agreement, rel.second
    useful, not_useful = a.tp + a.fp, a.fn + a.tn
    assert two["verdicts"]["table"] == [0, useful, not_useful, 0] and two["verdicts"]["agreement"] == 0.0
    assert two["verdicts"]["kappa"] == pytest.approx(cohen_kappa(0, useful, not_useful, 0))
    assert two["qrels_kappa"]["second"] == pytest.approx(cohen_kappa(a.fn, a.tn, a.tp, a.fp))  # flipped columns
    recall = two["metrics"]["context_recall"]
    assert recall["n"] == 16 and recall["winner"]["first"] == recall["winner"]["second"]   # recall was not biased
    assert two["sentences"][0] == "the two judges agree on 0 % of context verdicts, κ -0.97 (n = 48 contexts)"
    assert two["sentences"][1:] == [
        "the verdict on context_precision depends on the judge (first: bm25, second: minilm)",
        "the models tie on context_recall with either judge"]                    # both 0.75 on q1–q8
    assert recall["winner"] == {"first": "a tie", "second": "a tie"} and recall["spearman"] == 1.0
    assert biased_stats["by_title"] == {"ContextPrecisionOutput": 16 * 3, "ContextRecallOutput": 16}
    assert set(result.summary["usage"]["by_model"]) == {"judge", "judge2"}     # each judge's usage apart
    cfg = RagConfig(models=["minilm", "bm25"], judge="compat:judge@http://x/v1", metrics=METRICS, k=3, limit=8,
                    second_judge=f"compat:judge2@{url}")
    est = estimate_run(questions_for(sample, cfg), sample, cfg)
    assert est.calls == {"judge": 64, "second judge": 64}


def test_cli_second_judge_estimate_and_json(run, judge_server, tmp_path, capsys):  # noqa: F811
    import json

    import cli

    url = run[2]
    args = ["rag", "--dataset", "sample", "--models", "bm25", "--generator", "extractive", "--judge",
            f"compat:judge@{judge_server.base_url}", "--metrics", "context_precision", "--k", "3", "--limit", "2",
            "--second-judge", f"compat:judge2@{url}"]
    assert cli.main([*args, "--estimate"]) == 0
    assert json.loads(capsys.readouterr().out)["total_calls"] == 2 * 3 * 2    # rows × contexts × judges
    out = tmp_path / "rag.json"
    assert cli.main([*args, "--output", str(out)]) == 0
    data = json.loads(out.read_text())
    assert [sorted(r["second_judge"]) for r in data["rows"]] == [["errors", "scores"]] * 2   # reasons stay in the store
    second = data["judge_reliability"]["second_judge"]
    assert second["verdicts"]["agreement"] == 0.0 and second["verdicts"]["n"] == 6
