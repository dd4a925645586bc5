"""Issue 29, the models, Milvus and ui areas: no English of ours formed below the pages reaches a Chinese reader.

- The scanner (``tests.support.untranslated``) finds no raised / shown / printed literal outside the catalog in
  ``rag/models``, ``rag/milvus`` and ``ui``: a new English string there cannot land.
- Real failing calls under ``language("zh")`` say the exact Chinese line: an unknown model spec, a bad spec option,
  a model folder that is not there or holds the wrong model, a model the server cannot run, a bad index parameter,
  a bad BM25 analyzer (English unchanged: the same calls in English).
- The CLI (a subprocess, ``WORKBENCH_LANG=zh``) refuses a missing model folder in
  Chinese, before any work (exit 2).
- The app in Chinese (AppTest over ``app.py``, real Milvus Lite): the sidebar's status line and model list, and the
  Index page's models and providers tables show no English of ours (model names, specs, URLs and numbers stay).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from rag.i18n import language
from tests.conftest import ROOT
from tests.support.page_scan import english_lines
from tests.support.untranslated import scan

AREAS = ["rag/models", "rag/milvus", "ui"]


def test_no_untranslated_strings_in_models_milvus_and_ui():
    assert scan(AREAS) == []


def _error(fn, *args, **kwargs) -> str:
    with pytest.raises(Exception) as caught:
        fn(*args, **kwargs)
    return str(caught.value)


def test_model_spec_errors_in_chinese_and_english():
    from rag.models.base import ModelUnavailable
    from rag.models.registry import REGISTRY, resolve

    known = ", ".join(REGISTRY)
    with language("zh"):
        msg = _error(resolve, "nope")
        assert msg.startswith(f"未知模型 'nope'。已知模型：{known}；或使用 hf:ORG/NAME[@REVISION]、")
        assert msg.endswith("aud:FOLDER（音频骨干模型：音频查询）")
        assert _error(resolve, "minilm#dim=0") == "选项 dim='0'：请填写不小于 1 的整数"
        assert _error(resolve, "minilm#colour=red").startswith(
            "模型 'minilm#colour=red'：未知选项 'colour=red'；请写成 #key=value&…，key 取以下之一："
            "query（查询提示词），document（文档提示词），")
        assert _error(resolve, "hf:nope") == "hf:nope：请写成 hf:ORG/NAME[@REVISION]，如 hf:BAAI/bge-small-zh-v1.5"
        assert _error(resolve, "bm25#dim=64") == "bm25#dim=64：bm25 不能设置 dim（没有稠密编码器）"
    with pytest.raises(ModelUnavailable, match=r"^unknown model 'nope'\. Known: minilm, bm25"):
        resolve("nope")
    assert _error(resolve, "minilm#dim=0") == "option dim='0': give a whole number of at least 1"


def test_model_folder_problems_in_chinese(tmp_path):
    """A real folder checked by the real code: missing, then a BERT config where a CLIP / Whisper one is needed."""
    from rag.models.asr import asr_problem
    from rag.models.registry import resolve

    folder = tmp_path / "m"
    with language("zh"):
        assert resolve(f"clip:{folder}").availability() == (False, f"{folder} 处没有模型文件夹")
        folder.mkdir()
        (folder / "config.json").write_text(json.dumps({"model_type": "bert"}), encoding="utf-8")
        ok, why = resolve(f"clip:{folder}").availability()
        assert not ok and why == (f"{folder} 是 'bert' 模型，不是 CLIP 或 SigLIP（clip: 要求 model_type 为 clip, "
                                  f"siglip, siglip2）；纯图像骨干模型请写 img:{folder}")
        assert asr_problem(str(folder)) == f"{folder} 是 'bert' 模型，不是 Whisper（asr: 要求 model_type 为 whisper）"
        assert resolve(f"clip:{folder}").label == f"本地 CLIP {folder.name}"
    assert asr_problem(str(folder)) == f"{folder} is a 'bert' model, not Whisper (asr: takes model_type whisper)"


def test_milvus_refusals_in_chinese():
    from rag.milvus.analyzers import choose_analyzer
    from rag.milvus.capabilities import Capabilities
    from rag.milvus.index_config import IndexConfig
    from rag.models.registry import resolve

    old = Capabilities("Milvus", "v2.3.5")
    with language("zh"):
        assert old.model_reason(resolve("bm25")) == "bm25 需要 Milvus >= 2.5（BM25 函数）；当前服务为 2.3.5"
        assert old.index_reason("HNSW_SQ") == "HNSW_SQ 需要 Milvus >= 2.6；当前服务为 2.3.5"
        assert Capabilities("Milvus Lite", "milvus_lite-3.2.2").index_reason("DISKANN") == "Milvus Lite 不支持 DISKANN"
        assert _error(IndexConfig, "HNSW", params={"M": 0}) == "索引参数 M 必须是 ≥ 1 的整数（实际为 0）"
        assert _error(IndexConfig, "FLAT", params={"M": 8}) == "索引参数 'M' 不适用于 FLAT；它不接受任何参数"
        assert _error(IndexConfig, "HNSW", bm25_analyzer="klingon") == (
            "未知的 BM25 分析器 'klingon'；可选：auto, english, standard, jieba, chinese, lindera-ja, lindera-ko, icu")
        assert _error(choose_analyzer, "zh", None, "chinese") == (
            "BM25 分析器 chinese：chinese 分析器需要 Milvus 服务 >= 2.5；Milvus Lite 只有 standard 和 jieba 分词器")
        assert choose_analyzer("zh", None).label() == "jieba（按中文自动选择）"
        assert choose_analyzer("zh", None, "english").note == "english 无法对语料的主要语言中文分词"
    assert old.model_reason(resolve("bm25")) == "bm25 needs Milvus >= 2.5 (BM25 function); this server is 2.3.5"


def test_cli_refuses_a_missing_model_folder_in_chinese(tmp_path):
    """The CLI checks every model before any work: one Chinese line, exit 2 (one subprocess: ~10 s of imports)."""
    from rag.processes import free_port

    # its own data folder and Milvus port: the session's port belongs to the session's data folder
    env = {**os.environ, "WORKBENCH_LANG": "zh", "WORKBENCH_DATA_DIR": str(tmp_path / "data"),
           "WORKBENCH_MILVUS_PORT": str(free_port())}
    env.pop("MILVUS_URI", None)
    gone = tmp_path / "no-such-model"
    bad = subprocess.run([sys.executable, "cli.py", "retrieval", "--dataset", "sample", "--models", f"clip:{gone}"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert (bad.returncode, bad.stderr.strip()) == (2, f"错误：clip:{gone}: {gone} 处没有模型文件夹")


# ---------------------------------------------------------------- the app in Chinese: sidebar and Index page
# Shown as they are: model keys and names, the providers' own names, specs, key variables, URLs.
def _names() -> tuple[str, ...]:
    from rag.models.providers import PROVIDERS
    from rag.models.registry import REGISTRY

    wire = [t for p in PROVIDERS.values() for t in (p.input_types.field, p.input_types.query, p.input_types.document)
            if t]  # the API's own field names and values, as sent
    return (*REGISTRY, "all-MiniLM-L6-v2", "MiniLM", "OpenAI text-embedding-3-small", "OpenAI text-embedding-3-large",
            *(p.label for p in PROVIDERS.values()), *wire, "OPENAI_API_KEY", "WORKBENCH_DEVICE",
            "WORKBENCH_EMBED_BATCH", "Milvus Lite", "RRF", "BM25")


@pytest.fixture
def zh():
    with language("zh"):  # AppTest formats widget values in this thread (see tests/pages/test_pages_chinese.py)
        yield


def test_sidebar_in_chinese(milvus, zh):
    from streamlit.testing.v1 import AppTest

    from rag.models.devices import runtime_info

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.session_state["ui_lang"] = "zh"
    at.run()
    assert not at.exception, at.exception
    sb = at.sidebar
    status = [s.value for s in sb.success]
    assert status == [f"Milvus Lite（内嵌，{milvus.uri}）已响应（Milvus Lite 3.2.2）"], status
    models = [m.value for m in sb.markdown if m.value.startswith(("🟢", "⚪"))]
    assert models[:3] == ["🟢 **minilm** — all-MiniLM-L6-v2（本地）", "🟢 **bm25** — BM25（Milvus 全文检索）",
                          "🟢 **hybrid** — 混合：MiniLM + BM25（RRF）"]
    texts = [e.value for kind in ("markdown", "caption", "success", "info", "warning", "error")
             for e in getattr(sb, kind)]
    assert english_lines(texts, (*_names(), runtime_info()["device"])) == []


def test_index_page_models_and_providers_tables_in_chinese(milvus, zh):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "pages" / "2_Index.py"), default_timeout=180)
    at.session_state["ui_lang"] = "zh"
    at.run()
    assert not at.exception, at.exception
    models = next(d.value for d in at.dataframe if "说明" in d.value.columns)
    assert list(models.loc[models["模型"].isin(["minilm", "bm25", "hybrid"]), "说明"]) == [
        "all-MiniLM-L6-v2（本地）", "BM25（Milvus 全文检索）", "混合：MiniLM + BM25（RRF）"]
    cells = [str(v) for col in ("说明", "不可运行的原因") for v in models[col]]
    assert english_lines(cells, _names()) == []
    providers = next(d.value for d in at.dataframe if "服务商" in d.value.columns)
    cells = [str(v) for col in providers.columns if col not in ("服务商", "规格", "密钥变量") for v in providers[col]]
    assert "$0.12/百万 token（未核实）" in cells and "无（查询与文档编码方式相同）" in cells
    assert english_lines(cells, _names()) == [], cells
