"""ROUGE and BLEU that count in the text's language: CJK text is tokenized by character.

Ragas' ``RougeScore`` uses rouge_score's default tokenizer, which keeps only ``[a-z0-9]`` runs: a
Chinese answer identical to its reference scores 0.0 (measured with Ragas 0.4.3). Its ``BleuScore``
uses sacrebleu's default ``13a`` tokenizer, which does not split Chinese: a near-identical Chinese
answer scores 0.0. Text without CJK characters is scored exactly as Ragas does (same classes, same
arguments); text with CJK characters gets the field's convention: ROUGE over characters (each
Han/kana/Hangul character one token, other words as rouge_score would keep them, lowercased), BLEU
with sacrebleu's ``zh`` tokenizer (WMT's Chinese convention) for Chinese and ``char`` for Japanese
and Korean (sacrebleu's ``ja-mecab``/``ko-mecab`` need MeCab, not installed). String similarity
(Levenshtein) already works on characters and is left as Ragas has it.

Usage:
    metric = LanguageRouge(rouge_type="rougeL", mode="fmeasure")
    (await metric.ascore(reference="熊猫吃竹子", response="熊猫吃竹子")).value   # 1.0
"""

from __future__ import annotations

import regex

_CJK = regex.compile(r"\p{Han}|\p{Hiragana}|\p{Katakana}|\p{Hangul}")
_KANA_HANGUL = regex.compile(r"\p{Hiragana}|\p{Katakana}|\p{Hangul}")
# one token per CJK character, else runs of letters/digits (rouge_score keeps [a-z0-9] runs)
_TOKEN = regex.compile(r"\p{Han}|\p{Hiragana}|\p{Katakana}|\p{Hangul}|[\p{L}\p{N}]+")


def has_cjk(*texts: str) -> bool:
    return any(_CJK.search(t or "") for t in texts)


class CJKTokenizer:
    """rouge_score's tokenizer interface (``tokenize(text) -> list[str]``): a token per CJK character.

    Usage:
        CJKTokenizer().tokenize("熊猫 eats 竹子")  # ['熊', '猫', 'eats', '竹', '子']
    """

    def tokenize(self, text: str) -> list[str]:
        return _TOKEN.findall((text or "").lower())


def bleu_tokenize(reference: str, response: str) -> str:
    """The sacrebleu tokenizer for this pair: "zh" (Han), "char" (kana or Hangul), "13a" (the default)."""
    if _KANA_HANGUL.search(reference or "") or _KANA_HANGUL.search(response or ""):
        return "char"
    return "zh" if has_cjk(reference, response) else "13a"


def _collections():
    import ragas.metrics.collections as rc  # imported when a metric is built: Ragas takes seconds to import

    return rc


def LanguageRouge(**kwargs):  # noqa: N802 (a class factory: Ragas is imported only when a metric is built)
    """Ragas' RougeScore, with the CJK tokenizer when the reference or the response has CJK text."""
    rc = _collections()

    class _LanguageRouge(rc.RougeScore):
        async def ascore(self, reference: str, response: str):
            if not has_cjk(reference, response):
                return await super().ascore(reference=reference, response=response)
            from ragas.metrics.result import MetricResult
            from rouge_score import rouge_scorer

            scorer = rouge_scorer.RougeScorer([self.rouge_type], tokenizer=CJKTokenizer())
            return MetricResult(value=float(getattr(scorer.score(reference, response)[self.rouge_type], self.mode)))

    return _LanguageRouge(**kwargs)


def LanguageBleu(**kwargs):  # noqa: N802
    """Ragas' BleuScore, with sacrebleu's tokenizer chosen for the text's script (``bleu_tokenize``)."""
    rc = _collections()

    class _LanguageBleu(rc.BleuScore):
        async def ascore(self, reference: str, response: str):
            tok = bleu_tokenize(reference, response)
            self.kwargs = {**self.kwargs, "tokenize": tok} if tok != "13a" else {
                k: v for k, v in self.kwargs.items() if k != "tokenize"}
            return await super().ascore(reference=reference, response=response)

    return _LanguageBleu(**kwargs)
