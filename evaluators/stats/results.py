"""The typed results of comparing models on the same questions (``compare_models``): one summary per model,
one paired comparison per pair, and the whole result with its best model, tied group and notes.

Usage:
    res = compare_models({"a": [...], "b": [...]})   # evaluators.stats.significance
    res.to_frame(); res.pairs_frame(); res.pair("a", "b")
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace


@dataclass(frozen=True)
class ModelSummary:
    """One model's mean score with its bootstrap CI over its n non-NaN queries, of ``total`` asked."""

    model: str
    mean: float
    low: float
    high: float
    n: int
    total: int = 0   # questions in the comparison (every model's, union): n / total is the coverage


@dataclass(frozen=True)
class PairComparison:
    """model_a minus model_b on their n common (non-NaN) queries. ``low``/``high`` invert the same sign-flip
    test at this pair's Holm level (``confidence``), so ``significant`` ⇔ the interval excludes 0."""

    model_a: str
    model_b: str
    n: int
    diff: float
    low: float
    high: float
    p_value: float
    p_adjusted: float
    confidence: float = 0.95
    significant: bool = False


_FRAME_NAMES = {"low": "ci_low", "high": "ci_high", "p_adjusted": "p_holm"}


_MODEL_COLUMNS = ["model", "mean", "low", "high", "n"]


_PAIR_COLUMNS = ["model_a", "model_b", "n", "diff", "low", "high", "p_value", "p_adjusted"]


@dataclass(frozen=True)
class ComparisonResult:
    """Output of :func:`compare_models`; ``to_frame``/``pairs_frame`` for display.

    ``no_signal`` says why no model is best (every score equal, every model failed); ``low_coverage``
    are the models scored on fewer questions than the best-covered ones: never ranked on what survived."""

    models: list[ModelSummary]
    pairs: list[PairComparison]
    best: str | None
    tied_with_best: frozenset[str]
    alpha: float
    notes: list[str] = field(default_factory=list)
    no_signal: str | None = None
    low_coverage: frozenset[str] = frozenset()

    def pair(self, model_a: str, model_b: str) -> PairComparison:
        """The comparison of a vs b, sign-flipped if it was computed as b vs a."""
        for p in self.pairs:
            if (p.model_a, p.model_b) == (model_a, model_b):
                return p
            if (p.model_a, p.model_b) == (model_b, model_a):
                flipped = {"diff": -p.diff, "low": -p.high, "high": -p.low}
                return replace(p, model_a=model_a, model_b=model_b, **flipped)
        raise KeyError((model_a, model_b))

    def to_frame(self):
        """Per-model table, best first: mean, ci_low, ci_high, n, best, tied_with_best."""
        import pandas as pd

        frame = pd.DataFrame([asdict(s) for s in self.models], columns=list(ModelSummary.__annotations__))
        frame = frame[_MODEL_COLUMNS].rename(columns=_FRAME_NAMES)
        frame["best"] = frame["model"] == self.best
        frame["tied_with_best"] = frame["model"].isin(self.tied_with_best)
        frame = frame.sort_values("mean", ascending=False, kind="stable")
        return frame.reset_index(drop=True)

    def pairs_frame(self):
        """One row per pair: model_a, model_b, n, diff (a - b), ci_low, ci_high (the test inverted at the
        pair's Holm level), p_value (raw), p_holm, significant (p_holm < alpha: the interval excludes 0)."""
        import pandas as pd

        frame = pd.DataFrame([asdict(p) for p in self.pairs], columns=list(PairComparison.__annotations__))
        significant = frame["significant"].astype(bool)
        frame = frame[_PAIR_COLUMNS].rename(columns=_FRAME_NAMES)
        frame["significant"] = significant
        return frame
