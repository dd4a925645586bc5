"""The sweep on the real stack: Milvus Lite, the packaged MiniLM, built-in BM25, a tiny cross-encoder, the local
OpenAI-compatible server (embeddings at openai-3-small's list price) and the local /rerank server.

Oracles: the Retrieval comparison (``evaluate_retrieval``) for unchunked setups, the store's own search
plus the CrossEncoder's own scores for reranked ones, the collection list for "query-time parts never
build", the run store / History / report / gate for the recorded run, and costs and frontiers worked
out by hand.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import replace

import pandas as pd
import pytest

from evaluators.retrieval.evaluate import evaluate_retrieval
from evaluators.sweep.run import plan_sweep, run_sweep
from evaluators.sweep.setups import Setup, grid
from rag.milvus.store import canonical_order
from rag.models.registry import resolve
from tests.conftest import ROOT
from tests.support.openai_test_server import judge_server  # noqa: F401  (fixture)
from tests.support.rerank_test_server import overlap_score, rerank_server  # noqa: F401  (fixture)
from tests.sweep.test_setups import tiny_cross_encoder  # noqa: F401  (fixture)


@pytest.fixture(scope="module")
def first(retriever, sample):
    """One sweep over two index-time builds, recorded: minilm and hybrid, whole documents, k 4."""
    setups = grid(["minilm", "hybrid"], ks=[4])
    return run_sweep(retriever, sample, setups, n_resamples=2000)


def by_id(result) -> dict:
    return {r.setup.id: r for r in result.setups}


def test_unchunked_setup_scores_exactly_like_the_retrieval_comparison(retriever, sample, first):
    oracle = evaluate_retrieval(retriever, sample, ["minilm", "hybrid"], k=4)
    for model, sid in (("minilm", "minilm | whole | k4"), ("hybrid", "hybrid | whole | rrf:60 | k4")):
        got = by_id(first)[sid]
        assert got.rankings == oracle.rankings[model]  # the same batched, cached path: ids and scores identical
        assert got.metrics == pytest.approx(oracle.metrics[model], abs=1e-12)
        assert len(got.latency_ms) == 16 and 0 < got.p50_ms <= got.p95_ms  # 16 queries < the sample of 50: all


def test_latency_comes_from_a_recorded_sample_timed_one_query_at_a_time(retriever, sample, first):
    import numpy as np

    from evaluators.sweep.latency import latency_sample
    from rag.runs import RunStore

    result = run_sweep(retriever, sample, grid(["minilm", "bm25"], ks=[4]), n_resamples=1000, latency_sample_size=5)
    picked = [q.id for q in latency_sample(sample.judged_queries, 5)]
    assert len(picked) == 5 and picked == [q.id for q in sample.judged_queries if q.id in picked]
    assert picked == [q.id for q in latency_sample(sample.judged_queries, 5)]  # a fixed seed: the same sample
    for r in result.setups:
        assert list(r.latency_ms) == picked  # the same queries for every setup
        assert r.p50_ms == float(np.percentile(list(r.latency_ms.values()), 50))
        lat = r.latency_summary()
        assert lat["latency_n"] == 5 and lat["p50_ci_low_ms"] <= r.p50_ms <= lat["p50_ci_high_ms"]
        assert lat["p95_ci_low_ms"] <= r.p95_ms <= lat["p95_ci_high_ms"]
        assert len(r.rankings) == 16  # quality still from every judged query
        assert r.rankings == by_id(first)[r.setup.id].rankings if r.setup.model == "minilm" else True
    store = RunStore.default()
    run = store.get(result.run_id)
    assert run.config["grid"]["latency_sample"] == 5
    timed = {(row["model"], row["item_id"]) for row in store.rows(run.id) if row.get("latency_ms") is not None}
    assert timed == {(r.setup.id, q) for r in result.setups for q in picked}
    assert run.typed_summary().latency[result.setups[0].setup.id]["p95_ci_high_ms"] == \
        result.setups[0].latency.p95_ci[1]


def test_percentile_ci_of_known_timings():
    from evaluators.sweep.latency import percentile_ci

    assert percentile_ci([7.0] * 9, 95) == (7.0, 7.0)
    low, high = percentile_ci(list(range(1, 101)), 50)  # the median of 1..100 is 50.5; its CI is a few wide
    assert 40 < low < 50.5 < high < 61
    assert percentile_ci([], 50) != percentile_ci([], 50)  # NaNs: nothing to estimate


def test_query_time_parts_never_build_a_collection(milvus, retriever, sample, first, tiny_cross_encoder):  # noqa: F811
    before = sorted(milvus.client().list_collections())
    more = [Setup(model="hybrid", fusion="weighted:0.3", k=2), Setup(model="hybrid", fusion="rrf:10", k=4),
            Setup(model="minilm", k=3, reranker=f"ce:{tiny_cross_encoder}", depth=6)]
    plan = plan_sweep(retriever, sample, more)
    assert (plan.collections, plan.to_build, plan.units_to_index, plan.searches) == (2, 0, 0, 48)
    result = run_sweep(retriever, sample, more, record=False, n_resamples=1000)
    assert sorted(milvus.client().list_collections()) == before
    assert [r.collection for r in result.setups] == [first.setups[1].collection] * 2 + [first.setups[0].collection]


def test_fusion_is_a_search_parameter_with_rrf_60_by_default(retriever, sample):
    spec = resolve("hybrid")
    name = retriever.store.ensure_collection(sample, spec).name
    texts = [q.text for q in sample.judged_queries]
    default = retriever.store.search(name, spec, texts, 4)
    assert retriever.store.search(name, spec, texts, 4, fusion="rrf:60") == default
    weighted = retriever.store.search(name, spec, texts, 4, fusion="weighted:0.3")
    assert weighted != default and all(len(h) <= 4 for h in weighted)
    # the weights mean what they say: all dense = MiniLM's ranking, all BM25 = BM25's (then dense-only hits)
    for model, fusion in (("minilm", "weighted:1"), ("bm25", "weighted:0")):
        alone = retriever.store.search(retriever.store.ensure_collection(sample, resolve(model)).name,
                                       resolve(model), texts, 4)
        fused = retriever.store.search(name, spec, texts, 4, fusion=fusion)
        assert [[d for d, _ in f][:len(a)] for f, a in zip(fused, alone)] == [[d for d, _ in a] for a in alone]


def test_reranker_rescores_the_depth_candidates(retriever, sample, tiny_cross_encoder):  # noqa: F811
    from sentence_transformers import CrossEncoder

    setup = Setup(model="bm25", k=3, reranker=f"ce:{tiny_cross_encoder}", depth=8)
    [got] = run_sweep(retriever, sample, [setup], record=False, n_resamples=1000).setups
    spec = resolve("bm25")
    name = retriever.store.ensure_collection(sample, spec).name
    ce = CrossEncoder(tiny_cross_encoder, device="cpu")
    for q in sample.judged_queries:
        candidates = retriever.store.search(name, spec, [q.text], 8)[0]
        scores = ce.predict([(q.text, sample.doc(d).full_text) for d, _ in candidates])
        expected = canonical_order([(d, float(s)) for (d, _), s in zip(candidates, scores)])[:3]
        assert [d for d, _ in got.rankings[q.id]] == [d for d, _ in expected]


def test_chunked_setups_rank_documents(retriever, sample):
    [got] = run_sweep(retriever, sample, [Setup(model="bm25", chunk_size=120, chunk_overlap=20, k=5)],
                      record=False, n_resamples=1000).setups
    ids = {d.id for d in sample.documents}
    assert got.collection.startswith("wb_sample_bm25_c120o20_")
    for ranking in got.rankings.values():
        docs = [d for d, _ in ranking]
        assert set(docs) <= ids and len(docs) == len(set(docs)) <= 5


def test_the_sweep_is_a_run_history_report_and_gate_read(first):
    from evaluators.report.build import build_report
    from evaluators.report.gate import check_gate
    from evaluators.report.history import runs_frame
    from rag.runs import RunStore

    store = RunStore.default()
    run = store.get(first.run_id)
    assert run.kind == "sweep" and run.status == "done" and run.config["models"] == ["minilm", "hybrid"]
    assert [s["model"] for s in run.config["setups"]] == ["minilm", "hybrid"]
    rows = store.rows(run.id)
    assert len(rows) == 32 and {r["model"] for r in rows} == {"minilm | whole | k4", "hybrid | whole | rrf:60 | k4"}
    summary = run.typed_summary()
    board = first.leaderboard["rows"]
    assert [r["setup"] for r in board] == [r["setup"] for r in summary.leaderboard]
    assert board[0]["letters"].startswith("a") and board[0]["metric"] == "ndcg@4"
    assert summary.per_model()[board[0]["setup"]]["ndcg@4"] == board[0]["mean"]
    headline = runs_frame([run])["headline"][0]
    assert headline.startswith(f"2 setups; best ndcg@4 {board[0]['setup']} {board[0]['mean']:.3f}")
    html = build_report(store, run.id)
    assert f"Sweep · {run.id}" in html and "document level" in html and "Quality–latency–cost frontier" in html
    assert "local model on this machine (hardware not priced)" in html and "<td>best</td>" in html
    assert f"With 16 queries, differences below about {first.leaderboard['mdd']:.3f}" in html
    best = board[0]["setup"]
    gate = check_gate(store, run, "ndcg@4", model=best, minimum=board[0]["mean"] - 1e-9)   # the gate names a setup
    assert gate.ok and best in gate.message
    assert not check_gate(store, run, "ndcg@4", model=best, minimum=board[0]["mean"] + 1e-9).ok



def test_history_opens_and_exports_a_sweep(first):
    from streamlit.testing.v1 import AppTest

    from rag.runs import RunStore
    from rag.runs.export import export_rows, rows_frame

    frame = rows_frame(RunStore.default(), first.run_id)
    assert len(frame) == 32 and {"ndcg@4", "latency_ms", "ranking"} <= set(frame.columns)
    assert export_rows(RunStore.default(), first.run_id, "parquet")[:4] == b"PAR1"
    at = AppTest.from_file(str(ROOT / "pages" / "6_History.py"), default_timeout=120).run()
    next(w for w in at.multiselect if w.label == "Kind").select("sweep").run()
    assert first.run_id in list(at.dataframe[0].value["id"])
    at.multiselect(key="history_selected").select(first.run_id).run()
    assert not at.exception and at.subheader[0].value.startswith(f"{first.run_id} · sweep · sample · minilm,hybrid")
    shown = [d.value for d in at.dataframe if "headline" in d.value.columns][-1]
    assert shown["headline"].iloc[0].startswith("2 setups; best ndcg@4 ")


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "cli.py", *args], cwd=ROOT, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_cli_sweep_writes_every_setup_with_its_parts(milvus, tmp_path):
    out = tmp_path / "sweep.json"
    p = run_cli("sweep", "--dataset", "sample", "--models", "bm25,hybrid", "--fusion", "rrf:60,weighted:0.3",
                "--k", "2,4", "--output", str(out))
    assert p.returncode == 0, p.stderr
    assert "sample: 6 setups, 2 collections" in p.stderr
    progress = [ln.strip() for ln in p.stderr.splitlines() if ln.startswith("  ")]  # each line once, in order
    assert progress == ["collection 1/2: bm25 whole", "setup 1/6 done: bm25 | whole | k2 (searched 16/96)",
                        "setup 2/6 done: bm25 | whole | k4 (searched 32/96)", "collection 2/2: hybrid whole",
                        "setup 3/6 done: hybrid | whole | rrf:60 | k2 (searched 48/96)",
                        "setup 4/6 done: hybrid | whole | rrf:60 | k4 (searched 64/96)",
                        "setup 5/6 done: hybrid | whole | weighted:0.3 | k2 (searched 80/96)",
                        "setup 6/6 done: hybrid | whole | weighted:0.3 | k4 (searched 96/96)"]
    data = json.loads(out.read_text())
    assert [s["id"] for s in data["setups"]] == [
        "bm25 | whole | k2", "bm25 | whole | k4", "hybrid | whole | rrf:60 | k2", "hybrid | whole | rrf:60 | k4",
        "hybrid | whole | weighted:0.3 | k2", "hybrid | whole | weighted:0.3 | k4"]
    s = data["setups"][1]
    assert s["parts"] == {"model": "bm25", "asr": None, "chunk_size": None, "chunk_overlap": 0, "fusion": None, "k": 4,
                          "reranker": "none", "depth": None}
    assert set(s["metrics"]) == {"precision@4", "recall@4", "hit@4", "mrr@4", "map@4", "ndcg@4"}
    assert len(s["per_query"]) == 16 and len(s["rankings"]) == 16 and set(s["latency"]) == {
        "p50_ms", "p95_ms", "p50_ci_low_ms", "p50_ci_high_ms", "p95_ci_low_ms", "p95_ci_high_ms", "latency_n"}
    assert s["latency"]["latency_n"] == 16  # the sample of 50 is every one of the 16 queries
    assert [d for d, _ in s["rankings"]["q11"]] == ["sql", "clojure", "cpp"]   # what BM25 matched (test_cli)
    assert s["cost"] == {"usd_per_1k_queries": 0.0,
                         "basis": "no embedding: Milvus' built-in BM25 (hardware not priced)"}
    board = data["leaderboard"]
    assert board["metric"] == "ndcg" and len(board["rows"]) == 6 and data["run_id"] in p.stdout
    assert "setups are scored at their own k" in p.stdout
    table = p.stdout.splitlines()[1:8]   # the header and 6 rows: display text, the best's p_holm "best", no NaN
    assert table[0].split()[-3:] == ["p95_ms", "cost_per_1k", "pareto"] and "NaN" not in p.stdout
    assert re.search(r" best +— .* \$0\.00 +★ yes$", table[1]) and not re.search(r"\d\.\d{4}", "\n".join(table))


@pytest.mark.parametrize("args,message", [
    (["--k", "0"], "--k: '0' is not a whole number ≥ 1"),
    (["--k", "5,x"], "--k: 'x' is not a whole number ≥ 1"),
    (["--chunk-sizes", "none,big"], "--chunk-sizes: 'big' is not a whole number ≥ 1 or none"),
    (["--fusion", "rrf:60,max"], "--fusion: fusion 'max': give rrf:K"),
    (["--rerankers", "cohere"], "--rerankers: reranker 'cohere': give none, ce:FOLDER"),
    (["--rerankers", "ce:/no/such/ce"], "reranker ce:/no/such/ce: no cross-encoder folder at /no/such/ce"),
    (["--rank-by", "f1"], "metric 'f1': choose one of precision, recall"),
    (["--rerank-prices", "cohere"], "--rerank-prices: 'cohere': give MODEL=USD (per 1,000 calls, ≥ 0)"),
    (["--models", "nope"], "unknown model 'nope'"),
    (["--output", "/no/such/dir/out.json"], "--output /no/such/dir/out.json: folder /no/such/dir does not exist"),
])
def test_bad_values_exit_2_with_one_line(milvus, args, message):
    p = run_cli("sweep", "--dataset", "sample", *args)
    lines = [ln for ln in p.stderr.strip().splitlines() if ln.strip()]
    assert p.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], p.stderr


@pytest.mark.slow
def test_sweep_page_plans_runs_and_shows_the_letters(milvus):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "pages" / "7_Sweep.py"), default_timeout=300).run()
    assert not at.exception and at.title[0].value == "🧪 Sweep"
    at.multiselect[0].set_value(["bm25", "hybrid"]).run()
    at.text_input(key="sweep_ks").set_value("2,4").run()
    plan = at.info[0].value   # what is left to build depends on the tests before: 0 or 2 collections of 31 docs
    assert plan.startswith("Plan: 6 setups, 2 collections (")
    assert plan.endswith(" documents/chunks to index), 96 searches.")
    assert plan.split("(")[1].split(",")[0] in ("0 to build", "1 to build", "2 to build")
    at.button[0].click().run()
    assert not at.exception and not at.error
    board = at.dataframe[0].value
    assert len(board) == 6 and board["letters"].iloc[0].startswith("a")
    assert list(board["cost_per_1k"]) == ["$0.00"] * 6 and board["p_holm"].iloc[0] == "best"
    assert set(board["pareto"]) <= {"★ yes", "no"} and board["pareto"].iloc[0] == "★ yes"  # the best is on it
    assert set(board["setup"]) == {"bm25 | whole | k2", "bm25 | whole | k4", "hybrid | whole | rrf:60 | k2",
                                   "hybrid | whole | rrf:60 | k4", "hybrid | whole | weighted:0.3 | k2",
                                   "hybrid | whole | weighted:0.3 | k4"}
    assert any(m.value.startswith("Best on ndcg: ") for m in at.markdown)
    at.text_input(key="sweep_fusion").set_value("max:1").run()
    assert at.error[0].value.startswith("fusion 'max:1': give rrf:K")


@pytest.mark.slow
def test_sweep_page_prices_an_endpoint_reranker(milvus, rerank_server):  # noqa: F811
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "pages" / "7_Sweep.py"), default_timeout=300).run()
    assert not any(t.label == "Rerank endpoint prices" for t in at.text_input)  # asked only for an endpoint
    at.multiselect[0].set_value(["bm25"]).run()
    at.text_input(key="sweep_ks").set_value("3").run()
    at.text_input(key="sweep_rerankers").set_value(f"none,rerank:overlap@{rerank_server[0]}").run()
    at.text_input(key="sweep_rerank_prices").set_value("overlap=two").run()
    assert at.error[0].value == "Rerank endpoint prices: 'overlap=two': give MODEL=USD (per 1,000 calls, ≥ 0)"
    assert at.button[0].disabled
    at.text_input(key="sweep_rerank_prices").set_value("overlap=2.0").run()
    assert not at.error and not at.button[0].disabled
    at.button[0].click().run()
    assert not at.exception and not at.error
    board = at.dataframe[0].value.set_index("setup")
    reranked = f"bm25 | whole | k3 | rerank:overlap@{rerank_server[0]}@20"
    assert board.loc[reranked, "cost_per_1k"] == "$2.00"  # one call per query at $2 per 1,000 calls; BM25 is free
    assert board.loc["bm25 | whole | k3", "cost_per_1k"] == "$0.00"


def test_endpoint_reranker_posts_cohere_style_and_keeps_its_order(retriever, sample, rerank_server):  # noqa: F811
    base, requests = rerank_server
    setup = Setup(model="bm25", k=3, reranker=f"rerank:overlap@{base}", depth=6)
    [got] = run_sweep(retriever, sample, [setup], record=False, n_resamples=1000).setups
    spec = resolve("bm25")
    name = retriever.store.ensure_collection(sample, spec).name
    for q in sample.judged_queries:
        candidates = retriever.store.search(name, spec, [q.text], 6)[0]
        expected = canonical_order([(d, overlap_score(q.text, sample.doc(d).full_text)) for d, _ in candidates])[:3]
        assert got.rankings[q.id] == expected
    last = requests[-1]
    assert last["path"] == "/rerank" and last["authorization"] is None
    assert set(last["body"]) == {"model", "query", "documents", "top_n"} and last["body"]["model"] == "overlap"


# ---------------------------------------------------------------- cost per 1,000 queries and the frontier

@pytest.fixture(scope="module")
def priced(milvus, sample, rerank_server, judge_server):  # noqa: F811
    """openai-3-small:64 embedded at the local OpenAI-compatible server (list price $0.02/1M tokens) and
    reranked at the local /rerank endpoint (no price), minilm, bm25, and bm25 reranked at depths 8 and 20; k 4."""
    from rag.retrieval import Retriever
    from rag.settings import get_settings

    endpoint = f"rerank:overlap@{rerank_server[0]}"
    setups = [Setup(model="openai-3-small:64", k=4, reranker=endpoint, depth=20), Setup(model="minilm", k=4),
              Setup(model="bm25", k=4), Setup(model="bm25", k=4, reranker=endpoint, depth=8),
              Setup(model="bm25", k=4, reranker=endpoint, depth=20)]
    wb = Retriever(milvus, settings=get_settings().with_keys("sk-test", judge_server.base_url))
    try:
        return run_sweep(wb, sample, setups, n_resamples=1000)
    finally:
        wb.close()


def test_a_setup_costs_its_query_embedding_at_the_registry_price(priced, sample, rerank_server):  # noqa: F811
    from rag.runs import RunStore

    base = rerank_server[0]
    tokens = sum(len(q.text) for q in sample.judged_queries) / 16 / 4   # 574 characters over 16 queries, 4 a token
    assert tokens == 8.96875
    usd = 8.96875 * 0.02 * 1000 / 1e6                                   # $0.02 per 1M tokens, 1,000 queries
    oai, minilm, bm25, r8, r20 = priced.setups
    assert oai.cost_per_1k == pytest.approx(0.000179375, abs=1e-15) and oai.cost_per_1k == pytest.approx(usd)
    assert oai.cost_basis == ("~9 tokens/query (dataset) × $0.02/1M tokens (API list price); "
                              f"reranker overlap at {base}: not priced ($0 counted)")
    assert (minilm.cost_per_1k, minilm.cost_basis) == (0.0, "local model on this machine (hardware not priced)")
    assert (bm25.cost_per_1k, bm25.cost_basis) == (0.0, "no embedding: Milvus' built-in BM25 (hardware not priced)")
    assert (r8.cost_per_1k, r8.cost_basis) == (0.0, "no embedding: Milvus' built-in BM25 (hardware not priced); "
                                                    f"reranker overlap at {base}: not priced ($0 counted)")
    # in the JSON, the leaderboard, and the recorded run
    assert priced.to_json()["setups"][0]["cost"] == {"usd_per_1k_queries": oai.cost_per_1k, "basis": oai.cost_basis}
    rows = {r["setup"]: r for r in priced.leaderboard["rows"]}
    assert (rows[oai.setup.id]["cost_per_1k"], rows[oai.setup.id]["cost_basis"]) == (oai.cost_per_1k, oai.cost_basis)
    run = RunStore.default().get(priced.run_id)
    assert run.config["query_tokens"] == 8.96875
    assert run.summary["cost"][oai.setup.id] == {"usd_per_1k_queries": oai.cost_per_1k, "basis": oai.cost_basis}
    assert run.summary["leaderboard"] == priced.leaderboard["rows"]


def test_cost_is_a_frontier_axis_and_a_free_sweep_is_judged_on_quality_and_latency(priced):
    """p95 latency is set by hand (measured latency varies run to run); quality and cost are the sweep's own."""
    from evaluators.stats.pareto import pareto_flags
    from evaluators.sweep.leaderboard import leaderboard

    oai, minilm, bm25, r8, r20 = priced.setups
    q = {r.setup.id: r.metrics["ndcg@4"] for r in priced.setups}
    # the sweep's qualities (deterministic: hashed-word embeddings, MiniLM on CPU, BM25, word-overlap reranking)
    assert q[bm25.setup.id] > q[oai.setup.id] > q[minilm.setup.id] and oai.cost_per_1k > 0 == minilm.cost_per_1k
    assert q[r8.setup.id] == q[r20.setup.id] and q[bm25.setup.id] > q[r8.setup.id] > q[minilm.setup.id]

    def front(*timed) -> set[str]:
        board = leaderboard([replace(r, p95_ms=ms) for r, ms in timed], "ndcg", n_resamples=200)
        return {x["setup"] for x in board.rows if x["pareto"]}

    # openai (better than minilm and faster) dominates minilm on quality × latency; it costs more, so with the
    # cost axis minilm is back on the frontier; bm25 is the best on quality, so it is on it either way
    timed = ((oai, 10.0), (minilm, 20.0), (bm25, 30.0))
    frame = pd.DataFrame({"quality": [q[r.setup.id] for r, _ in timed], "p95_ms": [ms for _, ms in timed]})
    assert list(pareto_flags(frame, ("quality",), ("p95_ms",))) == [True, False, True]   # without cost
    assert front(*timed) == {oai.setup.id, minilm.setup.id, bm25.setup.id}
    # every setup free: $0 everywhere decides nothing. bm25 is better and faster than the rest: alone on it
    assert front((bm25, 5.0), (minilm, 20.0), (r8, 50.0), (r20, 50.0)) == {bm25.setup.id}
    # ties: r8 and r20 are equal on all three axes, so neither dominates the other: both on it; minilm is
    # worse and slower than both; bm25, slowest, is the best on quality
    assert front((bm25, 100.0), (minilm, 20.0), (r8, 10.0), (r20, 10.0)) == {bm25.setup.id, r8.setup.id, r20.setup.id}
