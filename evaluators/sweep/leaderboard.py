"""Who wins a sweep, honestly: a leaderboard with significance groups, wins/losses, the minimum
detectable difference and the quality–latency–cost frontier.

Why letters: with a dozen setups and a few dozen queries many setups are statistically tied; a plain
ranking hides that. Every pair is tested (``evaluators.stats.significance.compare_models``: paired
permutation test, Holm over all pairs) and the result is drawn as a *compact letter display*: setups
that share a letter are not distinguishable on these queries. The letters come from Piepho's
insert-and-absorb algorithm (2004, "An algorithm for a letter-based representation of all-pairwise
comparisons"): start with one group holding every setup; for each significant pair, split every group
holding both into two (one without each), then absorb groups contained in another; letters are given
in order of each group's best setup. The minimum detectable difference is the paired normal
approximation (``min_detectable_difference``) against the best, a hint of how small a gap these
queries could see at all.

The leaderboard's metric is a base name (``ndcg``): each setup is scored at its own k (``ndcg@5`` for
a k=5 setup). ``ndcg@10`` ranks only the setups searched at k = 10.

The frontier (``evaluators.stats.pareto.pareto_flags``): a setup is off it when another is at least as good
on quality, p95 latency and cost per 1,000 queries and strictly better on one. An axis on which every
setup is equal (a sweep of free local models costs $0 everywhere) therefore decides nothing: the frontier
is then the quality–latency one, not every setup. Setups equal on all three axes are both on it.

Usage:
    board = leaderboard(result.setups, "ndcg")
    board.rows[0]["setup"], board.rows[0]["letters"]        # "hybrid | whole | rrf:60 | k10", "a"
    compact_letters(["A", "B", "C"], {("A", "C"): 0.01}, alpha=0.05)   # {"A": "a", "B": "ab", "C": "b"}
"""

from __future__ import annotations

import math
import string
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

import pandas as pd

from evaluators.formatting import DASH, display_frame, is_missing, missing
from evaluators.retrieval.metrics import METRICS
from evaluators.stats.pareto import pareto_flags
from evaluators.stats.power import min_detectable_difference
from evaluators.stats.significance import compare_models
from rag.i18n import N_, _, tidy

N_RESAMPLES = 10000


def _letter(i: int) -> str:
    """a..z, then aa, ab, ... (a sweep can have more than 26 groups)."""
    letters = string.ascii_lowercase
    return letters[i] if i < 26 else _letter(i // 26 - 1) + letters[i % 26]


def compact_letters(ordered: Sequence[str], p_adjusted: Mapping[tuple[str, str], float],
                    alpha: float = 0.05) -> dict[str, str]:
    """Letters per name (``ordered`` best first) from adjusted p-values of pairs (either order; a
    missing or NaN pair is not significant): two names share a letter iff they are not shown different."""
    groups: list[set[str]] = [set(ordered)]
    for (a, b), p in p_adjusted.items():
        if p is None or math.isnan(p) or p >= alpha:
            continue
        split: list[set[str]] = []
        for g in groups:  # insert: a group holding both becomes one without each
            split += [g - {b}, g - {a}] if a in g and b in g else [g]
        groups = []
        for g in split:  # absorb: drop a group contained in another (or a copy of one kept already)
            if g and not any(g < h for h in split) and g not in groups:
                groups.append(g)
    pos = {n: i for i, n in enumerate(ordered)}
    groups.sort(key=lambda g: sorted(pos[n] for n in g))
    return {n: "".join(_letter(i) for i, g in enumerate(groups) if n in g) for n in ordered}


@dataclass
class Leaderboard:
    metric: str
    rows: list[dict]                     # best first: setup, metric, mean, ci, letters, wins/losses, latency, pareto
    best: str | None
    n_queries: int
    mdd: float | None                    # median minimum detectable difference against the best
    alpha: float = 0.05
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return asdict(self)

    def frame(self) -> pd.DataFrame:
        cols = [N_("rank"), N_("letters"), N_("setup"), N_("mean"), N_("ci_low"), N_("ci_high"), N_("wins"),
                N_("losses"), N_("ties"), N_("p_holm"), N_("mdd"), N_("p50_ms"), N_("p95_ms"), N_("cost_per_1k"),
                N_("pareto"), N_("cost_basis")]  # catalog keys: the report reads the headers in its language
        if self.has_asr:  # speech to text is part of the setup: its WER beside the score
            cols.insert(cols.index("ci_high") + 1, N_("wer"))
        return pd.DataFrame(self.rows, columns=cols)

    @property
    def has_asr(self) -> bool:
        """Some setup transcribed the sounds (an ``asr`` part): the table shows each one's WER."""
        return any(r.get("asr") for r in self.rows)

    def display(self) -> pd.DataFrame:
        """The table as people read it (``evaluators.formatting``): scores with 3 decimals, ms as integers,
        dollars per 1,000 queries, p-values ``<0.001``; the best setup's p_holm reads "best" and its mdd
        "—" (nothing to compare it with); a run recorded before costs were reads "— not recorded"."""
        frame = self.frame()
        best = frame["setup"] == self.best
        frame["p_holm"] = frame["p_holm"].astype(object).where(~best, _("best"))
        frame["mdd"] = frame["mdd"].astype(object).where(~best, DASH)
        frame["pareto"] = frame["pareto"].map({True: _("★ yes"), False: _("no")})
        frame["cost_basis"] = frame["cost_basis"].map(lambda b: _(b) if isinstance(b, str) and b else b)
        if self.has_asr:
            frame["wer"] = [f"{r['wer']:.1%}" if r.get("wer") is not None else
                            _("— not measured (no transcripts.jsonl)") if r.get("asr") else _("— no speech to text")
                            for r in self.rows]
        return display_frame(frame, {"cost_per_1k": N_("not recorded"), "cost_basis": N_("not recorded")},
                             formats={"p_holm": _fmt_p})

    def sentences(self) -> list[str]:
        if self.best is None:
            return [_("No setup was scored on {metric}.").format(metric=self.metric)]
        tied = [r["setup"] for r in self.rows if r["tied_with_best"] and r["setup"] != self.best]
        front = [r["setup"] for r in self.rows if r["pareto"]]
        out = [_("Best on {metric}: {setup} ({mean}); {rest}").format(
            metric=self.metric, setup=self.best, mean=f"{self.rows[0]['mean']:.3f}",
            rest=_("{n} setup(s) are not distinguishable from it on these {queries} queries (they share its "
                   "letter).").format(n=len(tied), queries=self.n_queries) if tied else
            _("every other setup is significantly worse (Holm)."))]
        if self.mdd is not None:
            out.append(_("With {n} queries, differences below about {mdd} are unlikely to be detected (80% power, "
                         "α 0.05, median over setups against the best).").format(n=self.n_queries,
                                                                                 mdd=f"{self.mdd:.3f}"))
        out.append(_("Quality–latency–cost frontier (no other setup at least as good on quality, p95 latency and "
                     "cost per 1,000 queries and better on one): {setups}.").format(setups=", ".join(front)))
        return [tidy(line) for line in out]

    def cost_lines(self) -> list[str]:
        """What the costs rest on, one line per distinct basis: ``cost of SETUP, SETUP: <basis>``."""
        by_basis: dict[str, list[str]] = {}
        for r in self.rows:
            if r.get("cost_basis"):
                by_basis.setdefault(r["cost_basis"], []).append(r["setup"])
        return [_("cost of {setups}: {basis}").format(setups=", ".join(setups), basis=_(basis))
                for basis, setups in by_basis.items()]


def _speech(record: dict | None) -> dict:
    """A row's ASR part: the model as given and its word error rate (None when no transcripts.jsonl)."""
    return {"asr": record.get("spec") or record.get("model"), "wer": record.get("wer")} if record else {}


def _fmt_p(v, reason=None) -> str:
    if is_missing(v):
        return missing(reason)
    return "<0.001" if float(v) < 0.001 else f"{float(v):.3f}"


def metric_at_k(metric: str, k: int) -> str | None:
    base, _sep, at = metric.partition("@")
    if base not in METRICS:
        raise ValueError(_("metric {metric}: choose one of {metrics} (optionally @k)").format(
            metric=repr(metric), metrics=", ".join(METRICS)))
    return f"{base}@{k}" if not at or at == str(k) else None


def leaderboard(results: list, metric: str = "ndcg", alpha: float = 0.05, n_resamples: int = N_RESAMPLES,
                seed: int = 0) -> Leaderboard:
    """Rank ``SetupResult``s (``evaluators.sweep.run``) on ``metric`` with letters, wins/losses and latency."""
    scored = {r.setup.id: (r, name) for r in results if (name := metric_at_k(metric, r.setup.k))}
    scores = {sid: {q: v[name] for q, v in r.per_query.items()} for sid, (r, name) in scored.items()}
    if not scores:
        return Leaderboard(metric, [], None, 0, None, alpha,
                           [_("no setup was searched at {metric}'s k").format(metric=metric)])
    cmp = compare_models(scores, alpha=alpha, n_resamples=n_resamples, seed=seed)
    summaries = sorted(cmp.models, key=lambda s: -s.mean if not math.isnan(s.mean) else math.inf)
    ordered = [s.model for s in summaries]
    letters = compact_letters(ordered, {(p.model_a, p.model_b): p.p_adjusted for p in cmp.pairs}, alpha)
    best = cmp.best
    rows, mdds = [], []
    for rank, s in enumerate(summaries, start=1):
        r, name = scored[s.model]
        mine, top = scores[s.model], scores[best]
        common = [q for q in mine if q in top]
        wins = sum(mine[q] > top[q] for q in common)
        losses = sum(mine[q] < top[q] for q in common)
        p = None if s.model == best else cmp.pair(s.model, best).p_adjusted
        try:
            mdd = None if s.model == best else min_detectable_difference([top[q] for q in common],
                                                                         [mine[q] for q in common], alpha=alpha)
        except ValueError:
            mdd = None
        if mdd is not None:
            mdds.append(mdd)
        rows.append({"rank": rank, "setup": s.model, "metric": name, "mean": s.mean, "ci_low": s.low,
                     "ci_high": s.high, "n": s.n, "letters": letters[s.model],
                     "tied_with_best": s.model in cmp.tied_with_best, "wins": wins, "losses": losses,
                     "ties": len(common) - wins - losses, "p_holm": p, "mdd": mdd,
                     "p50_ms": r.p50_ms, "p95_ms": r.p95_ms,
                     "cost_per_1k": getattr(r, "cost_per_1k", math.nan), "cost_basis": getattr(r, "cost_basis", ""),
                     **_speech(getattr(r, "asr", None))})
    frame = pd.DataFrame([{"quality": x["mean"], "p95_ms": x["p95_ms"], "cost_per_1k": x["cost_per_1k"]}
                          for x in rows])
    for x, flag in zip(rows, pareto_flags(frame, ("quality",), ("p95_ms", "cost_per_1k"))):
        x["pareto"] = bool(flag)
    mdd = float(pd.Series(mdds).median()) if mdds else None
    notes = list(cmp.notes)
    if len({r.setup.k for r, _ in scored.values()}) > 1:
        notes.append(_("setups are scored at their own k ({metric}@k): a k=5 and a k=10 setup answer different "
                       "questions; compare within one k for a like-for-like ranking").format(metric=metric))
    return Leaderboard(metric, rows, best, max(s.n for s in summaries), mdd, alpha, notes)


