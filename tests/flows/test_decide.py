"""Decide: each step on hand-made cases (brief, data findings, shortlist rules, public scores, rank
agreement, the recommendation policy, re-check), the catalog survey, and the whole flow headless on the
sample (one ``cli.py decide`` run shared by the slow tests: the record's numbers against the runs it
cites, ``--previous`` re-check, ``check-regression``, HNSW's recall against FLAT). The Decide page's
AppTest is tests/pages/test_page_decide.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from evaluators.stats.results import ComparisonResult, ModelSummary, PairComparison
from flows.decide.analysis import analyse, estimate_tokens
from flows.decide.brief import Brief
from flows.decide.evaluate import Evaluation, rank_agreement
from flows.decide.plan import vector_memory_mb
from flows.decide.record import decide
from flows.decide.shortlist import Candidate, check, public_scores
from flows.decide.verify import recheck, regression_failures
from rag.data.dataset import Dataset, Document, Query
from rag.models.catalog import ModelInfo
from rag.runs import RunStore
from tests.conftest import ROOT
from tests.support.cli_runs import run_clis

# ---------------------------------------------------------------- step 1: the brief

def test_brief_defaults_save_load_and_one_line_errors(tmp_path):
    b = Brief()
    assert (b.metric_name, b.min_quality, b.p95_ms, b.users, b.where) == ("ndcg@10", 0.5, 200.0, 4, "api")
    assert b.constraints() == [("quality", "ndcg@10 ≥ 0.5"), ("p95_ms", "p95 ≤ 200 ms at 4 users")]
    edited = Brief.of(min_quality=0.7, memory_mb=512, k=None)
    assert Brief.load(edited.save(tmp_path / "brief.json")) == edited
    with pytest.raises(ValueError, match=r"^brief: users: Input should be greater than or equal to 1$"):
        Brief.of(users=0)
    (tmp_path / "bad.json").write_text('{"metric": "bleu"}')
    with pytest.raises(ValueError, match=r"bad\.json: metric: give one of ndcg"):
        Brief.load(tmp_path / "bad.json")


# ---------------------------------------------------------------- step 2: the data

def _ds() -> Dataset:
    docs = [Document("d1", "", "Pandas eat bamboo most of the day in the forest."),
            Document("d2", "", "Pandas eat bamboo most of the day in the forest!"),   # a copy (punctuation)
            Document("d3", "", "Koalas sleep up to twenty hours a day."),
            Document("d4", "", "熊猫每天吃竹子")]
    qs = [Query("q1", "what do pandas eat"), Query("q2", "What do pandas eat?"),           # exact duplicate
          Query("q3", "how long do koalas sleeps"), Query("q4", "how long do koalas sleep"),  # near duplicate
          Query("q5", "koalas sleep up to twenty hours")]                                   # copied from d3
    return Dataset("hand", docs, qs, {"q1": {"d1": 1}, "q3": {"d3": 1}})


def test_analysis_finds_copies_near_duplicates_and_leaks():
    a = analyse(_ds())
    assert a.duplicate_documents == [["d1", "d2"]]
    assert a.duplicate_questions == [["q1", "q2"]]
    assert [p[:2] for p in a.near_duplicate_questions] == [("q3", "q4")]
    assert a.leaked_questions == [("q5", "d3")]
    by = {f.key: f for f in a.findings}
    assert by["leaked_questions"].value == "1 of 5 (20 %)" and by["leaked_questions"].severity == "warning"
    assert by["duplicate_documents"].value == "1 (25 %)"
    assert by["duplicate_questions"].value == "1 exact, 1 near (ratio ≥ 90)"
    assert estimate_tokens("熊猫每天吃竹子") == 7 and estimate_tokens("two words") == 3  # 7 Han; ceil(1.3 × 2)
    assert a.truncated_share(10) == 0.75  # d1, d2, d3 are over 10 estimated tokens, d4 is 7


# ---------------------------------------------------------------- step 3: the shortlist

def info(**kw) -> ModelInfo:
    return ModelInfo(**{"name": "org/m", "languages": ("eng-Latn",), "license": "apache-2.0", "open_weights": True,
                        "memory_mb": 100.0, "max_tokens": 512, **kw})


@pytest.mark.parametrize(("kw", "brief", "reason"), [
    ({"license": "cc-by-nc-4.0"}, {}, "license cc-by-nc-4.0 forbids commercial use"),
    ({"languages": ("zho-Hans",)}, {}, "does not list en among its languages (zho-Hans…)"),
    ({"memory_mb": 900.0}, {"memory_mb": 500}, "weights need 900 MB > the brief's 500 MB"),
    ({"max_tokens": 10}, {}, "max 10 tokens cuts 75% of the documents (> 50% allowed)"),
    ({"open_weights": False, "license": None}, {"where": "local"},
     "a hosted API, and the brief allows local models only"),
    ({}, {}, None),
])
def test_shortlist_rules_exclude_with_their_reason(kw, brief, reason):
    a = analyse(_ds())
    c = check(Candidate("m", "yours", info=info(**kw)), Brief(**brief), a)
    assert c.excluded == reason
    assert check(Candidate("m", "yours", info=info(**kw)), Brief(**brief, commercial=False), a).excluded == (
        None if reason and "commercial" in reason else reason)


def _task(path, score):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"task_name": path.stem, "scores": {"test": [
        {"main_score": score, "hf_subset": "default"}, {"main_score": score + 0.2, "hf_subset": "x"}]}}))


def test_public_scores_from_an_mteb_results_cache(tmp_path):
    _task(tmp_path / "results" / "org__a" / "rev1" / "SciFact.json", 0.6)
    _task(tmp_path / "results" / "org__a" / "rev1" / "NFCorpus.json", 0.2)
    _task(tmp_path / "remote" / "results" / "org__b" / "rev9" / "SciFact.json", 0.5)
    cands = [Candidate("a", "yours", info=info(name="org/a")), Candidate("b", "yours", info=info(name="org/b")),
             Candidate("c", "yours", info=info(name="org/c"))]
    pub = public_scores(cands, tmp_path)
    assert pub.tasks == ["SciFact"]                      # only the task every scored candidate has
    assert pub.scores == {"a": 0.7, "b": 0.6}            # subset means: (0.6 + 0.8) / 2, (0.5 + 0.7) / 2
    assert pub.note.endswith("; no public score: c") and cands[0].public == 0.7
    absent = public_scores(cands, tmp_path / "nothing")
    assert absent.scores == {} and absent.note.startswith(f"no mteb results cache at {tmp_path / 'nothing'}")


# ---------------------------------------------------------------- steps 4-7 on hand-made numbers

def test_rank_agreement_counts_the_pairs_that_swap():
    out = rank_agreement({"a": 0.5, "b": 0.4, "c": 0.3, "d": 0.2}, {"a": 0.1, "b": 0.4, "c": 0.3, "d": 0.2})
    assert out["tau"] == 0.0                      # 3 concordant, 3 discordant of 6 pairs
    assert [(s["public_higher"], s["here_higher"]) for s in out["swaps"]] == [("a", "b"), ("a", "c"), ("a", "d")]
    assert rank_agreement({"a": 1, "b": 0}, {"a": 0, "b": 1})["tau"] is None   # τ needs 3


def _ev(p_bc: float) -> Evaluation:
    ms = [ModelSummary("a", 0.80, 0.70, 0.90, 30), ModelSummary("b", 0.75, 0.65, 0.85, 30),
          ModelSummary("c", 0.74, 0.60, 0.84, 30)]
    pairs = [PairComparison("b", "c", 30, 0.01, -0.02, 0.04, p_bc, p_bc),
             PairComparison("a", "b", 30, 0.05, 0.01, 0.09, 0.01, 0.02),
             PairComparison("a", "c", 30, 0.06, 0.02, 0.1, 0.01, 0.02)]
    cmp = type("Cmp", (), {"result": ComparisonResult(ms, pairs, "a", frozenset({"a"}), 0.05)})()
    ev = Evaluation("ndcg@10", "R", quality={s.model: {"metric": "ndcg@10", "mean": s.mean, "ci_low": s.low,
                                                       "ci_high": s.high, "n": s.n} for s in ms},
                    p95_ms={"a": 300.0, "b": 80.0, "c": 60.0}, comparison=cmp)
    return ev


def test_recommendation_is_the_cheapest_of_a_tied_group_and_says_what_would_change():
    plans = {"a": {"cost_month_usd": 0.0, "memory_mb": 90}, "b": {"cost_month_usd": 12.0, "memory_mb": 50},
             "c": {"cost_month_usd": 3.0, "memory_mb": 50}}
    rec = decide(Brief(p95_ms=150), _ev(p_bc=0.4), plans, ["a", "b", "c"])
    by = {c["model"]: c for c in rec["candidates"]}
    assert by["a"]["failed"] == ["p95 300 ms > 150 ms at 4 users"] and not by["a"]["passes"]
    assert (rec["recommended"], rec["tied_group"]) == ("c", ["b", "c"])   # a fails; b, c tied; c cheaper
    assert "statistically tied" in rec["reason"] and "c is the cheapest of the tied group" in rec["reason"]
    assert rec["runner_up"] == "b"
    assert by["c"]["quality"] == {"metric": "ndcg@10", "mean": 0.74, "ci_low": 0.60, "ci_high": 0.84, "n": 30}
    # b significantly better than c: the best mean wins
    rec = decide(Brief(p95_ms=150), _ev(p_bc=0.001), plans, ["a", "b", "c"])
    assert rec["recommended"] == "b" and "significantly better than c" in rec["reason"]
    # with p95 ≤ 300 ms, a passes and is best
    rec = decide(Brief(p95_ms=400), _ev(p_bc=0.4), plans, ["a", "b", "c"])
    assert rec["recommended"] == "a"
    rec = decide(Brief(p95_ms=150), _ev(p_bc=0.001), {**plans, "b": {"cost_month_usd": 12.0, "memory_mb": 50}},
                 ["a", "b"])
    assert rec["what_would_change"].startswith("with p95_ms ≤ 300 (now 150), a would pass")


def test_runner_up_sentence_names_what_separates_two_free_tied_models():
    # both free: the memory decided, so the sentence says memory, never "$0.00/month vs $0.00/month"
    plans = {"b": {"cost_month_usd": 0.0, "memory_mb": 1536}, "c": {"cost_month_usd": 0.0, "memory_mb": 768}}
    rec = decide(Brief(p95_ms=150), _ev(p_bc=0.4), plans, ["b", "c"])
    assert rec["recommended"] == "c"
    assert rec["what_would_change"] == ("b ties with c on quality at 1,536 MB of vectors vs 768 MB of vectors: if "
                                        "c's cost or memory rose above it, b would be recommended.")
    same = {"b": {"cost_month_usd": 0.0, "memory_mb": 768}, "c": {"cost_month_usd": 0.0, "memory_mb": 768}}
    rec = decide(Brief(p95_ms=150), _ev(p_bc=0.4), same, ["b", "c"])
    assert "at p95 80 ms vs p95 60 ms:" in rec["what_would_change"]


def test_vector_memory_and_regression_and_recheck():
    assert vector_memory_mb("dense", 384, 1_000_000, "FLAT", 0) == 1536.0        # 384 × 4 × 1M bytes
    assert vector_memory_mb("dense", 384, 1_000_000, "HNSW", 0) == 1536.0 + 128.0  # + M 16 × 2 × 4 bytes each
    reg = {"k": 2, "questions": [{"id": "q1", "question": "x", "expected_top": ["d1"]},
                                 {"id": "q2", "question": "y", "expected_top": ["d2", "d3"]}]}
    assert regression_failures(reg, {"q1": ["d9", "d1"], "q2": ["d2", "d9", "d3"]}) == ["q2 (y): lost d3"]
    old = {"brief": {"k": 10}, "recommended": "bm25", "candidates": [
        {"model": "bm25", "passes": True, "quality": {"mean": 0.8}}], "profile": {"dataset_hash": "h"}}
    new = {"brief": {"k": 10}, "recommended": "minilm", "candidates": [
        {"model": "bm25", "passes": True, "quality": {"mean": 0.7}},
        {"model": "minilm", "passes": True, "quality": {"mean": 0.9}}], "profile": {"dataset_hash": "h"}}
    r = recheck(old, new)
    assert not r["holds"] and r["added"] == ["minilm"]
    assert r["summary"] == "the decision changed: bm25 → minilm; new candidates minilm"
    assert r["changes"] == [{"model": "bm25", "quality_before": 0.8, "quality_after": 0.7}]


# ---------------------------------------------------------------- the whole flow, headless

def test_catalog_survey_names_models_that_pass_the_brief(sample):
    from flows.decide.shortlist import shortlist

    sl = shortlist(Brief(where="local", memory_mb=600), analyse(sample), ["minilm", "bm25"], with_survey=True)
    assert [c.key for c in sl.kept] == ["minilm", "bm25"]
    assert sl.survey and sl.survey_total >= len(sl.survey)
    for c in sl.survey:  # every one surveyed passes the brief: English, open weights, ≤ 600 MB, commercial
        assert c.excluded is None and c.key.startswith("hf:") and c.info.open_weights is True
        assert c.info.memory_mb is None or c.info.memory_mb <= 600
        assert c.notes[-1] == "not evaluated: fetch its weights and name it as st:FOLDER"
    assert "sentence-transformers/all-MiniLM-L6-v2" not in {c.info.name for c in sl.survey}  # already a candidate


@pytest.fixture(scope="module")
def cli_decision(milvus, tmp_path_factory):
    out = tmp_path_factory.mktemp("decide")
    r = subprocess.run([sys.executable, "cli.py", "decide", "--dataset", "sample", "--models", "minilm,bm25,hybrid",
                        "--users", "2", "--load-seconds", "1", "--min-quality", "0.6", "--no-survey",
                        "--output", str(out / "decision.json"), "--regression", str(out / "reg.json"),
                        "--save-brief", str(out / "brief.json")],
                       cwd=ROOT, capture_output=True, text=True, timeout=400, env=os.environ.copy())
    assert r.returncode == 0, r.stderr[-2000:]
    return r, json.loads((out / "decision.json").read_text()), json.loads((out / "reg.json").read_text()), out


@pytest.mark.slow
def test_cli_decide_record_equals_the_runs_it_was_built_from(cli_decision):
    from evaluators.stats.run_stats import run_stats

    r, rec, reg, out = cli_decision
    assert list(rec)[:5] == ["brief", "profile", "candidates", "recommended", "reason"]
    assert [c["model"] for c in rec["candidates"]] == ["minilm", "bm25", "hybrid"]
    store = RunStore.default()
    runs = rec["evaluation"]["runs"]
    cmp = run_stats(store, runs["retrieval"]).get("ndcg@10")
    load = store.get(runs["load"]).summary["results"]
    for c in rec["candidates"]:
        s = cmp.summary(c["model"])
        assert (c["quality"]["mean"], c["quality"]["ci_low"], c["quality"]["ci_high"]) == (s.mean, s.low, s.high)
        assert c["p95_ms"] == load[c["model"]]["p95_ms"]
        assert set(c) >= {"model", "passes", "failed", "quality", "p95_ms", "cost_month_usd", "memory_mb"}
        assert c["cost_month_usd"] == 0.0      # local models: hardware not priced, said in the plan's basis
    assert rec["candidates"][0]["memory_mb"] == pytest.approx(384 * 4 * 31 / 1e6 + 87.0, abs=1e-3)
    assert rec["recommended"] in {"minilm", "bm25", "hybrid"} and rec["reason"]
    assert f"recommended: {rec['recommended']}" in r.stdout
    for c in rec["candidates"]:   # each candidate's line: its p95, cost and memory as figures
        assert f" {c['model']}: ndcg@10 {c['quality']['mean']:.3f} " in r.stdout
        assert (f"p95 {c['p95_ms']:,.0f} ms, $0.00/month, {c['memory_mb']:,.0f} MB"
                in next(ln for ln in r.stdout.splitlines() if f" {c['model']}: " in ln))
    decision = store.get(rec["run_id"])
    assert decision.kind == "decision" and decision.summary["recommended"] == rec["recommended"]
    assert all(g["passes"] for g in rec["verification"]["gates"])
    assert reg["model"] == rec["recommended"] and reg["questions"]
    assert Brief.load(out / "brief.json").users == 2
    from evaluators.report.build import build_report

    html = build_report(store, [rec["run_id"]])
    assert "Decision · sample" in html and "Every candidate against the brief" in html


@pytest.fixture(scope="module")
def cli_followups(cli_decision, sample):
    """What a user runs after the decision, two at a time (each only reads the decision's collections and runs):
    ``decide --previous`` with the saved brief, without hybrid and without the load test, and
    ``check-regression`` on the regression file as written, with a document its first question lost, and on
    junk. {"previous" | "regression" | "lost" | "junk": the process}, and "lost_doc": (that question, the document)."""
    _, _, reg, out = cli_decision
    q = reg["questions"][0]
    absent = next(d.id for d in sample.documents if d.id not in q["top"])   # not in its top 10
    bad = {**reg, "questions": [{**q, "expected_top": [*q["expected_top"], absent]}, *reg["questions"][1:]]}
    (out / "bad.json").write_text(json.dumps(bad))
    (out / "junk.json").write_text("[1, 2]")
    previous, regression, lost, junk = run_clis([
        ("decide", "--dataset", "sample", "--models", "minilm,bm25", "--brief", str(out / "brief.json"),
         "--no-survey", "--no-load", "--previous", str(out / "decision.json"), "--output", str(out / "again.json")),
        ("check-regression", str(out / "reg.json")), ("check-regression", str(out / "bad.json")),
        ("check-regression", str(out / "junk.json"))], jobs=2)  # the decide on one core, the three checks on the other
    return {"previous": previous, "regression": regression, "lost": lost, "junk": junk, "lost_doc": (q, absent)}


@pytest.mark.slow
def test_previous_rechecks_the_decision_end_to_end(cli_decision, cli_followups):
    """The same saved brief later, without hybrid and without the load test: the re-check says what changed."""
    _, old, _, out = cli_decision
    r = cli_followups["previous"]
    assert r.returncode == 0, r.stderr[-2000:]
    new = json.loads((out / "again.json").read_text())
    rc = new["verification"]["recheck"]
    assert new["brief"]["p95_ms"] is None and new["evaluation"]["runs"]["load"] is None
    assert (rc["removed"], rc["added"], rc["data_changed"]) == (["hybrid"], [], False)
    assert rc["brief_changed"] == {"p95_ms": [200.0, None]}
    # the same collections and judged questions: the same means; a model that failed only the p95 limit (minilm on
    # a loaded machine) passes now that the brief has none, and that is the only change the re-check may report
    failed_p95_only = {c["model"] for c in old["candidates"]
                       if not c["passes"] and c["failed"] and all(f.startswith("p95 ") for f in c["failed"])}
    assert sorted(rc["changes"], key=lambda c: c["model"]) == [
        {"model": m, "passes_before": False, "passes_after": True} for m in sorted(failed_p95_only) if m != "hybrid"]
    assert rc["holds"] is (new["recommended"] == old["recommended"])
    assert rc["summary"] == (f"the decision holds: {new['recommended']}" if rc["holds"] else
                             f"the decision changed: {old['recommended']} → {new['recommended']}") + \
        "; no longer evaluated hybrid; the brief changed (p95_ms)"
    assert f"re-check: {rc['summary']}" in r.stdout
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith(("✅", "❌"))]
    assert len(lines) == 2 and all(", p95 not measured, $0.00/month, " in ln for ln in lines), lines
    assert "None" not in r.stdout


@pytest.mark.slow
def test_check_regression_cli_passes_then_fails_on_a_lost_document(cli_decision, cli_followups):
    _, rec, reg, out = cli_decision
    r = cli_followups["regression"]
    n = len(reg["questions"])
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip().startswith(f"✅ {n}/{n} questions keep their expected documents in the top 10 of "
                                       f"{rec['recommended']} (collection wb_sample_")
    q, absent = cli_followups["lost_doc"]
    r = cli_followups["lost"]
    assert r.returncode == 1
    assert r.stdout.splitlines()[0] == f"❌ {q['id']} ({q['question'][:60]}): lost {absent}"
    assert f"❌ {n - 1}/{n} questions" in r.stdout
    r = cli_followups["junk"]
    assert (r.returncode, r.stderr.strip()) == (2, f"error: {out / 'junk.json'}: not a regression file "
                                                   "('list' object has no attribute 'get')")


@pytest.mark.slow
def test_hnsw_proposed_comes_with_its_recall_against_flat(cli_decision, retriever, sample):
    """With the FLAT limit set below the sample's 31 documents, the plan proposes HNSW and measures it.
    On 31 vectors HNSW's search (ef 64 ≥ 31) visits every one, so its top 10 is FLAT's: recall 1.0."""
    from flows.decide.plan import plan_candidate
    from rag.milvus.store import MilvusStore

    rec = cli_decision[1]
    store = RunStore.default()
    run = store.get(rec["evaluation"]["runs"]["retrieval"])
    p = plan_candidate("minilm", Brief(), analyse(sample), sample, run, store, retriever=retriever, flat_max_docs=10)
    assert p["index_type"] == "HNSW"
    assert p["hnsw_recall"] == {"recall_at_k": 1.0, "k": 10, "questions": 16, "ef": 64, "M": 16, "metric": "COSINE"}
    assert p["index_reason"] == ("31 documents > 10: HNSW (M=16) for latency; measured here: recall@10 1.0000 "
                                 "against FLAT over 16 questions (ef 64)")
    built = {c["index"] for c in MilvusStore(retriever.info).collections()
             if c["dataset"] == "sample" and c["model"] == "minilm" and c["complete"]}
    assert {"FLAT/COSINE", "HNSW/COSINE M=16 efConstruction=200 ef=64"} <= built
    bm25 = plan_candidate("bm25", Brief(), analyse(sample), sample, run, store, retriever=retriever, flat_max_docs=10)
    assert (bm25["index_type"], bm25["hnsw_recall"]) == ("SPARSE_INVERTED_INDEX", None)
