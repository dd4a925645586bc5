"""Chunking and sentences in any script: CJK punctuation before single characters, English unchanged."""

from langchain_text_splitters import RecursiveCharacterTextSplitter

from rag.data.chunking import chunk_dataset, text_splitter
from rag.data.dataset import Dataset, Document
from rag.data.documents import load_documents
from rag.models.generators import ExtractiveGenerator, no_answer, split_sentences

ZH = ("大熊猫生活在四川的竹林里。一只成年大熊猫每天要吃十二到三十八千克的竹子，进食时间长达十多个小时。"
      "竹子的营养很低，所以大熊猫行动缓慢。")


def test_chinese_chunks_end_at_punctuation_never_mid_number():
    ds = Dataset("zh", [Document("d", "", ZH)], [], {})
    chunks = [d.text for d in chunk_dataset(ds, size=40, overlap=0).dataset.documents]
    assert chunks == split_sentences(ZH)  # 13, 35, 18 characters: each sentence fits in 40
    # the 35-character sentence does not fit in 25: it is cut at its comma, not at the 25th character
    chunks = [d.text for d in chunk_dataset(ds, size=25, overlap=0).dataset.documents]
    assert chunks == ["大熊猫生活在四川的竹林里。", "一只成年大熊猫每天要吃十二到三十八千克的竹子，",
                      "进食时间长达十多个小时。", "竹子的营养很低，所以大熊猫行动缓慢。"]


def test_english_text_splits_exactly_as_langchain_default():
    text = ("Java is a language. " * 30).strip()
    default = RecursiveCharacterTextSplitter(chunk_size=100, chunk_overlap=10)
    assert text_splitter(100, 10, text).split_text(text) == default.split_text(text)


def test_documents_markdown_in_chinese_keeps_headings_and_sentences():
    md = "# 熊猫\n\n" + ZH
    chunks = [d.text for d in load_documents([("panda.md", md.encode())], chunk_size=40, chunk_overlap=0)]
    assert chunks[0] == "# 熊猫" and chunks[1] == "大熊猫生活在四川的竹林里。"


def test_sentences_in_chinese_japanese_and_english():
    assert split_sentences(ZH) == ["大熊猫生活在四川的竹林里。",
                                   "一只成年大熊猫每天要吃十二到三十八千克的竹子，进食时间长达十多个小时。",
                                   "竹子的营养很低，所以大熊猫行动缓慢。"]
    assert split_sentences("富士山は日本一高い山です。標高は3776メートルです！") == [
        "富士山は日本一高い山です。", "標高は3776メートルです！"]
    assert split_sentences("Java is old. It runs on the JVM.") == ["Java is old.", "It runs on the JVM."]


def test_extractive_answers_one_chinese_sentence_and_no_answer_in_the_question_language():
    from rag.models.generators import Context

    gen = ExtractiveGenerator(n_sentences=1)
    assert gen.answer("熊猫每天吃多少竹子？", [Context("d", "", ZH)]) == \
        "一只成年大熊猫每天要吃十二到三十八千克的竹子，进食时间长达十多个小时。"
    assert gen.answer("熊猫吃什么？", []) == "我不知道。"
    two = ExtractiveGenerator(n_sentences=2).answer("熊猫每天吃多少竹子？", [Context("d", "", ZH)])
    assert " " not in two and two.count("。") == 2  # Chinese sentences are joined without a space
    assert no_answer("パンダは何を食べますか？") == "わかりません。"
    assert no_answer("What do pandas eat?") == "I don't know."
