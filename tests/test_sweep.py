"""The sweep on the real stack: Milvus Lite, the packaged MiniLM, built-in BM25, a tiny cross-encoder.

Oracles: the Retrieval comparison (``evaluate_retrieval``) for unchunked setups, the store's own search
plus the CrossEncoder's own scores for reranked ones, the collection list for "query-time parts never
build", and the run store / History / report / gate for the recorded run.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from evaluators.retrieval_eval import evaluate_retrieval
from evaluators.setups import Setup, grid
from evaluators.sweep import plan_sweep, run_sweep
from rag.embedders import resolve
from rag.store import canonical_order
from tests.conftest import ROOT
from tests.rerank_test_server import overlap_score, rerank_server  # noqa: F401  (fixture)
from tests.test_setups import tiny_cross_encoder  # noqa: F401  (fixture)


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
        assert {q: [d for d, _ in r] for q, r in got.rankings.items()} == \
               {q: [d for d, _ in r] for q, r in oracle.rankings[model].items()}
        assert got.metrics == pytest.approx(oracle.metrics[model], abs=1e-12)
        assert len(got.latency_ms) == 16 and 0 < got.p50_ms <= got.p95_ms


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
    from evaluators.gate import check_gate
    from evaluators.history import runs_frame
    from evaluators.report import build_report
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
    assert f"Sweep · {run.id}" in html and "document level" in html
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
    assert "sample: 6 setups, 2 collections" in p.stderr and "searched 96/96" in p.stderr
    data = json.loads(out.read_text())
    assert [s["id"] for s in data["setups"]] == [
        "bm25 | whole | k2", "bm25 | whole | k4", "hybrid | whole | rrf:60 | k2", "hybrid | whole | rrf:60 | k4",
        "hybrid | whole | weighted:0.3 | k2", "hybrid | whole | weighted:0.3 | k4"]
    s = data["setups"][1]
    assert s["parts"] == {"model": "bm25", "chunk_size": None, "chunk_overlap": 0, "fusion": None, "k": 4,
                          "reranker": "none", "depth": None}
    assert set(s["metrics"]) == {"precision@4", "recall@4", "hit@4", "mrr@4", "map@4", "ndcg@4"}
    assert len(s["per_query"]) == 16 and len(s["rankings"]) == 16 and set(s["latency"]) == {"p50_ms", "p95_ms"}
    assert [d for d, _ in s["rankings"]["q11"]] == ["sql", "clojure", "cpp"]   # what BM25 matched (test_cli)
    board = data["leaderboard"]
    assert board["metric"] == "ndcg" and len(board["rows"]) == 6 and data["run_id"] in p.stdout
    assert "setups are scored at their own k" in p.stdout


@pytest.mark.parametrize("args,message", [
    (["--k", "0"], "--k: '0' is not a whole number ≥ 1"),
    (["--k", "5,x"], "--k: 'x' is not a whole number ≥ 1"),
    (["--chunk-sizes", "none,big"], "--chunk-sizes: 'big' is not a whole number ≥ 1 or none"),
    (["--fusion", "rrf:60,max"], "--fusion: fusion 'max': give rrf:K"),
    (["--rerankers", "cohere"], "--rerankers: reranker 'cohere': give none, ce:FOLDER"),
    (["--rerankers", "ce:/no/such/ce"], "reranker ce:/no/such/ce: no cross-encoder folder at /no/such/ce"),
    (["--rank-by", "f1"], "metric 'f1': choose one of precision, recall"),
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
    assert set(board["setup"]) == {"bm25 | whole | k2", "bm25 | whole | k4", "hybrid | whole | rrf:60 | k2",
                                   "hybrid | whole | rrf:60 | k4", "hybrid | whole | weighted:0.3 | k2",
                                   "hybrid | whole | weighted:0.3 | k4"}
    assert any(m.value.startswith("Best on ndcg: ") for m in at.markdown)
    at.text_input(key="sweep_fusion").set_value("max:1").run()
    assert at.error[0].value.startswith("fusion 'max:1': give rrf:K")


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
