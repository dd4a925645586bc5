"""How a metric's name and a p-value read in tables and sentences: one place for every reader."""

from __future__ import annotations

import math

from rag.i18n import _, pgettext

_LABELS = {"ndcg": "nDCG", "mrr": "MRR", "map": "MAP", "precision": "Precision", "recall": "Recall",
           "hit": "Hit"}


def metric_label(name: str) -> str:
    """``ndcg@10`` → ``nDCG@10``, ``faithfulness`` → ``Faithfulness``."""
    from evaluators.rag.metrics import METRICS  # the Ragas metrics' display names (Ragas itself not loaded)

    spec = METRICS.get(name)
    if spec is not None:
        return spec.label
    base, at, k = name.partition("@")
    return _LABELS.get(base.lower(), base.replace("_", " ").capitalize() if not at else base) + at + k


def metric_glosses() -> dict[str, str]:
    """Each metric abbreviation's gloss in the current language (the abbreviation itself where the language
    needs none: English). Built per call so it follows the language of the caller's thread."""
    return {"nDCG": pgettext("metric gloss", "nDCG"), "MRR": pgettext("metric gloss", "MRR"),
            "MAP": pgettext("metric gloss", "MAP"), "Precision": pgettext("metric gloss", "Precision"),
            "Recall": pgettext("metric gloss", "Recall"), "Hit": pgettext("metric gloss", "Hit"),
            "ROUGE-L": pgettext("metric gloss", "ROUGE-L"), "BLEU": pgettext("metric gloss", "BLEU"),
            # Ragas' metrics keep Ragas' names (what its docs and papers call them), glossed like the rest
            "Faithfulness": pgettext("metric gloss", "Faithfulness"),
            "Answer relevancy": pgettext("metric gloss", "Answer relevancy"),
            "Context precision": pgettext("metric gloss", "Context precision"),
            "Context recall": pgettext("metric gloss", "Context recall")}


def glossed(label: str) -> str:
    """``nDCG@10`` as a sentence names it: the standard abbreviation kept, a gloss after it where the reader's
    language has one (``nDCG@10（归一化折损累计增益）``); English: the label unchanged."""
    gloss = metric_glosses().get(label.partition("@")[0])
    return label if not gloss or gloss == label.partition("@")[0] else _("{label} ({gloss})").format(
        label=label, gloss=gloss)


def fmt_p(p: float) -> str:
    if p is None or math.isnan(p):
        return "p = n/a"
    if p < 0.001:
        return "p < 0.001"
    return f"p = {p:.3f}" if p < 0.01 else f"p = {p:.2f}"
