"""ROUGE-L, BLEU and string similarity on Chinese, Japanese and English, against hand-computed values."""

import asyncio

import pytest

from evaluators.rag.metrics import METRICS
from evaluators.rag.text_metrics import CJKTokenizer, bleu_tokenize


def score(metric: str, reference: str, response: str) -> float:
    m = METRICS[metric].build(None, None)
    return float(asyncio.run(m.ascore(reference=reference, response=response)).value)


def test_identical_chinese_answers_score_one_and_unrelated_zero():
    for metric in ("rouge_l", "bleu", "string_similarity"):
        assert score(metric, "熊猫吃竹子", "熊猫吃竹子") == pytest.approx(1.0)
        assert score(metric, "熊猫吃竹子", "今天天气很好") == pytest.approx(0.0)


def test_rouge_l_by_character_hand_computed():
    # 17 characters each (。 is not a token); the LCS skips 千克 / 公斤: 15 -> P = R = F = 15/17
    ref, resp = "大熊猫每天吃十二到三十八千克的竹子。", "大熊猫每天吃十二到三十八公斤的竹子。"
    assert score("rouge_l", ref, resp) == pytest.approx(15 / 17)
    # 2 of 4 characters in order (熊猫); P = 2/4, R = 2/5, F = 2PR/(P+R) = 4/9
    assert score("rouge_l", "大熊猫吃竹", "熊猫喝水") == pytest.approx(4 / 9)
    assert CJKTokenizer().tokenize("熊猫 eats 竹子, OK") == ["熊", "猫", "eats", "竹", "子", "ok"]


def test_bleu_chinese_hand_computed():
    # zh tokenizer: 1 token per character. ref 熊猫吃竹子 (5), hyp 熊猫吃竹 (4): precisions 4/4, 3/3, 2/2, 1/1;
    # brevity penalty exp(1 - 5/4)
    import math

    assert bleu_tokenize("熊猫吃竹子", "熊猫吃竹") == "zh"
    assert score("bleu", "熊猫吃竹子", "熊猫吃竹") == pytest.approx(math.exp(1 - 5 / 4))


def test_japanese_uses_characters_and_english_is_scored_as_ragas_does():
    import ragas.metrics.collections as rc

    assert bleu_tokenize("富士山は高い", "富士山") == "char"
    # 富士山は日本で一番高い山です (14) vs 富士山は日本一高い山です (12): LCS 12 -> P 12/12, R 12/14
    assert score("rouge_l", "富士山は日本で一番高い山です", "富士山は日本一高い山です") == pytest.approx(
        2 * 1 * (12 / 14) / (1 + 12 / 14))
    ref, resp = "The cat sat on the mat", "a cat sat on a mat"
    assert score("rouge_l", ref, resp) == pytest.approx(4 / 6)  # cat sat on mat: 4 of 6 words each side
    assert score("rouge_l", ref, resp) == asyncio.run(rc.RougeScore().ascore(reference=ref, response=resp)).value
    assert score("bleu", ref, resp) == asyncio.run(rc.BleuScore().ascore(reference=ref, response=resp)).value
