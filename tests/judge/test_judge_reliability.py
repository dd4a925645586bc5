"""How far to trust the judge: its verdicts against the sample's qrels, with answers known by construction.

Real runs (real Milvus Lite, MiniLM, BM25, Ragas) against the local test judge, plain, noisy and biased
(tests/support/judge_rules.py ``JudgeNoise``). The plain judge's confusion matrix is counted here from the rows
themselves; the noisy judge's flips are the verdicts it marked as flipped; the biased judge flips every
context precision verdict, so its matrix is the plain one with the judge's columns swapped.
"""

from __future__ import annotations

import pytest
from scipy.stats import spearmanr

from evaluators.judge.agreement import cohen_kappa
from evaluators.judge.reliability import for_run, judge_reliability
from evaluators.rag.config import RagConfig
from evaluators.rag.job import run_rag
from rag.runs import RunStore
from tests.support.judge_rules import JudgeNoise, flip_draw
from tests.support.openai_test_server import judge_server  # noqa: F401  (fixture)

pytestmark = pytest.mark.slow
METRICS = ["context_precision", "context_recall", "nonllm_context_recall"]
FLIPPED = "(verdict flipped by the"
NOISY = {"mode": "noisy", "p": 0.3, "seed": 7}


def _run(server, sample, retriever, noise=None, faults=(), **kw):
    server.set_noise(noise)
    server.set_faults(list(faults))
    url = server.base_url
    cfg = RagConfig(**{"models": ["minilm", "bm25"], "generator": "extractive", "judge": f"compat:judge@{url}",
                       "metrics": METRICS, "k": 3, "concurrency": 8, "timeout": 10, "max_retries": 0, **kw})
    try:
        return run_rag(sample, cfg, retriever=retriever)
    finally:
        server.set_noise(None)
        server.set_faults([])


@pytest.fixture(scope="module")
def runs(judge_server, sample, retriever):  # noqa: F811
    return {"plain": _run(judge_server, sample, retriever),
            "p0": _run(judge_server, sample, retriever, {**NOISY, "p": 0.0}),
            "noisy": _run(judge_server, sample, retriever, NOISY),
            "biased": _run(judge_server, sample, retriever, {"mode": "biased", "kinds": ["context_precision"]})}


def verdicts(rows):
    """(model, question, doc) -> (judge verdict, qrels relevant, flipped by the noisy judge)."""
    out = {}
    for r in rows:
        for doc, step in zip(r["retrieved_ids"], r["reasons"]["context_precision"]):
            out[(r["model"], r["question_id"], doc)] = (step["verdict"], doc in r["relevant_ids"],
                                                        FLIPPED in step["reason"])
    return out


def table(v):
    """[tp, fp, fn, tn] counted from the verdicts."""
    pairs = [(j, rel) for j, rel, _ in v.values()]
    return [pairs.count((1, True)), pairs.count((1, False)), pairs.count((0, True)), pairs.count((0, False))]


def reliability(result):
    return judge_reliability(result.rows, "judge", METRICS)


def test_plain_judge_against_the_sample_qrels(runs):
    rel = reliability(runs["plain"])
    a = rel.agreement
    assert table(verdicts(runs["plain"].rows)) == [a.tp, a.fp, a.fn, a.tn] == [45, 2, 16, 33]
    assert (a.n, a.questions, a.rows) == (96, 16, 32)        # 16 questions × 2 models × k = 3
    assert a.accuracy == 78 / 96
    # κ = (po − pe) / (1 − pe), po = 78/96, pe = (47·61 + 49·35) / 96²
    assert a.kappa == pytest.approx((78 / 96 - 4582 / 96 ** 2) / (1 - 4582 / 96 ** 2)) == pytest.approx(2906 / 4634)
    assert a.kappa_low < a.kappa < a.kappa_high
    assert (round(a.kappa_low, 4), round(a.kappa_high, 4)) == (0.4431, 0.7917)
    judged = [r["scores"]["context_recall"] for r in runs["plain"].rows]
    by_id = [r["scores"]["nonllm_context_recall"] for r in runs["plain"].rows]
    assert rel.recall.n == 32 and rel.recall.spearman == pytest.approx(spearmanr(judged, by_id).statistic)
    assert rel.sentence() == ("the judge agrees with your judgments on 81 % of contexts, κ 0.63 [0.44, 0.79], "
                              "substantial agreement (n = 96 contexts, 16 questions); its context recall follows "
                              f"recall by your qrels with Spearman ρ {rel.recall.spearman:.2f} (n = 32 rows)")
    assert {m: (h.rows, h.scored, h.failed, h.parse_failures, h.nan) for m, h in rel.health.items()} == {
        "context_precision": (32, 32, 0, 0, 0), "context_recall": (32, 32, 0, 0, 0)}
    stored = for_run(RunStore.default(), RunStore.default().get(runs["plain"].run_id))
    assert stored.to_json() == {**rel.to_json(), "judge": f"compat:judge @ {runs['plain'].summary['judge'][15:]}"}
    assert stored.judge == runs["plain"].summary["judge"] and stored.judge.startswith("compat:judge @ http://")


def test_noisy_p0_is_the_plain_judge(runs):
    assert verdicts(runs["p0"].rows) == verdicts(runs["plain"].rows)
    assert reliability(runs["p0"]).to_json() == reliability(runs["plain"]).to_json()
    assert [r["scores"] for r in runs["p0"].rows] == [r["scores"] for r in runs["plain"].rows]


def test_noisy_judge_flips_the_verdicts_it_says_and_lowers_kappa(runs):
    plain, noisy = verdicts(runs["plain"].rows), verdicts(runs["noisy"].rows)
    flipped = {key for key, (_, _, f) in noisy.items() if f}
    assert 0 < len(flipped) < len(noisy)
    for key, (j, rel, f) in noisy.items():
        assert (j if not f else 1 - j, rel) == plain[key][:2]  # un-flipping gives the plain judge
    a, base = reliability(runs["noisy"]).agreement, reliability(runs["plain"]).agreement
    assert [a.tp, a.fp, a.fn, a.tn] == table(noisy) == [36, 16, 25, 19]   # seed 7, p = 0.3: 39 of 96 flipped
    assert len(flipped) == 39
    # po = 55/96, pe = (52·61 + 44·35) / 96² = 4712 / 96²: κ = (5280 − 4712) / (9216 − 4712)
    assert a.kappa == pytest.approx(cohen_kappa(36, 16, 25, 19)) == pytest.approx(568 / 4504)
    assert a.kappa < base.kappa
    assert a.kappa_high < base.kappa_high


def test_biased_judge_flips_every_precision_verdict(runs):
    a, base = reliability(runs["biased"]).agreement, reliability(runs["plain"]).agreement
    assert [a.tp, a.fp, a.fn, a.tn] == [base.fn, base.tn, base.tp, base.fp] == [16, 33, 45, 2]
    # po = 18/96, pe = (49·61 + 47·35) / 96²
    assert a.kappa == pytest.approx((18 / 96 - 4634 / 96 ** 2) / (1 - 4634 / 96 ** 2)) == pytest.approx(-2906 / 4582)
    assert reliability(runs["biased"]).recall == reliability(runs["plain"]).recall   # recall was not biased
    assert "no agreement beyond chance" in reliability(runs["biased"]).sentence()


def test_parse_failures_are_counted_per_metric(judge_server, sample, retriever):  # noqa: F811
    q3 = "memory safety without a garbage collector"
    result = _run(judge_server, sample, retriever, faults=[{"kind": "invalid_json", "match": q3, "times": None}],
                  models=["bm25"], limit=3)
    rel = reliability(result)
    assert {m: (h.rows, h.scored, h.failed, h.parse_failures, h.nan) for m, h in rel.health.items()} == {
        "context_precision": (3, 2, 1, 1, 0), "context_recall": (3, 2, 1, 1, 0)}
    assert rel.to_json()["health"]["context_precision"]["parse_failure_rate"] == pytest.approx(1 / 3)
    assert (rel.agreement.questions, rel.agreement.rows, rel.agreement.n) == (2, 2, 6)   # q3 has no verdicts


def test_no_judge_or_no_qrels_says_why():
    assert judge_reliability([], None, ["rouge_l"]).missing == "the run has no judge"
    row = {"model": "m", "item_id": "q1", "question_id": "q1", "retrieved_ids": ["d1"], "relevant_ids": [],
           "scores": {"context_precision": 1.0}, "reasons": {}, "errors": {}}
    rel = judge_reliability([row], "judge", ["context_precision"])
    assert rel.agreement is None and rel.missing == "the run's questions have no qrels (relevant document ids)"
    assert rel.sentence() == ("judge agreement with your qrels: not available (the run's questions have no qrels "
                              "(relevant document ids))")
    rel = judge_reliability([{**row, "relevant_ids": ["d1"]}], "judge", ["faithfulness"])
    assert rel.missing.startswith("context precision was not scored")


def test_noise_is_reproducible_and_p0_changes_nothing():
    reply = {"statements": [{"statement": f"s{i}", "verdict": 1, "reason": "r"} for i in range(40)]}

    def flips(noise, repeat=0):
        out = JudgeNoise.from_json(noise).apply("NLIStatementOutput", {"statements": [dict(s) for s in
                                                                                      reply["statements"]]},
                                                "the prompt", repeat)
        return [s["verdict"] == 0 for s in out["statements"]]

    assert flips(NOISY) == flips(NOISY) == [flip_draw("the prompt", 0, 7, i) < 0.3 for i in range(40)]
    assert flips(NOISY, repeat=1) != flips(NOISY)                 # each repeat its own draw
    assert not any(flips({**NOISY, "p": 0.0})) and all(flips({**NOISY, "p": 1.0}))
    assert not any(flips({"mode": "biased", "kinds": ["context_precision"]}))   # other kinds untouched
    assert all(flips({"mode": "biased", "kinds": ["faithfulness"], "only": 1}))
    with pytest.raises(ValueError, match="noise mode"):
        JudgeNoise(mode="random")


def test_cli_json_and_report_carry_it(runs, judge_server, tmp_path, capsys):  # noqa: F811
    import json

    import cli
    from evaluators.report.build import build_report

    out = tmp_path / "rag.json"
    code = cli.main(["rag", "--dataset", "sample", "--generator", "extractive", "--judge",
                     f"compat:judge@{judge_server.base_url}", "--metrics", ",".join(METRICS), "--k", "3",
                     "--output", str(out)])
    assert code == 0
    data = json.loads(out.read_text())
    expected = reliability(runs["plain"]).to_json()
    assert data["judge_reliability"] == {**expected, "judge": data["judge"]}
    assert data["judge_reliability"]["agreement"]["confusion"] == [[45, 2], [16, 33]]
    assert f"judge reliability: {expected['sentence']}" in capsys.readouterr().out
    html = build_report(RunStore.default(), [runs["plain"].run_id])
    assert f"How far to trust the judge: {expected['sentence']}." in html
    assert "<h3>Judge vs your qrels: context precision verdicts</h3>" in html
    assert "<h3>Judge failures per metric</h3>" in html
    assert "<td>useful</td><td>45</td><td>2</td>" in html and "<td>not useful</td><td>16</td><td>33</td>" in html


def _gate(capsys, *args):
    import cli

    code = cli.main(["gate", *args])
    out, err = capsys.readouterr()
    return code, out.strip(), err.strip()


def test_gate_fails_on_a_judge_that_disagrees_with_the_qrels(runs, capsys):
    noisy, plain = runs["noisy"].run_id, runs["plain"].run_id
    code, out, err = _gate(capsys, "--run", noisy, "--metric", "context_precision", "--min", "0",
                           "--min-agreement", "0.6")
    assert code == 1 and not out
    assert err == (f"GATE FAILED (run {noisy}): the judge's κ with your qrels is 0.13 < 0.6: it agrees with them "
                   "on 57 % of 96 contexts, so context_precision judged by it is not a safe gate")
    code, out, err = _gate(capsys, "--run", plain, "--metric", "context_precision", "--min", "0",
                           "--min-agreement", "0.6")
    assert code == 0 and not err and out.endswith("; judge κ with your qrels 0.63 >= 0.6")
    code, _, err = _gate(capsys, "--run", plain, "--metric", "context_precision", "--min", "0",
                         "--min-agreement", "0.7")
    assert code == 1 and err.endswith("the judge's κ with your qrels is 0.63 < 0.7: it agrees with them on 81 % of "
                                      "96 contexts, so context_precision judged by it is not a safe gate")


def test_gate_agreement_without_a_judge_or_qrels_is_bad_input(capsys):
    from tests.support.run_fixtures import make_dataset, write_rag_run

    store, ds = RunStore.default(), make_dataset("agreement", n_queries=2)
    scores = {"minilm": {"q0": {"faithfulness": 0.9}, "q1": {"faithfulness": 0.7}}}
    no_judge = write_rag_run(store, ds, scores)
    no_qrels = write_rag_run(store, ds, scores, judge={"provider": "compat", "model": "j", "base_url": "http://x/v1"})
    for run, why in [(no_judge, f"run {no_judge} has no judge"),
                     (no_qrels, f"run {no_qrels}: the run's questions have no qrels (relevant document ids)")]:
        code, out, err = _gate(capsys, "--run", run, "--metric", "faithfulness", "--min", "0.5",
                               "--min-agreement", "0.6")
        assert (code, out) == (2, "")
        assert err == f"error: --min-agreement needs a run with a judge and qrels; {why}"
