"""The BM25 analyzer registry: chosen from the language, checked against the server, refused with the reason."""

import pytest

from rag.milvus.analyzers import ANALYZERS, choose_analyzer
from rag.milvus.capabilities import Capabilities, MilvusUnsupported
from rag.milvus.index_config import BM25_ANALYZER, IndexConfig

LITE = Capabilities("Milvus Lite", "milvus_lite-3.2.2")
SERVER_25 = Capabilities("Milvus", "v2.5.4")
SERVER_2511 = Capabilities("Milvus", "v2.5.11")


def test_english_keeps_todays_analyzer_everywhere():
    for caps in (None, LITE, SERVER_25):
        choice = choose_analyzer("en", caps)
        assert (choice.name, choice.chosen) == ("english", "auto")
        assert choice.params == BM25_ANALYZER == {"tokenizer": "standard", "filter": [
            "lowercase", {"type": "stop", "stop_words": ANALYZERS["english"].params["filter"][1]["stop_words"]}]}


def test_chinese_is_jieba_on_lite_and_the_chinese_analyzer_on_a_server():
    assert choose_analyzer("zh", LITE).params == {"tokenizer": "jieba"}
    assert choose_analyzer("zh", SERVER_25).params == {"type": "chinese"}
    assert choose_analyzer("zh", SERVER_25, "jieba").to_json() == {
        "name": "jieba", "params": {"tokenizer": "jieba"}, "language": "zh", "chosen": "user"}


def test_japanese_korean_thai_need_a_server_and_are_refused_on_lite_with_the_reason():
    assert choose_analyzer("ja", SERVER_25).params == {"tokenizer": {"type": "lindera", "dict_kind": "ipadic"}}
    assert choose_analyzer("ko", SERVER_25).name == "lindera-ko"
    with pytest.raises(MilvusUnsupported) as e:
        choose_analyzer("ja", LITE)
    assert str(e.value).startswith("BM25 cannot tokenize Japanese on Milvus Lite 3.2.2: the lindera-ja analyzer "
                                   "needs a Milvus server >= 2.5; Milvus Lite has only the standard and jieba "
                                   "tokenizers.")
    with pytest.raises(MilvusUnsupported, match="the icu analyzer needs Milvus >= 2.5.11; this server is 2.5.4"):
        choose_analyzer("th", SERVER_25)
    assert choose_analyzer("th", SERVER_2511).name == "icu"


def test_spaced_languages_get_the_standard_analyzer_and_a_user_choice_is_checked():
    assert choose_analyzer("fr", LITE).params == {"tokenizer": "standard", "filter": ["lowercase"]}
    forced = choose_analyzer("zh", LITE, "english")
    assert forced.note == "english does not tokenize Chinese, the corpus' main language"
    with pytest.raises(MilvusUnsupported, match="BM25 analyzer chinese: the chinese analyzer needs a Milvus server"):
        choose_analyzer("zh", LITE, "chinese")
    with pytest.raises(ValueError, match="unknown BM25 analyzer 'kuromoji'; choose from auto, english"):
        IndexConfig(bm25_analyzer="kuromoji")
    cfg = IndexConfig(bm25_analyzer="jieba")
    assert IndexConfig.from_json(cfg.to_json()) == cfg and cfg.record()["bm25_analyzer_requested"] == "jieba"
