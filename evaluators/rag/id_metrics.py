"""Context precision / recall by document id: the definitions of Ragas 0.4.3's ID-based metrics.

Ragas 0.4.3 has ``IDBasedContextPrecision`` / ``IDBasedContextRecall`` only as private names
(``ragas.metrics._IDBasedContextPrecision``), so product code does not import them: the same
definitions are here, and tests/rag/test_ragas_eval.py checks them against Ragas' classes row by row.
Both compare unique ids as strings; neither is rank-aware.

Usage:
    id_context_precision(["java", "c", "go"], ["java", "python"])   # 1/3
    id_context_recall(["java", "c", "go"], ["java", "python"])      # 1/2
"""

from __future__ import annotations

import math
from collections.abc import Callable


def id_context_precision(retrieved_ids, reference_ids) -> float:
    """Share of the unique retrieved ids that are relevant (NaN when nothing was retrieved): the definition
    of Ragas 0.4.3 ``IDBasedContextPrecision`` (set-based, not rank-aware; ids compared as strings)."""
    retrieved, reference = {str(i) for i in retrieved_ids}, {str(i) for i in reference_ids}
    return sum(1 for i in retrieved if i in reference) / len(retrieved) if retrieved else math.nan


def id_context_recall(retrieved_ids, reference_ids) -> float:
    """Share of the unique relevant ids that were retrieved (NaN without relevant ids): Ragas 0.4.3
    ``IDBasedContextRecall``."""
    retrieved, reference = {str(i) for i in retrieved_ids}, {str(i) for i in reference_ids}
    return sum(1 for i in reference if i in retrieved) / len(reference) if reference else math.nan


class IdMetric:
    """A non-LLM metric over the id columns, with the call the collections metrics have (``ascore``).

    Usage:
        await IdMetric(id_context_recall).ascore(retrieved_context_ids=["java"], reference_context_ids=["java"])
    """

    def __init__(self, fn: Callable[[list, list], float]):
        self.fn = fn

    async def ascore(self, retrieved_context_ids=None, reference_context_ids=None) -> float:
        return self.fn(retrieved_context_ids or [], reference_context_ids or [])
