"""``hf:ORG/NAME`` cross-encoder rerankers (issue 24) through the real huggingface_hub download code.

A tiny cross-encoder built here (tests/sweep/test_setups.py) is served by the hub of our own on 127.0.0.1 (set as
``HF_ENDPOINT``), downloaded by a sweep run into a temporary HF cache and used as the reranker of BM25's candidates;
its scores must be what ``sentence_transformers.CrossEncoder(folder).predict`` gives for the same folder. Then the
hub is gone: with ``HF_HUB_OFFLINE=1`` the cached reranker gives the same rankings, and one not cached is one line
before any work. Each run is a real CLI process (huggingface_hub reads its variables at import).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from rag.milvus.store import canonical_order
from rag.models.registry import resolve
from tests.conftest import ROOT
from tests.support.hub_test_server import COMMIT, HubServer
from tests.sweep.test_setups import tiny_cross_encoder  # noqa: F401  (fixture)

pytestmark = pytest.mark.slow
SWEEP = ("sweep", "--dataset", "sample", "--models", "bm25", "--rerankers", "hf:acme/tiny-ce", "--k", "3",
         "--depth", "8", "--latency-sample", "2")


def run_cli(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "cli.py", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env={**os.environ, **env})


def test_hub_cross_encoder_downloads_reranks_like_its_own_predict_and_runs_offline(
        milvus, retriever, sample, tiny_cross_encoder, tmp_path):  # noqa: F811
    from sentence_transformers import CrossEncoder

    hf_home, out = tmp_path / "hf", tmp_path / "sweep.json"
    with HubServer({"acme/tiny-ce": tiny_cross_encoder}) as hub:
        p = run_cli({"HF_ENDPOINT": hub.url, "HF_HOME": str(hf_home), "HF_HUB_OFFLINE": "0"}, *SWEEP,
                    "--output", str(out))
        assert p.returncode == 0, p.stderr[-2000:]
        fetched = {path.rsplit("/", 1)[-1] for m, path, _ in hub.requests if m == "GET" and "/resolve/" in path}
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= fetched, fetched
    snapshot = hf_home / "hub" / "models--acme--tiny-ce" / "snapshots" / COMMIT
    [setup] = json.loads(out.read_text())["setups"]
    assert setup["parts"]["reranker"] == "hf:acme/tiny-ce" and setup["parts"]["depth"] == 8

    oracle = CrossEncoder(str(snapshot), device="cpu")  # the downloaded folder, scored by its own library
    spec = resolve("bm25")
    name = retriever.store.ensure_collection(sample, spec).name
    for q in sample.judged_queries:
        candidates = retriever.store.search(name, spec, [q.text], 8)[0]
        scores = oracle.predict([(q.text, sample.doc(d).full_text) for d, _ in candidates])
        expected = canonical_order([(d, float(s)) for (d, _), s in zip(candidates, scores)])[:3]
        got = setup["rankings"][q.id]
        assert [d for d, _ in got] == [d for d, _ in expected], q.id
        assert [s for _, s in got] == pytest.approx([s for _, s in expected], abs=1e-5), q.id

    # the hub is gone: offline, the cached reranker loads with no network and ranks the same
    p = run_cli({"HF_HOME": str(hf_home), "HF_HUB_OFFLINE": "1", "HF_ENDPOINT": "http://127.0.0.1:9"}, *SWEEP,
                "--output", str(out))
    assert p.returncode == 0, p.stderr[-2000:]
    assert json.loads(out.read_text())["setups"][0]["rankings"] == setup["rankings"]

    # offline and not cached: one line, before any work
    p = run_cli({"HF_HOME": str(tmp_path / "empty"), "HF_HUB_OFFLINE": "1"}, *SWEEP)
    lines = [ln for ln in p.stderr.strip().splitlines() if ln.strip()]
    assert p.returncode == 2 and len(lines) == 1, p.stderr
    assert lines[0].startswith("error: ") and "reranker hf:acme/tiny-ce: not in the Hugging Face cache (" in lines[0]
    assert "HF_HUB_OFFLINE=1: fetch it once with `hf download acme/tiny-ce`" in lines[0]
    assert "collection 1/1" not in p.stderr and "Traceback" not in p.stderr
