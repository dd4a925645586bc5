"""The model catalog over mteb's offline ModelMeta registry: names as users type them, prompts as the
authors publish them, filters for the decide flow."""

from __future__ import annotations

import pytest

from rag.models import catalog
from rag.models.registry import resolve


def test_lookup_by_the_names_users_type():
    e5 = catalog.lookup("hf:intfloat/multilingual-e5-small@main")
    assert e5.name == "intfloat/multilingual-e5-small" and e5.source == "mteb"
    assert (e5.query_prompt, e5.document_prompt, e5.prompt_kind) == ("query: ", "passage: ", "text")
    assert (e5.max_tokens, e5.embed_dim, e5.license, e5.open_weights) == (512, 384, "mit", True)
    assert e5.supports("zh") and e5.supports("zho-Hans") and e5.supports("en")
    bge = catalog.lookup("bge-small-zh-v1.5")  # without the organisation: unique in the registry
    assert bge.name == "BAAI/bge-small-zh-v1.5"
    assert bge.query_prompt == "为这个句子生成表示以用于检索相关文章：" and bge.document_prompt is None
    assert bge.supports("zh") and not bge.supports("en")
    assert catalog.lookup("no-such/model") is None and catalog.lookup("") is None


def test_renamed_and_api_models_and_instruct_templates():
    voyage = catalog.lookup("voyageai/voyage-3.5")  # renamed in mteb to mongodb/voyage-3.5
    assert voyage.name == "mongodb/voyage-3.5" and voyage.prompt_kind == "input_type"
    assert (voyage.query_prompt, voyage.document_prompt, voyage.max_tokens) == ("query", "document", 32000)
    instruct = catalog.lookup("intfloat/multilingual-e5-large-instruct")
    assert instruct.query_prompt == ("Instruct: Given a web search query, retrieve relevant passages that "
                                     "answer the query\nQuery: ")
    assert instruct.document_prompt is None


def test_registry_models_and_specs_look_up_their_hub_id():
    minilm = catalog.lookup("minilm")
    assert minilm.name == "sentence-transformers/all-MiniLM-L6-v2" and minilm.max_tokens == 256
    assert catalog.lookup(resolve("openai-3-small:512")).name == "openai/text-embedding-3-small"
    assert catalog.lookup(resolve("openai-3-large")).embed_dim == 3072


def test_search_filters():
    found = catalog.search(languages=["zh"], open_weights=True, max_memory_mb=500, modality="text")
    names = [i.name for i in found]
    assert "BAAI/bge-small-zh-v1.5" in names and "intfloat/multilingual-e5-small" in names
    assert "BAAI/bge-m3" not in names  # 2,167 MB
    assert all(i.open_weights and i.memory_mb <= 500 and "text" in i.modalities for i in found)
    assert all(i.supports("zh") for i in found)
    mit = catalog.search(license="MIT", languages="en")
    assert mit and all(i.license == "mit" for i in mit)
    dates = [i.release_date or "" for i in found]
    assert dates == sorted(dates, reverse=True)


def test_registered_entries_take_precedence():
    info = catalog.ModelInfo("acme/embed-1", languages=("eng-Latn",), max_tokens=1000, embed_dim=8,
                             query_prompt="q", document_prompt="d", prompt_kind="input_type", source="provider")
    catalog.register(info, "acme-1")
    try:
        assert catalog.lookup("acme-1") is info and catalog.lookup("ACME/embed-1") is info
        assert info in catalog.search(languages=["en"], open_weights=None)
    finally:
        catalog._registered.pop("acme/embed-1"), catalog._aliases.pop("acme-1")


@pytest.mark.parametrize("code,expected", [("zh", "zho"), ("EN", "eng"), ("zho-hans", "zho-Hans"), ("cmn", "cmn")])
def test_normalize_language(code, expected):
    assert catalog.normalize_language(code) == expected
