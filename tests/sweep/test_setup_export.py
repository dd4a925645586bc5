"""Exported setups reproduce the sweep: real Milvus Lite, the packaged MiniLM, built-in BM25, a tiny cross-encoder,
the local Cohere-style /rerank server and the local OpenAI-compatible server (embeddings).

Oracle: the rankings the sweep recorded (the run store's rows) for every judged question of the sample,
doc ids in order and scores to 1e-4, against the pymilvus script run in a subprocess (as a user runs it)
and the LangChain retriever built by the langchain script, for every setup: whole documents and chunks,
no reranker, a cross-encoder and an endpoint reranker. The keys each script reads from its environment
are checked at the two servers: each reaches its own endpoint and no other.
"""

from __future__ import annotations

import ast
import json
import os
import re
import runpy
import subprocess
import sys

import pytest

from evaluators.sweep.export import default_milvus_uri, export_setup, render_script, script_name
from evaluators.sweep.run import run_sweep
from evaluators.sweep.setups import Setup, grid
from rag.data.chunking import chunk_dataset
from rag.runs import RunStore
from tests.support.openai_test_server import judge_server  # noqa: F401  (fixture)
from tests.support.rerank_test_server import rerank_server  # noqa: F401  (fixture)
from tests.sweep.test_setups import tiny_cross_encoder  # noqa: F401  (fixture)

# every script in one subprocess, each in its own namespace as a user's code would import it:
# {script: {question id: its top_k}}
DRIVER = ("import json, runpy, sys; questions = json.loads(sys.argv[1]); "
          "print(json.dumps({path: {q: runpy.run_path(path)['top_k'](t) for q, t in questions.items()} "
          "for path in sys.argv[2:]}))")
OPTIONED = "minilm#query=query:%20&dim=128"
EMBED_KEY, RERANK_KEY = "sk-embed-only-7f3a", "rk-rerank-only-91c2"  # what the scripts read from their environment


@pytest.fixture(scope="module")
def swept(milvus, sample, tiny_cross_encoder, rerank_server, judge_server):  # noqa: F811
    """minilm, bm25, hybrid with rrf:60 and weighted:0.3, a chunked setup, a cross-encoder reranked one, a
    chunked endpoint-reranked one and an OpenAI-embedded endpoint-reranked one (the local servers), k 4,
    recorded."""
    from rag.retrieval import Retriever
    from rag.settings import get_settings

    endpoint = f"rerank:overlap@{rerank_server[0]}"
    setups = grid(["minilm", "bm25", "hybrid"], fusions=["rrf:60", "weighted:0.3"], ks=[4]) + [
        Setup(model="minilm", chunk_size=200, chunk_overlap=20, k=4),
        Setup(model="bm25", k=4, reranker=f"ce:{tiny_cross_encoder}", depth=8),
        Setup(model="minilm", chunk_size=200, chunk_overlap=20, k=4, reranker=endpoint, depth=8),
        Setup(model="openai-3-small:64", k=4, reranker=endpoint, depth=8),
        Setup(model=OPTIONED, k=4)]  # spec options (issue 24): a query prompt and Matryoshka dims
    wb = Retriever(milvus, settings=get_settings().with_keys("sk-sweep", judge_server.base_url))
    try:
        result = run_sweep(wb, sample, setups, n_resamples=200)
    finally:
        wb.close()
    recorded = {}
    for row in RunStore.default().typed_rows(result.run_id):
        recorded.setdefault(row.model, {})[row.item_id] = row.ranking
    return result, recorded


@pytest.fixture
def script_env(milvus, rerank_server, judge_server, monkeypatch):  # noqa: F811
    """The environment a user gives an exported script (the Milvus, each endpoint's key), both servers'
    request logs emptied; yields a function that checks which key reached which server since."""
    env = {"MILVUS_URI": milvus.uri, "OPENAI_API_KEY": EMBED_KEY, "OPENAI_BASE_URL": judge_server.base_url,
           "RERANK_API_KEY": RERANK_KEY}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    rerank_server[1].clear()
    judge_server.reset_stats()

    def keys_went_only_to_their_endpoints(reranked_queries: int, embedded_queries: int) -> None:
        reranks = rerank_server[1]
        assert len(reranks) == reranked_queries and {r["authorization"] for r in reranks} == {f"Bearer {RERANK_KEY}"}
        embeds = [a for p, a in judge_server.authorizations() if p == "/v1/embeddings"]
        assert len(embeds) == embedded_queries and judge_server.keys_seen() == {f"Bearer {EMBED_KEY}"}
        sent = json.dumps(reranks) + json.dumps(judge_server.authorizations())
        assert EMBED_KEY not in json.dumps(reranks) and RERANK_KEY not in json.dumps(judge_server.authorizations())
        assert "sk-sweep" not in sent  # the sweep's own key is in no script
    return {**os.environ, **env}, keys_went_only_to_their_endpoints


def assert_same(got: dict, want: dict) -> None:
    assert set(got) == set(want)
    for q in want:
        assert [d for d, _ in got[q]] == [d for d, _ in want[q]], q
        assert [s for _, s in got[q]] == pytest.approx([s for _, s in want[q]], abs=1e-4), q


def test_the_pymilvus_script_reproduces_every_setup(swept, sample, script_env, tmp_path):
    result, recorded = swept
    env, keys_went_only_to_their_endpoints = script_env
    questions = {q.id: q.text for q in sample.judged_queries}
    assert len(result.setups) == 9 and len(questions) == 16
    scripts = {}
    for r in result.setups:
        scripts[r.setup.id] = tmp_path / script_name(r.setup.id, "pymilvus")
        scripts[r.setup.id].write_text(export_setup(result.run_id, r.setup.id, "pymilvus"))
    out = subprocess.run([sys.executable, "-c", DRIVER, json.dumps(questions), *map(str, scripts.values())],
                         env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(out.stdout)
    for setup_id, script in scripts.items():
        assert_same(got[str(script)], recorded[setup_id])
    # two setups search the rerank endpoint, one embeds at the OpenAI-compatible one: 16 questions each
    keys_went_only_to_their_endpoints(reranked_queries=2 * 16, embedded_queries=16)
    first = sample.judged_queries[0]  # and as a command: python winner.py "question"
    chunked_reranked = next(s for s in scripts if s.startswith("minilm | c200o20 | k4 | rerank:"))
    for setup_id in ("hybrid | whole | weighted:0.3 | k4", chunked_reranked, f"{OPTIONED} | whole | k4"):
        out = subprocess.run([sys.executable, str(scripts[setup_id]), first.text], env=env, capture_output=True,
                             text=True, timeout=300)
        assert out.returncode == 0, out.stderr[-2000:]
        assert json.loads(out.stdout) == [[d, round(s, 6)] for d, s in recorded[setup_id][first.id]]


def test_the_langchain_retriever_reproduces_every_setup(swept, sample, script_env, tmp_path):
    from langchain_core.retrievers import BaseRetriever

    result, recorded = swept
    _, keys_went_only_to_their_endpoints = script_env
    for r in result.setups:
        script = tmp_path / script_name(r.setup.id, "langchain")
        script.write_text(export_setup(result.run_id, r.setup.id, "langchain"))
        module = runpy.run_path(str(script))
        retriever = module["retriever"]
        assert isinstance(retriever, BaseRetriever)
        steps = getattr(retriever, "base_compressor", None)
        steps = [type(t).__name__ for t in getattr(steps, "transformers", [steps] if steps else [])]
        assert steps == ["Rerank"] * (r.setup.reranker != "none") + ["BestChunkPerDocument"] * bool(r.setup.chunk_size)
        assert_same({q.id: module["top_k"](q.text) for q in sample.judged_queries}, recorded[r.setup.id])
        first = sample.judged_queries[0]
        docs = retriever.invoke(first.text)
        assert [d.metadata["id"] for d in docs] == [d for d, _ in recorded[r.setup.id][first.id]]
        if r.setup.chunk_size:   # each document's text is its best chunk's, that chunk's id beside it
            chunks = chunk_dataset(sample, r.setup.chunk_size, r.setup.chunk_overlap)
            assert all(chunks.parents[d.metadata["chunk_id"]] == d.metadata["id"] for d in docs)
            best_chunks = [chunks.dataset.doc(d.metadata["chunk_id"]).full_text for d in docs]
            assert [d.page_content for d in docs] == best_chunks
    keys_went_only_to_their_endpoints(reranked_queries=2 * (16 + 1), embedded_queries=16 + 1)


def invoke(*args: str):
    from typer.testing import CliRunner

    from cli import app

    return CliRunner().invoke(app, ["export-setup", *args])


def test_the_command_writes_the_script_and_refuses_bad_input_with_one_line(swept, tmp_path):
    result, _ = swept
    run = result.run_id
    out = tmp_path / "winner.py"
    ok = invoke("--run", run, "--setup", "bm25 | whole | k4", "--output", str(out))
    assert ok.exit_code == 0 and out.read_text() == export_setup(run, "bm25 | whole | k4", "pymilvus")
    chunked = "minilm | c200o20 | k4"
    ids = "; ".join(r.setup.id for r in result.setups)
    cases = [
        (["--run", "nope", "--setup", "x"], "error: no run 'nope'; list runs in the History page or with "
                                            "`python cli.py runs`"),
        (["--run", run, "--setup", "minilm | k9"], f"error: run {run} has no setup 'minilm | k9'; its setups: {ids}"),
        (["--run", run, "--setup", chunked, "--format", "haystack"],
         "error: --format: 'haystack' is not one of pymilvus, langchain"),
    ]
    for args, line in cases:
        r = invoke(*args, "--output", str(tmp_path / "refused.py"))
        assert (r.exit_code, r.stderr, r.stdout) == (2, line + "\n", ""), args
    assert not (tmp_path / "refused.py").exists()


def test_a_retrieval_run_is_not_a_sweep(retriever, sample):
    from evaluators.retrieval.evaluate import run_retrieval

    run_id = run_retrieval(retriever, sample, ["bm25"], k=4).run_id
    with pytest.raises(ValueError) as e:
        export_setup(run_id, "bm25 | whole | k4", "pymilvus")
    assert str(e.value) == f"run {run_id} is a retrieval run, not a sweep: export-setup needs a sweep run"


def test_user_strings_enter_the_script_as_literals(swept):
    """A dataset name and a folder holding quotes, backslashes and newlines neither break nor inject."""
    from rag.runs import Run

    result, _ = swept
    stored = RunStore.default().get(result.run_id)
    evil = 'x"""; import os; os.system("echo pwned") #\\\n\''
    run = Run(**{**stored.__dict__, "dataset": evil, "id": evil})
    spec = evil.replace(" #", ";")  # in a model spec "#" begins its options (issue 24): the rest stays hostile
    for setup in (Setup(model=f"st:/models/{spec}", k=3),
                  Setup(model=f"st:/models/{spec}", chunk_size=100, k=3, reranker=f"ce:/ce/{evil}", depth=6),
                  Setup(model="bm25", k=3, reranker=f"rerank:{evil}@http://h/{evil}", depth=6)):
        run.config = {**run.config, "collections": {setup.id: evil}}
        for fmt in ("pymilvus", "langchain"):
            tree = ast.parse(render_script(run, setup, fmt, milvus_uri=evil))
            assert evil in ast.get_docstring(tree, clean=False)
            literals = {n.targets[0].id: ast.literal_eval(n.value) for n in tree.body if isinstance(n, ast.Assign)
                        and getattr(n.targets[0], "id", None) in ("COLLECTION", "RERANKER")}
            assert literals == {"COLLECTION": evil, **({"RERANKER": setup.reranker} if setup.depth else {})}
            assert not [n for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr == "system"]


def test_the_sweep_page_downloads_the_chosen_setup(milvus):
    from streamlit.testing.v1 import AppTest

    from tests.conftest import ROOT

    at = AppTest.from_file(str(ROOT / "pages" / "7_Sweep.py"), default_timeout=300).run()
    at.multiselect[0].set_value(["bm25"]).run()
    at.text_input(key="sweep_ks").set_value("4").run()
    at.text_input(key="sweep_chunk_sizes").set_value("none,200").run()
    at.text_input(key="sweep_overlaps").set_value("20").run()
    plan = at.info[0].value  # what is left to build depends on the tests before (BM25: nothing to embed)
    assert plan in [f"Plan: 2 setups, 2 collections ({n} to build, {units} documents/chunks to index), 32 searches."
                    for n, units in ((2, 31 + 114), (1, 114), (1, 31), (0, 0))]
    [time_line] = [c.value for c in at.caption if c.value.startswith("Time: ")]
    assert re.fullmatch(r"Time: about \d+ s \(34 searches: \d+ s; rates measured now\)\.", time_line), time_line
    at.button[0].click().run()
    assert not at.exception and not at.error
    run_id = at.session_state["sweep_result"].run_id
    best = at.session_state["sweep_result"].leaderboard["rows"][0]["setup"]
    assert at.selectbox(key="sweep_export_setup").value == best
    [download] = at.get("download_button")
    assert download.proto.label == f"Download {script_name(best, 'pymilvus')}"
    for setup in ("bm25 | whole | k4", "bm25 | c200o20 | k4"):   # LangChain too, chunked or not
        at.selectbox(key="sweep_export_setup").set_value(setup).run()
        at.radio(key="sweep_export_format").set_value("langchain").run()
        assert [d.proto.label for d in at.get("download_button")] == [f"Download {script_name(setup, 'langchain')}"]
    assert export_setup(run_id, "bm25 | c200o20 | k4", "langchain").startswith("#!/usr/bin/env python3")


def test_openai_embeddings_are_exported_with_the_key_from_the_environment(swept):
    from rag.runs import Run

    result, _ = swept
    run = Run(**RunStore.default().get(result.run_id).__dict__)
    for model, base_url, dims in (("oai:nomic@http://127.0.0.1:9/v1", "http://127.0.0.1:9/v1", None),
                                  ("openai-3-small:256", None, 256)):
        setup = Setup(model=model, k=5)
        run.config = {**run.config, "collections": {setup.id: "wb_x"}}
        text = render_script(run, setup, "pymilvus", milvus_uri="http://127.0.0.1:19531")
        ast.parse(text)
        assert f"base_url={base_url!r}" in text and 'os.environ.get("OPENAI_API_KEY")' in text
        assert (f"{{'dimensions': {dims}}}" if dims else "extra = {}") in text
        assert "OPENAI_API_KEY for the embedding endpoint" in ast.get_docstring(ast.parse(text))


def test_the_script_names_the_milvus_the_sweep_searched(swept, milvus, sample):
    """The run records its Milvus URI (never a token); the docstring and the default name it; a run recorded
    before sweeps kept it falls back to the configured Milvus, and says so."""
    from rag.milvus.server import MilvusInfo
    from rag.retrieval import Retriever
    from rag.runs import Run

    result, _ = swept
    stored = RunStore.default().get(result.run_id)
    assert stored.config["milvus_uri"] == result.milvus_uri == milvus.uri
    text = export_setup(result.run_id, "bm25 | whole | k4", "langchain")
    assert f"the sweep searched the Milvus at {milvus.uri!r}; that is the default" in ast.get_docstring(ast.parse(text))
    assert f'MILVUS_URI = os.environ.get("MILVUS_URI", {milvus.uri!r})' in text
    elsewhere = Run(**{**stored.__dict__, "config": {**stored.config, "milvus_uri": "https://milvus.example:19530"}})
    text = render_script(elsewhere, Setup(model="bm25", k=4), "pymilvus")
    assert "the sweep searched the Milvus at 'https://milvus.example:19530'" in text
    assert 'os.environ.get("MILVUS_URI", \'https://milvus.example:19530\')' in text
    older = Run(**{**stored.__dict__, "config": {k: v for k, v in stored.config.items() if k != "milvus_uri"}})
    for fmt in ("pymilvus", "langchain"):
        assert (f"Needs: MILVUS_URI (default {default_milvus_uri()!r}: the workbench's configured Milvus; this run "
                "did not record the one it searched)") in render_script(older, Setup(model="bm25", k=4), fmt)
    # a Milvus reached with a token: the run keeps the URI alone
    token = "root:not-for-the-record-5e1"
    wb = Retriever(MilvusInfo(uri=milvus.uri, token=token, embedded=False))
    try:
        run_id = run_sweep(wb, sample, [Setup(model="bm25", k=2)], n_resamples=100).run_id
    finally:
        wb.close()
    run = RunStore.default().get(run_id)
    assert run.config["milvus_uri"] == milvus.uri
    assert token not in json.dumps(run.config) + json.dumps(run.summary) + export_setup(run_id, "bm25 | whole | k2",
                                                                                           "pymilvus")
