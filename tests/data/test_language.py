"""The language profile: per-text language and script, shares, mixed texts, the one-line summary."""

import json

from rag.data.dataset import Dataset, Document, Query
from rag.data.language import LanguageProfile, detect_text, profile_dataset


def test_short_texts_in_three_scripts_are_told_apart():
    assert detect_text("熊猫吃什么？").language == "zh"
    assert detect_text("长城有多长").language == "zh"           # py3langid alone says Wu ("wuu")
    assert detect_text("パンダは何を食べますか？").language == "ja"
    assert detect_text("日本の首都").language == "ja"           # one kana in five characters
    assert detect_text("판다는 무엇을 먹나요?").language == "ko"
    assert detect_text("garbage collection in Java").language == "en"
    assert detect_text("12345 !!").language == "und"


def test_scripts_and_mixed_texts():
    zh = detect_text("大熊猫每天吃十二到三十八千克的竹子。")
    assert (zh.script, zh.mixed) == ("Han", False)
    ja = detect_text("富士山は日本で一番高い山です。")
    assert (ja.script, ja.mixed) == ("Han+Kana", False)        # kanji + kana is one writing system
    mixed = detect_text("今天我们讨论 machine learning models and vector search")
    assert (mixed.language, mixed.mixed) == ("zh", True)       # 6 Han characters, 6 English words


def _ds(docs, queries):
    return Dataset("t", [Document(f"d{i}", "", t) for i, t in enumerate(docs)],
                   [Query(f"q{i}", t) for i, t in enumerate(queries)], {})


def test_profile_shares_main_language_summary_and_json():
    ds = _ds(["北京是中国的首都。", "上海是中国最大的城市。", "长江是中国最长的河流。",
              "The Yangtze is the longest river in China."],
             ["中国的首都是哪里？", "Which river is the longest?"])
    p = profile_dataset(ds)
    assert p.main_language == "zh"
    assert p.documents == {"zh": 0.75, "en": 0.25}
    assert p.queries == {"zh": 0.5, "en": 0.5}
    assert p.mixed == {"count": 0, "share": 0.0}
    assert p.summary() == ("Documents: 75 % Chinese, 25 % English · questions: 50 % Chinese, 50 % English · "
                           "0 mixed-language texts")
    back = LanguageProfile.from_json(json.loads(json.dumps(p.to_json())))
    assert (back.main_language, back.documents, back.queries) == (p.main_language, p.documents, p.queries)
    assert profile_dataset(ds) is p  # cached by content hash


def test_builtin_sample_is_english():
    from rag.data.samples.text import load_sample

    p = profile_dataset(load_sample())
    assert p.main_language == "en" and p.documents == {"en": 1.0}


def test_short_latin_questions_are_read_in_the_corpus_language():
    assert detect_text("What do pandas eat?").language == "pt"           # py3langid alone, 4 words
    assert detect_text("What do pandas eat?", prior="en").language == "en"
    assert detect_text("Milvus full text search", prior="zh").language == "en"  # a Chinese prior is no help here
