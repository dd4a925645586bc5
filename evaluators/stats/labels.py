"""How a metric's name and a p-value read in tables and sentences: one place for every reader."""

from __future__ import annotations

import math

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


def fmt_p(p: float) -> str:
    if p is None or math.isnan(p):
        return "p = n/a"
    if p < 0.001:
        return "p < 0.001"
    return f"p = {p:.3f}" if p < 0.01 else f"p = {p:.2f}"
