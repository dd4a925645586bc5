"""Agreement statistics between a judge and the user's qrels (and between two judges): Cohen's κ with a
question-resampling CI, verdicts per context, recall by id, Spearman's ρ.

Below ``reliability`` and ``second`` so both judges use the same definitions.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from rag.i18n import N_, _

N_RESAMPLES = 2000


PRECISION_STEP = "ContextPrecision"   # the judge's per-context step (ContextPrecisionOutput, one per context)


STRENGTH = [(0.0, N_("no agreement beyond chance")), (0.2, N_("slight agreement")), (0.4, N_("fair agreement")),
            (0.6, N_("moderate agreement")), (0.8, N_("substantial agreement")),
            (1.01, N_("almost perfect agreement"))]   # Landis & Koch (1977), upper bounds


def cohen_kappa(tp: float, fp: float, fn: float, tn: float) -> float:
    """Cohen's κ of a 2×2 table (judge 1/0 × qrels 1/0); NaN when chance agreement is already 1."""
    n = tp + fp + fn + tn
    if n == 0:
        return math.nan
    po = (tp + tn) / n
    pe = ((tp + fp) * (tp + fn) + (fn + tn) * (fp + tn)) / n ** 2
    return math.nan if pe >= 1 else (po - pe) / (1 - pe)


def strength(kappa: float) -> str:
    """Landis & Koch's word for ``kappa``, in the reader's language."""
    if kappa <= 0:
        return _(STRENGTH[0][1])
    return next(_(words) for bound, words in STRENGTH[1:] if kappa <= bound)


@dataclass
class Agreement:
    """The judge's context verdicts against the qrels: counts, and κ's bootstrap CI over questions."""
    tp: int           # judge useful, qrels relevant
    fp: int           # judge useful, qrels not relevant
    fn: int           # judge not useful, qrels relevant
    tn: int           # judge not useful, qrels not relevant
    questions: int
    rows: int
    kappa_low: float | None = None
    kappa_high: float | None = None

    @property
    def n(self) -> int:
        return self.tp + self.fp + self.fn + self.tn

    @property
    def accuracy(self) -> float:
        return (self.tp + self.tn) / self.n if self.n else math.nan

    @property
    def kappa(self) -> float:
        return cohen_kappa(self.tp, self.fp, self.fn, self.tn)

    def to_json(self) -> dict:
        return {**asdict(self), "n": self.n, "accuracy": _num(self.accuracy), "kappa": _num(self.kappa),
                "confusion": [[self.tp, self.fp], [self.fn, self.tn]]}


@dataclass
class RecallCorrelation:
    """Judged context recall against recall by id, per row."""
    spearman: float | None
    n: int


def _num(v: float) -> float | None:
    return None if v is None or math.isnan(v) else float(v)


def finite(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def precision_verdicts(row: dict) -> list[int] | None:
    """The judge's useful (1) / not useful (0) verdict per retrieved context, or None when the row has
    no complete set (context precision not run, failed, or its trace does not match the contexts)."""
    if "context_precision" in (row.get("errors") or {}):
        return None
    steps = [s for s in (row.get("reasons") or {}).get("context_precision") or [] if s.get("step") == PRECISION_STEP]
    ids = row.get("retrieved_ids") or []
    if not steps or len(steps) != len(ids):
        return None
    return [int(s["verdict"]) for s in steps]


def relevant_ids(row: dict) -> set[str] | None:
    rel = row.get("relevant_ids")
    return set(rel) if rel else None


def _counts(rows: list[dict]) -> dict[str, np.ndarray]:
    """Per question id: [tp, fp, fn, tn] summed over the question's rows (every model)."""
    out: dict[str, np.ndarray] = {}
    for r in rows:
        verdicts, rel = precision_verdicts(r), relevant_ids(r)
        if verdicts is None or rel is None:
            continue
        c = out.setdefault(r.get("question_id") or r["item_id"], np.zeros(4, dtype=int))
        for doc, judged in zip(r["retrieved_ids"], verdicts):
            c[(0 if judged else 2) + (0 if doc in rel else 1)] += 1
    return out


def agreement(rows: list[dict], seed: int = 0, n_resamples: int = N_RESAMPLES) -> Agreement | None:
    """The confusion matrix over every judged context with qrels, κ's 95 % CI resampling questions."""
    per_q = _counts(rows)
    if not per_q:
        return None
    table = np.array([per_q[q] for q in sorted(per_q)])   # in question order whatever the rows' order
    tp, fp, fn, tn = (int(v) for v in table.sum(axis=0))
    used = sum(1 for r in rows if precision_verdicts(r) is not None and relevant_ids(r) is not None)
    rng = np.random.default_rng(seed)
    sums = table[rng.integers(0, len(table), size=(n_resamples, len(table)))].sum(axis=1)
    kappas = np.array([cohen_kappa(*s) for s in sums], dtype=float)
    kappas = kappas[~np.isnan(kappas)]
    low, high = (float(np.percentile(kappas, 2.5)), float(np.percentile(kappas, 97.5))) if kappas.size else (None, None)
    return Agreement(tp, fp, fn, tn, len(per_q), used, low, high)


def id_recall(row: dict) -> float | None:
    """The row's recall by qrels id: its stored by-id ``nonllm_context_recall``, else computed from the ids."""
    stored = (row.get("scores") or {}).get("nonllm_context_recall")
    if (row.get("variants") or {}).get("nonllm_context_recall") == "by id" and finite(stored):
        return float(stored)
    rel = relevant_ids(row)
    return len(rel & set(row.get("retrieved_ids") or [])) / len(rel) if rel else None


def spearman(x: list[float], y: list[float]) -> float | None:
    """Spearman's ρ (Pearson on average ranks); None below 3 pairs or when either side is constant."""
    from scipy.stats import rankdata

    if len(x) < 3 or len(set(x)) < 2 or len(set(y)) < 2:
        return None
    return float(np.corrcoef(rankdata(x), rankdata(y))[0, 1])


def recall_correlation(rows: list[dict]) -> RecallCorrelation | None:
    pairs = [(float(j), i) for r in rows if finite(j := (r.get("scores") or {}).get("context_recall"))
             and (i := id_recall(r)) is not None]
    if not pairs:
        return None
    return RecallCorrelation(spearman([p[0] for p in pairs], [p[1] for p in pairs]), len(pairs))
