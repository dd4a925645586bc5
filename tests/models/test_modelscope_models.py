"""``ms:ORG/NAME[@REVISION]``: downloaded from ModelScope's API into ``$MODELSCOPE_CACHE/models/ORG/NAME``
(here a local server speaking that API serves the packaged MiniLM folder), then loaded offline from the
cache; a model neither cached nor reachable is one line before any work."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rag.models import spec as spec_module
from rag.models.base import ModelUnavailable
from rag.models.registry import resolve, resolve_all
from rag.models.text import minilm_path
from tests.support.modelscope_test_server import ModelScopeServer

REPO = "acme/mini.lm"   # a dot in the name: the SDK's cache writes it as ___


@pytest.fixture
def ms_env(monkeypatch, tmp_path):
    monkeypatch.setenv("MODELSCOPE_CACHE", str(tmp_path / "ms-cache"))
    monkeypatch.delenv("MODELSCOPE_OFFLINE", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    spec_module._encoders.clear()
    yield tmp_path / "ms-cache"
    spec_module._encoders.clear()


def test_download_then_offline_from_the_cache_scores_exactly_like_minilm(ms_env, monkeypatch, retriever, sample):
    from evaluators.retrieval.evaluate import evaluate_retrieval

    src = Path(minilm_path())
    with ModelScopeServer({REPO: src}) as ms:
        monkeypatch.setenv("MODELSCOPE_DOMAIN", ms.url)
        seen = []
        from rag.models import modelscope

        folder = modelscope.fetch(REPO, None, progress=lambda d, t: seen.append((d, t)))
        fetched = [p for p, q in ms.requests if q.get("FilePath")]
    assert folder == str(ms_env / "models" / "acme" / "mini___lm")
    expected = sorted(p.relative_to(src).as_posix() for p in src.rglob("*") if p.is_file())
    assert sorted(q for q in (r[1].get("FilePath") for r in ms.requests) if q) == expected and fetched
    assert all((ms_env / "models/acme/mini___lm" / f).read_bytes() == (src / f).read_bytes() for f in expected)
    total = sum((src / f).stat().st_size for f in expected)
    assert seen[-1] == (total, total)
    # the server is gone and the machine offline: the cached folder loads with no network, ranks as minilm
    monkeypatch.setenv("MODELSCOPE_DOMAIN", "http://127.0.0.1:9")
    monkeypatch.setenv("MODELSCOPE_OFFLINE", "1")
    key = f"ms:{REPO}"
    assert resolve(key).availability()[0]
    a = resolve(key).encoder().raw.encode(["what is retrieval?", "检索增强生成"])
    b = resolve("minilm").encoder().raw.encode(["what is retrieval?", "检索增强生成"])
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    result = evaluate_retrieval(retriever, sample, [key, "minilm"], k=4)
    assert result.metrics[key] == result.metrics["minilm"]
    assert {q: [d for d, _ in r] for q, r in result.rankings[key].items()} == \
        {q: [d for d, _ in r] for q, r in result.rankings["minilm"].items()}


def test_offline_and_not_cached_is_one_line_before_any_work(ms_env, monkeypatch):
    with ModelScopeServer({}) as ms:
        monkeypatch.setenv("MODELSCOPE_DOMAIN", ms.url)
        monkeypatch.setenv("MODELSCOPE_OFFLINE", "1")
        with pytest.raises(ModelUnavailable) as e:
            resolve_all(["bm25", "ms:BAAI/bge-small-zh-v1.5"], check=True)
        assert ms.requests == []  # nothing asked of the network
    msg = str(e.value)
    assert "\n" not in msg and msg == (
        f"ms:BAAI/bge-small-zh-v1.5: not in the ModelScope cache ({ms_env}/models/BAAI/bge-small-zh-v1___5) "
        "and offline (MODELSCOPE_OFFLINE / HF_HUB_OFFLINE): fetch it once online, or copy the model folder "
        "there with a .complete file")


def test_a_missing_model_is_one_line_naming_the_endpoint(ms_env, monkeypatch):
    from rag.models import modelscope

    with ModelScopeServer({}) as ms:
        monkeypatch.setenv("MODELSCOPE_DOMAIN", ms.url)
        with pytest.raises(OSError, match=rf"^ms:acme/none: ModelScope \({ms.url}\) answered HTTP 404 for its file "
                                          r"list at revision master$"):
            modelscope.fetch("acme/none", None)
    assert not (ms_env / "models" / "acme" / "none" / ".complete").exists()


def test_a_revision_is_part_of_the_id_and_the_cache_folder(ms_env):
    from rag.models import modelscope

    assert resolve("ms:acme/x#revision=v1.0").model_id == resolve("ms:acme/x@v1.0").model_id == "ms:acme/x@v1.0"
    assert modelscope.folder_of("acme/x", "v1.0") == ms_env / "models" / "acme" / "x@v1.0"
    assert modelscope.folder_of("acme/x", None) == modelscope.folder_of("acme/x", "master")
    with pytest.raises(ModelUnavailable, match=r"^ms:acme: give ms:ORG/NAME\[@REVISION\]"):
        resolve("ms:acme")
