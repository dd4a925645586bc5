"""``hf:ORG/NAME`` cross-encoder rerankers (issue 24) through the real huggingface_hub download code.

A tiny cross-encoder built here (tests/sweep/test_setups.py) is served by the hub of our own on 127.0.0.1 (set as
``HF_ENDPOINT``), downloaded by a sweep run into a temporary HF cache and used as the reranker of BM25's candidates;
its scores must be what ``sentence_transformers.CrossEncoder(folder).predict`` gives for the same folder. Then the
hub is gone: with ``HF_HUB_OFFLINE=1`` the cached reranker gives the same rankings, and one not cached is one line
before any work. The download is a real CLI process (huggingface_hub reads its variables at import).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from rag.milvus.store import canonical_order
from rag.models.registry import resolve
from tests.cli.test_cli import invoke
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

    # the hub is gone: offline (HF_HUB_OFFLINE=1, a dead endpoint), the cached reranker reranks the same, in this
    # process (huggingface_hub read its variables at import: its constants are set as the variables would)
    from huggingface_hub import constants

    from evaluators.sweep.run import run_sweep
    from evaluators.sweep.setups import Setup

    offline = {"HF_HUB_OFFLINE": True, "ENDPOINT": "http://127.0.0.1:9", "HF_HUB_CACHE": str(hf_home / "hub"),
               "HUGGINGFACE_CO_URL_TEMPLATE": "http://127.0.0.1:9/{repo_id}/resolve/{revision}/{filename}"}
    with pytest.MonkeyPatch.context() as mp:
        for name, value in offline.items():
            mp.setattr(constants, name, value)
        [again] = run_sweep(retriever, sample, [Setup(model="bm25", k=3, reranker="hf:acme/tiny-ce", depth=8)],
                            record=False, n_resamples=200, latency_sample_size=2).setups
        assert {q: [d for d, _ in r] for q, r in again.rankings.items()} == \
            {q: [d for d, _ in r] for q, r in setup["rankings"].items()}

        # offline and not cached: one line, before any work
        mp.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "empty"))
        r = invoke(*SWEEP)
    assert r.exit_code == 2 and len(r.stderr.splitlines()) == 1, r.output
    line = r.stderr.strip()
    assert line.startswith("error: ") and "reranker hf:acme/tiny-ce: not in the Hugging Face cache (" in line
    assert "HF_HUB_OFFLINE=1: fetch it once with `hf download acme/tiny-ce`" in line and r.stdout == ""
