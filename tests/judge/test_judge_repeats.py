"""Judge repeats: each judged metric scored K times per row, the judge's noise inside the intervals.

Real runs against the noisy test judge (tests/support/judge_rules.py ``JudgeNoise``): a repeat's requests carry
the OpenAI ``seed`` = its index, which the test judge uses as the repeat index of its flips, so repeat 0
is exactly the one-judge run and the other repeats are other draws of the same noisy judge.
"""

from __future__ import annotations

import pytest

from evaluators.judge.reliability import judge_reliability
from evaluators.rag.config import RagConfig, questions_for
from evaluators.rag.estimate import estimate_run
from evaluators.rag.job import resume_rag
from evaluators.stats.significance import bootstrap_ci, two_level_ci
from rag.runs import RunStore
from tests.judge.test_judge_reliability import NOISY, _run
from tests.support.openai_test_server import judge_server  # noqa: F401  (fixture)

pytestmark = pytest.mark.slow
CP = ["context_precision"]
SMALL = {"models": ["bm25"], "limit": 8, "metrics": CP}


def by_row(result, field="repeats"):
    return {(r["model"], r["question_id"]): (r[field].get("context_precision") if field == "repeats"
                                             else r["scores"]["context_precision"]) for r in result.rows}


@pytest.fixture(scope="module")
def runs(judge_server, sample, retriever):  # noqa: F811
    judge_server.reset_stats()
    out = {"k3": _run(judge_server, sample, retriever, NOISY, judge_repeats=3, **SMALL)}
    out["k3_calls"] = judge_server.stats()["by_title"]["ContextPrecisionOutput"]
    out["k1"] = _run(judge_server, sample, retriever, NOISY, **SMALL)
    out["p0"] = _run(judge_server, sample, retriever, {**NOISY, "p": 0.0}, judge_repeats=3, **SMALL)
    return out


def test_each_repeat_is_a_stored_call_and_the_estimate_counts_k(runs, sample):
    assert runs["k3_calls"] == 8 * 3 * 3                      # rows × contexts × repeats
    cfg = RagConfig.from_dict(RunStore.default().get(runs["k3"].run_id).config["rag"])
    assert cfg.judge_repeats == 3
    assert estimate_run(questions_for(sample, cfg), sample, cfg).per_metric_calls == {"context_precision": 72}
    for key, reps in by_row(runs["k3"]).items():
        assert len(reps) == 3 and by_row(runs["k3"], "scores")[key] == pytest.approx(sum(reps) / 3)
    # repeat 0 is the one-judge run exactly; the other repeats are other draws of the noisy judge
    assert {k: v[0] for k, v in by_row(runs["k3"]).items()} == by_row(runs["k1"], "scores")
    assert sum(len(set(v)) > 1 for v in by_row(runs["k3"]).values()) == 8
    assert by_row(runs["k1"])[("bm25", "q1")] is None       # one judge: no repeats stored


def test_interval_with_judge_noise(runs):
    noise = judge_reliability(runs["k3"].rows, "judge", CP).noise["context_precision"]["bm25"]
    values = [v for _, v in sorted(by_row(runs["k3"], "scores").items())]     # in question id order
    assert (noise["repeats"], noise["n"], noise["rows_varying"]) == (3, 8, 8)
    assert noise["mean"] == pytest.approx(sum(values) / 8)
    assert noise["ci"] == list(bootstrap_ci(values, 10_000, seed=0)[1:])      # the one-judge interval
    lo, hi = noise["ci_with_judge_noise"]
    assert hi - lo > noise["ci"][1] - noise["ci"][0]                            # judge noise widens it
    assert noise["repeat_sd"] > 0
    quiet = judge_reliability(runs["p0"].rows, "judge", CP).noise["context_precision"]["bm25"]
    assert quiet["rows_varying"] == 0 and quiet["repeat_sd"] == 0.0
    assert quiet["ci_with_judge_noise"] == quiet["ci"]                          # p = 0: the one-judge interval


def test_two_level_ci_reduces_to_the_one_level_bootstrap():
    values = [0.2, 0.9, 0.4, 1.0, 0.0]
    assert two_level_ci([[v] for v in values], 2000) == bootstrap_ci(values, 2000)
    assert two_level_ci([[v, v, v] for v in values], 2000) == bootstrap_ci(values, 2000)
    mean, lo, hi = two_level_ci([[0.0, 1.0]] * 4, 4000)      # all the spread is the judge's
    assert mean == 0.5 and lo < 0.5 < hi and (lo, hi) != (0.5, 0.5)
    assert two_level_ci([[0.0, None, 1.0]], 100)[0] == 0.5   # failed repeats are dropped


def test_retry_failed_asks_again_only_the_failed_repeat(judge_server, sample, retriever, runs):  # noqa: F811
    q3 = "memory safety without a garbage collector"
    first = _run(judge_server, sample, retriever, NOISY, faults=[{"kind": "http500", "match": q3, "times": 1}],
                 judge_repeats=3, **SMALL)
    bad = next(r for r in first.rows if r["errors"])
    assert bad["question_id"] == "q3" and bad["scores"]["context_precision"] is None
    assert bad["errors"]["context_precision"].startswith("repeat ") and "of 3: InternalServerError" in \
        bad["errors"]["context_precision"]
    assert sum(v is None for v in bad["repeats"]["context_precision"]) == 1
    judge_server.set_noise(NOISY)
    judge_server.reset_stats()
    try:
        again = resume_rag(first.run_id, retriever=retriever, ds=sample, store=RunStore.default(), retry_failed=True)
    finally:
        judge_server.set_noise(None)
    assert judge_server.stats()["by_title"] == {"ContextPrecisionOutput": 3}   # one repeat of one row: k = 3 calls
    assert by_row(again) == by_row(runs["k3"]) and by_row(again, "scores") == by_row(runs["k3"], "scores")


def test_cli_repeats_json_estimate_and_report(judge_server, runs, tmp_path, capsys):  # noqa: F811
    import json

    import cli
    from evaluators.report.build import build_report

    args = ["rag", "--dataset", "sample", "--models", "bm25", "--generator", "extractive", "--judge",
            f"compat:judge@{judge_server.base_url}", "--metrics", "context_precision", "--k", "3", "--limit", "2",
            "--judge-repeats", "2"]
    assert cli.main([*args, "--estimate"]) == 0
    assert json.loads(capsys.readouterr().out)["total_calls"] == 2 * 3 * 2      # rows × contexts × repeats
    out = tmp_path / "rag.json"
    assert cli.main([*args, "--judge-temperature", "0.7", "--output", str(out)]) == 0
    data = json.loads(out.read_text())
    assert [len(r["repeats"]["context_precision"]) for r in data["rows"]] == [2, 2]
    noise = data["judge_reliability"]["judge_noise"]["context_precision"]["bm25"]
    assert (noise["repeats"], noise["n"], noise["rows_varying"]) == (2, 2, 0)   # the plain judge never varies
    assert noise["ci_with_judge_noise"] == noise["ci"]
    html = build_report(RunStore.default(), [runs["k3"].run_id])
    assert "<h3>Judge repeats: 95% CI with the judge&#39;s noise</h3>" in html and "<td>8/8</td>" in html
