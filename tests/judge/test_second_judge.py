"""A second judge on the same rows: a biased test judge (every context precision verdict flipped) beside
the plain one, so the judges' agreement and each one's κ with the qrels are known by construction."""

from __future__ import annotations

import pytest

from evaluators.judge.agreement import cohen_kappa
from evaluators.judge.reliability import judge_reliability
from evaluators.rag.config import RagConfig, questions_for
from evaluators.rag.estimate import estimate_run
from tests.judge.test_judge_reliability import METRICS, _run
from tests.support.openai_test_server import JudgeServer, judge_server  # noqa: F401  (fixture)

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


def test_a_failed_second_judge_call_fails_the_row_and_retry_asks_only_it(run, judge_server, sample,  # noqa: F811
                                                                          retriever):
    from evaluators.judge.reliability import health_frame
    from evaluators.rag.job import resume_rag
    from rag.runs import RunStore

    q3 = "memory safety without a garbage collector"
    cp = ["context_precision", "nonllm_context_recall"]     # only context precision asks the judges
    with JudgeServer(noise={"mode": "biased", "kinds": ["context_precision"]},
                     faults=[{"kind": "http500", "match": q3, "times": 1}]) as biased:
        first = _run(judge_server, sample, retriever, models=["bm25"], limit=8, metrics=cp,
                     second_judge=f"compat:judge2@{biased.base_url}")
        bad = [r for r in first.rows if r["second_judge"]["errors"].get("context_precision")]
        assert [r["question_id"] for r in bad] == ["q3"] and bad[0]["errors"] == {}   # the first judge scored it
        assert "InternalServerError" in bad[0]["second_judge"]["errors"]["context_precision"]
        assert first.summary["failed_rows"] == 1 and first.status == "done"
        rel = judge_reliability(first.rows, "judge", cp)
        h = rel.second_health["context_precision"]
        assert (h.rows, h.scored, h.failed, h.parse_failures, h.nan) == (8, 7, 1, 0, 0)
        assert rel.health["context_precision"].failed == 0                            # per judge
        assert list(health_frame(rel)["judge"]) == ["first", "second"]
        assert rel.to_json()["second_judge_health"]["context_precision"]["failure_rate"] == 1 / 8
        judge_server.reset_stats()
        biased.reset_stats()
        again = resume_rag(first.run_id, retriever=retriever, ds=sample, store=RunStore.default(), retry_failed=True)
        assert judge_server.stats()["by_title"] == {}                                 # the first judge: not asked
        assert biased.stats()["by_title"] == {"ContextPrecisionOutput": 3}            # q3's 3 contexts, once more
    assert again.summary["failed_rows"] == 0
    row = next(r for r in again.rows if r["question_id"] == "q3")
    clean = next(r for r in run[0].rows if (r["model"], r["question_id"]) == ("bm25", "q3"))
    assert row["second_judge"]["scores"]["context_precision"] == clean["second_judge"]["scores"]["context_precision"]
    assert row["scores"]["context_precision"] == clean["scores"]["context_precision"]
    assert row["second_judge"]["errors"]["context_precision"] is None


def test_a_noisy_second_judge_with_p0_agrees_with_the_first_on_every_verdict(judge_server, sample, retriever):  # noqa: F811
    """p = 0 is the plain judge: the two judges agree on every context verdict (κ = 1) and the winner cannot
    change with the judge."""
    with JudgeServer(noise={"mode": "noisy", "p": 0.0, "seed": 7}) as same:
        result = _run(judge_server, sample, retriever, limit=4, second_judge=f"compat:judge2@{same.base_url}")
    rel = judge_reliability(result.rows, "judge", METRICS)
    two = rel.second
    assert two["verdicts"]["agreement"] == 1.0 and two["verdicts"]["kappa"] == pytest.approx(1.0)
    assert two["qrels_kappa"]["second"] == pytest.approx(rel.agreement.kappa)
    assert all(m["winner"]["first"] == m["winner"]["second"] for m in two["metrics"].values())


def test_cli_repeats_and_a_second_judge_in_one_run(run, judge_server, tmp_path, capsys):  # noqa: F811
    """The issue's whole command: `cli.py rag … --judge-repeats 3 --second-judge …` writes every part of
    judge_reliability: agreement with the qrels, the repeats' spread and interval, the second judge, failures."""
    import json

    import cli

    out = tmp_path / "rag.json"
    args = ["rag", "--dataset", "sample", "--models", "bm25", "--generator", "extractive", "--judge",
            f"compat:judge@{judge_server.base_url}", "--metrics", "context_precision", "--k", "3", "--limit", "2",
            "--judge-repeats", "3", "--second-judge", f"compat:judge2@{run[2]}"]
    assert cli.main([*args, "--estimate"]) == 0
    assert json.loads(capsys.readouterr().out)["total_calls"] == 2 * 3 * (3 + 1)   # rows × contexts × (K + 1)
    assert cli.main([*args, "--output", str(out)]) == 0
    data = json.loads(out.read_text())
    rel = data["judge_reliability"]
    parts = {"agreement", "health", "judge_noise", "recall", "second_judge", "second_judge_health", "sentence"}
    assert parts <= set(rel)
    assert rel["agreement"]["n"] == 6 and rel["health"]["context_precision"]["failure_rate"] == 0.0
    assert [len(r["repeats"]["context_precision"]) for r in data["rows"]] == [3, 3]
    noise = rel["judge_noise"]["context_precision"]["bm25"]
    assert (noise["repeats"], noise["n"]) == (3, 2) and noise["ci_with_judge_noise"] == noise["ci"]
    assert rel["second_judge"]["verdicts"]["agreement"] == 0.0 and rel["second_judge"]["verdicts"]["n"] == 6
