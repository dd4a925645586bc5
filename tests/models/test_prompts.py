"""Models encoded as their authors specify: query / document prompts from the folder's own config, the
catalog, or the user's spec options; part of the cache key and the collection identity.

Real parts: the packaged MiniLM copied into a folder whose ``config_sentence_transformers.json`` declares
E5-style prompts, real Milvus Lite; the oracle is sentence-transformers' own ``encode_query`` /
``encode_document`` with an exact numpy cosine ranking.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from rag.milvus.index_config import IndexConfig, build_inputs, collection_name
from rag.milvus.store import canonical_order
from rag.models.base import ModelUnavailable
from rag.models.prompts import Prompts, own_prompts, resolve_prompts
from rag.models.registry import resolve
from rag.models.spec_options import join_options, split_options
from rag.models.text import minilm_path

PROMPTS = {"query": "query: ", "document": "passage: "}


@pytest.fixture(scope="module")
def prompted_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("models") / "minilm-prompted"
    shutil.copytree(minilm_path(), folder)
    cfg = json.loads((folder / "config_sentence_transformers.json").read_text())
    (folder / "config_sentence_transformers.json").write_text(json.dumps({**cfg, "prompts": PROMPTS}))
    return folder


@pytest.mark.slow
def test_a_folder_with_prompts_ranks_exactly_as_encode_query_and_encode_document(retriever, sample,
                                                                                  prompted_folder):
    from sentence_transformers import SentenceTransformer

    from evaluators.retrieval.evaluate import evaluate_retrieval

    spec = f"st:{prompted_folder}"
    assert resolve(spec).prompts().record() == {
        "query_prompt": "query: ", "document_prompt": "passage: ", "prompt_kind": "text",
        "prompt_source": {"query": "model", "document": "model"}}
    result = evaluate_retrieval(retriever, sample, [spec, "minilm"], k=4)
    model = SentenceTransformer(str(prompted_folder), device="cpu")
    queries = sample.judged_queries
    docs = model.encode_document([d.full_text for d in sample.documents], normalize_embeddings=True)
    qs = model.encode_query([q.text for q in queries], normalize_embeddings=True)
    changed = 0
    for q, qv in zip(queries, qs):
        expected = canonical_order([(d.id, float(s)) for d, s in zip(sample.documents, docs @ qv)])[:4]
        got = result.rankings[spec][q.id]
        assert [d for d, _ in got] == [d for d, _ in expected], q.text
        assert [s for _, s in got] == pytest.approx([s for _, s in expected], abs=2e-5)
        changed += [d for d, _ in got] != [d for d, _ in result.rankings["minilm"][q.id]]
    assert changed > 0  # the prompts do change rankings: without them this test would prove nothing


def test_user_options_override_the_folder_and_change_cache_key_and_collection(sample, prompted_folder):
    plain = resolve(f"st:{prompted_folder}")
    spec = resolve(f"st:{prompted_folder}#query=search_query:%20&document=")
    p = spec.prompts()
    assert (p.query, p.document, p.origin) == ("search_query: ", "", {"query": "user", "document": "user"})
    assert p.cache_suffix("document") == "" and p.cache_suffix("query").startswith("#q=")
    assert plain.prompts().cache_suffix("document") != ""
    cfg = IndexConfig()
    names = {collection_name(build_inputs(sample, s, cfg)) for s in (plain, spec, resolve("minilm"))}
    assert len(names) == 3
    assert spec.ref == f"st:{prompted_folder}#query=search_query:%20&document="


def test_catalog_prompts_apply_when_the_folder_declares_none():
    from rag.models import catalog

    info = catalog.lookup("intfloat/multilingual-e5-small")
    p = resolve_prompts({}, info, {})
    assert (p.query, p.document, p.origin["query"]) == ("query: ", "passage: ", "catalog")
    # sentence-transformers >= 5 writes empty prompts into every folder: they do not hide the authors' ones
    assert resolve_prompts({"query": ""} and own_prompts(None), info, {}).query == "query: "
    assert resolve_prompts({"query": "q: "}, info, {"document": "d: "}).record()["prompt_source"] == {
        "query": "model", "document": "user"}
    assert Prompts().label() == "no prompts"


def test_minilm_keeps_its_cache_key_and_collection():
    spec = resolve("minilm")
    assert spec.prompts().query is None and spec.encoding() == {}
    assert spec.cache_key == "sentence-transformers/all-MiniLM-L6-v2"


def test_option_syntax_round_trips_and_refuses_unknown_keys():
    text = "hf:intfloat/multilingual-e5-small#query=query:%20&document=passage:%20&dim=256&max_tokens=512"
    base, opts = split_options(text)
    assert base == "hf:intfloat/multilingual-e5-small"
    assert opts == {"query": "query: ", "document": "passage: ", "dim": 256, "max_tokens": 512}
    assert join_options(base, opts) == text
    zh = "hf:BAAI/bge-small-zh-v1.5#query=为这个句子生成表示以用于检索相关文章："
    assert split_options(zh)[1] == {"query": "为这个句子生成表示以用于检索相关文章："}
    with pytest.raises(ModelUnavailable, match="unknown option 'dims=3'"):
        resolve("minilm#dims=3")
    with pytest.raises(ModelUnavailable, match="dim='x': give a whole number"):
        resolve("minilm#dim=x")
    with pytest.raises(ModelUnavailable, match="cannot be set for bm25"):
        resolve("bm25#dim=8")


def test_matryoshka_dim_truncates_and_renormalises(prompted_folder):
    full = resolve("minilm").encoder()
    small = resolve("minilm#dim=128").encoder()
    assert small.dim == 128 and full.dim == 384
    v_full = full.embed(["matryoshka dims"], role="document")
    v_small = small.embed(["matryoshka dims"], role="document")
    expected = v_full[0, :128] / np.linalg.norm(v_full[0, :128])
    assert v_small.shape == (1, 128) and np.allclose(v_small[0], expected, atol=1e-5)
    with pytest.raises(ModelUnavailable, match="over the model's position limit \\(512\\)"):
        resolve("minilm#max_tokens=1000").encoder().embed(["too long a limit"], role="document")


def test_limits_count_truncation_with_the_models_tokenizer(sample):
    from transformers import AutoTokenizer

    from evaluators.retrieval.evaluate import limits_line
    from rag.models.limits import model_limits

    tok = AutoTokenizer.from_pretrained(minilm_path())
    lengths = [len(tok(d.full_text)["input_ids"]) for d in sample.documents]  # an independent count
    info = model_limits(resolve("minilm#max_tokens=40"), sample)
    assert info["max_tokens"] == 40 and info["documents"] == len(sample.documents) == 31
    assert info["documents_truncated"] == sum(n > 40 for n in lengths) > 0
    assert model_limits(resolve("minilm"), sample)["documents_truncated"] == sum(n > 256 for n in lengths)
    assert limits_line("bm25", model_limits(resolve("bm25"), sample)) == (
        "bm25: no token limit (BM25 indexes every word)")
