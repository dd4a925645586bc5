"""``hf:ORG/NAME[@REVISION]`` through the real huggingface_hub download code.

Stand-ins only for what cannot be reached: a hub of our own on 127.0.0.1 set as ``HF_ENDPOINT`` serving a
tiny BERT built here (plain transformers, no sentence-transformers config: mean-pooled), and an HF cache
laid out as the hub writes it, filled with the packaged MiniLM. Each run is a real CLI process (huggingface_hub
reads HF_ENDPOINT / HF_HOME / HF_HUB_OFFLINE when imported) against the session's real Milvus Lite.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from rag.models.text import minilm_path
from tests.conftest import ROOT
from tests.support.hub_test_server import COMMIT, HubServer

pytestmark = pytest.mark.slow


def run_cli(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "cli.py", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env={**os.environ, **env})


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    folder = tmp_path_factory.mktemp("hub") / "tiny-bert"
    torch.manual_seed(0)
    BertModel(BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                         intermediate_size=64, max_position_embeddings=128)).save_pretrained(folder)
    AutoTokenizer.from_pretrained(minilm_path()).save_pretrained(folder)
    return folder


def test_download_from_the_endpoint_then_offline_from_the_cache(milvus, tiny_bert, tmp_path):
    hf_home, out = tmp_path / "hf", tmp_path / "run.json"
    with HubServer({"acme/tiny-bert": tiny_bert}, slow_from=1_000_000, delay=1.0) as hub:  # small files first
        env = {"HF_ENDPOINT": hub.url, "HF_HOME": str(hf_home), "HF_TOKEN": "hf_test_token",
               "HF_HUB_OFFLINE": "0"}
        p = run_cli(env, "retrieval", "--dataset", "sample", "--models", "hf:acme/tiny-bert", "--k", "4",
                    "--output", str(out))
        assert p.returncode == 0, p.stderr[-2000:]
        served = [r for r in hub.requests if "/acme/tiny-bert/" in r[1]]
    snapshot = hf_home / "hub" / "models--acme--tiny-bert" / "snapshots" / COMMIT
    assert (snapshot / "model.safetensors").is_file()
    assert (hf_home / "hub" / "models--acme--tiny-bert" / "refs" / "main").read_text() == COMMIT
    # the download's progress, from the first byte counts to all of them (issue 24)
    shown = [re.fullmatch(r"  hf:acme/tiny-bert: downloading ([\d.]+)/([\d.]+) MB \((\d+)%\)", ln)
             for ln in p.stderr.splitlines() if "downloading" in ln]
    assert len(shown) >= 2 and all(shown), p.stderr
    assert int(shown[0].group(3)) < 100 and shown[-1].group(3) == "100", p.stderr
    assert shown[-1].group(1) == shown[-1].group(2) and len({m.group(2) for m in shown}) == 1, p.stderr
    assert {r[1].rsplit("/", 1)[-1] for r in served if r[0] == "GET" and "/resolve/" in r[1]} == {
        "config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"}
    assert served and all(auth == "Bearer hf_test_token" for _, _, auth in served)  # the token, to the hub
    first = json.loads(out.read_text())
    # the hub is gone: offline, the cached model loads with no network and ranks the same
    p = run_cli({"HF_HOME": str(hf_home), "HF_HUB_OFFLINE": "1", "HF_ENDPOINT": "http://127.0.0.1:9"},
                "retrieval", "--dataset", "sample", "--models", "hf:acme/tiny-bert", "--k", "4",
                "--output", str(out))
    assert p.returncode == 0, p.stderr[-2000:]
    assert json.loads(out.read_text())["metrics"] == first["metrics"]


def test_offline_and_not_cached_is_one_line_before_any_work(tmp_path):
    p = run_cli({"HF_HOME": str(tmp_path / "empty"), "HF_HUB_OFFLINE": "1"}, "retrieval", "--dataset",
                "sample", "--models", "bm25,hf:BAAI/bge-small-zh-v1.5", "--k", "4")
    assert p.returncode != 0
    lines = [ln for ln in p.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, p.stderr
    assert lines[0].startswith("error: hf:BAAI/bge-small-zh-v1.5: not in the Hugging Face cache (")
    assert "HF_HUB_OFFLINE=1: fetch it once with `hf download BAAI/bge-small-zh-v1.5`" in lines[0]
    assert "Traceback" not in p.stderr and "bm25: insert" not in p.stderr


def test_a_prefilled_cache_offline_scores_exactly_like_minilm(milvus, tmp_path):
    repo = tmp_path / "hf" / "hub" / "models--sentence-transformers--all-MiniLM-L6-v2"
    shutil.copytree(minilm_path(), repo / "snapshots" / COMMIT)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(COMMIT)
    out = tmp_path / "run.json"
    p = run_cli({"HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "1"}, "retrieval", "--dataset", "sample",
                "--models", "minilm,hf:sentence-transformers/all-MiniLM-L6-v2", "--k", "4", "--output", str(out))
    assert p.returncode == 0, p.stderr[-2000:]
    metrics = json.loads(out.read_text())["metrics"]
    assert metrics["hf:sentence-transformers/all-MiniLM-L6-v2"] == metrics["minilm"]
