"""Exported setups reproduce the sweep: real Milvus Lite, the packaged MiniLM, built-in BM25, a tiny cross-encoder.

Oracle: the rankings the sweep recorded (the run store's rows) for every judged question of the sample,
doc ids in order and scores to 1e-4, against the pymilvus script run as a subprocess (as a user runs it)
and the LangChain retriever built by the langchain script, for every setup it can express.
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

from evaluators.setup_export import export_setup, render_script, script_name
from evaluators.setups import Setup, grid
from evaluators.sweep import run_sweep
from rag.runs import RunStore
from tests.test_setups import tiny_cross_encoder  # noqa: F401  (fixture)

# each setup's questions in one subprocess: the script's own top_k, imported as a user's code would
DRIVER = ("import json, runpy, sys; top_k = runpy.run_path(sys.argv[1])['top_k']; "
          "print(json.dumps({q: top_k(t) for q, t in json.loads(sys.argv[2]).items()}))")


@pytest.fixture(scope="module")
def swept(retriever, sample, tiny_cross_encoder):  # noqa: F811
    """minilm, bm25, hybrid with rrf:60 and weighted:0.3, one chunked and one reranked setup, k 4, recorded."""
    setups = grid(["minilm", "bm25", "hybrid"], fusions=["rrf:60", "weighted:0.3"], ks=[4]) + [
        Setup(model="minilm", chunk_size=200, chunk_overlap=20, k=4),
        Setup(model="bm25", k=4, reranker=f"ce:{tiny_cross_encoder}", depth=8)]
    result = run_sweep(retriever, sample, setups, n_resamples=200)
    recorded = {}
    for row in RunStore.default().typed_rows(result.run_id):
        recorded.setdefault(row.model, {})[row.item_id] = row.ranking
    return result, recorded


def assert_same(got: dict, want: dict) -> None:
    assert set(got) == set(want)
    for q in want:
        assert [d for d, _ in got[q]] == [d for d, _ in want[q]], q
        assert [s for _, s in got[q]] == pytest.approx([s for _, s in want[q]], abs=1e-4), q


def test_the_pymilvus_script_reproduces_every_setup(swept, sample, milvus, tmp_path):
    result, recorded = swept
    questions = {q.id: q.text for q in sample.judged_queries}
    env = {**os.environ, "MILVUS_URI": milvus.uri}
    assert len(result.setups) == 6 and len(questions) == 16
    for r in result.setups:
        script = tmp_path / script_name(r.setup.id, "pymilvus")
        script.write_text(export_setup(result.run_id, r.setup.id, "pymilvus"))
        out = subprocess.run([sys.executable, "-c", DRIVER, str(script), json.dumps(questions)], env=env,
                             capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr[-2000:]
        assert_same(json.loads(out.stdout), recorded[r.setup.id])
        first = sample.judged_queries[0]  # and as a command: python winner.py "question"
        out = subprocess.run([sys.executable, str(script), first.text], env=env, capture_output=True, text=True,
                             timeout=300)
        assert out.returncode == 0, out.stderr[-2000:]
        assert json.loads(out.stdout) == [[d, round(s, 6)] for d, s in recorded[r.setup.id][first.id]]


def test_the_langchain_retriever_reproduces_the_setups_it_can_express(swept, sample, milvus, tmp_path,
                                                                      monkeypatch):
    from langchain_core.retrievers import BaseRetriever

    result, recorded = swept
    monkeypatch.setenv("MILVUS_URI", milvus.uri)
    expressible = [r for r in result.setups if r.setup.chunk_size is None and r.setup.reranker == "none"]
    assert [r.setup.id for r in expressible] == ["minilm | whole | k4", "bm25 | whole | k4",
                                                 "hybrid | whole | rrf:60 | k4", "hybrid | whole | weighted:0.3 | k4"]
    for r in expressible:
        script = tmp_path / script_name(r.setup.id, "langchain")
        script.write_text(export_setup(result.run_id, r.setup.id, "langchain"))
        module = runpy.run_path(str(script))
        assert isinstance(module["retriever"], BaseRetriever)
        assert_same({q.id: module["top_k"](q.text) for q in sample.judged_queries}, recorded[r.setup.id])
        first = sample.judged_queries[0]
        docs = module["retriever"].invoke(first.text)
        assert sorted(d.metadata["id"] for d in docs) == sorted(d for d, _ in recorded[r.setup.id][first.id])


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
    reranked = next(r.setup.id for r in result.setups if r.setup.reranker != "none")
    ids = "; ".join(r.setup.id for r in result.setups)
    cases = [
        (["--run", "nope", "--setup", "x"], "error: no run 'nope'; list runs in the History page or with "
                                            "`python cli.py runs`"),
        (["--run", run, "--setup", "minilm | k9"], f"error: run {run} has no setup 'minilm | k9'; its setups: {ids}"),
        (["--run", run, "--setup", chunked, "--format", "haystack"],
         "error: --format: 'haystack' is not one of pymilvus, langchain"),
        (["--run", run, "--setup", chunked, "--format", "langchain"],
         f"error: setup '{chunked}': a langchain-milvus retriever cannot express chunk → document collapse; "
         "--format pymilvus can"),
        (["--run", run, "--setup", reranked, "--format", "langchain"],
         f"error: setup '{reranked}': a langchain-milvus retriever cannot express the reranker "
         f"{reranked.split(' | ')[-1].rsplit('@', 1)[0]}; --format pymilvus can"),
    ]
    for args, line in cases:
        r = invoke(*args, "--output", str(tmp_path / "refused.py"))
        assert (r.exit_code, r.stderr, r.stdout) == (2, line + "\n", ""), args
    assert not (tmp_path / "refused.py").exists()


def test_a_retrieval_run_is_not_a_sweep(retriever, sample):
    from evaluators.retrieval_eval import run_retrieval

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
    setup = Setup(model=f"st:/models/{evil}", k=3)
    run.config = {**run.config, "collections": {setup.id: evil}}
    for fmt in ("pymilvus", "langchain"):
        tree = ast.parse(render_script(run, setup, fmt, milvus_uri=evil))
        assert evil in ast.get_docstring(tree, clean=False)
        [collection] = [n.value for n in tree.body if isinstance(n, ast.Assign) and
                        getattr(n.targets[0], "id", None) == "COLLECTION"]
        assert ast.literal_eval(collection) == evil
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
    for setup in ("bm25 | whole | k4", "bm25 | c200o20 | k4"):
        at.selectbox(key="sweep_export_setup").set_value(setup).run()
        at.radio(key="sweep_export_format").set_value("langchain").run()
        if setup == "bm25 | whole | k4":
            assert [d.proto.label for d in at.get("download_button")] == [
                f"Download {script_name(setup, 'langchain')}"]
        else:
            assert at.get("download_button") == [] and any(
                c.value == f"setup '{setup}': a langchain-milvus retriever cannot express chunk → document "
                           "collapse; --format pymilvus can" for c in at.caption)
    assert export_setup(run_id, "bm25 | whole | k4", "langchain").startswith("#!/usr/bin/env python3")


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
