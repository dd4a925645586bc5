"""Step 4: the shortlist evaluated on the user's data with the existing jobs, and public vs here.

Quality is the retrieval job (``run_retrieval``) and its one set of statistics (``run_stats``): the
mean, 95% bootstrap CI and tied group here are the numbers the Retrieval page, the report and the gate
show. RAG quality runs when an LLM is configured (the judged job, estimated first, under the brief's
spend cap), else it is skipped with the reason. Latency is a short bounded load test at the brief's
concurrency (``users`` × ``load_seconds`` per model) through the load-test service; a dataset the
service cannot load is said, never faked.

"Public benchmark vs your data": Kendall's τ between the candidates' public scores and their means
here (scipy), and every pair the two orders disagree on, with whether the difference here is
significant (Holm-adjusted p from the same statistics). Two candidates or fewer with both scores:
τ is not computed, and the record says why.

Usage:
    ev = evaluate(ds, brief, ["minilm", "bm25"], retriever, store, public={"minilm": 0.41, "bm25": 0.39})
    ev.quality["minilm"]            # {"mean": .., "ci_low": .., "ci_high": .., "n": ..}
    ev.p95_ms, ev.agreement["tau"], ev.agreement["swaps"]
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from flows.decide.brief import Brief
from rag.data.dataset import Dataset
from rag.i18n import _
from rag.runs import RunStore

LoadTest = Callable[[list[str], Dataset, Brief, dict], str]   # models, dataset, brief, index -> load run id
Say = Callable[[str, str, str], None]                        # step, status, detail


@dataclass
class Evaluation:
    metric: str
    retrieval_run: str | None = None
    rag_run: str | None = None
    load_run: str | None = None
    quality: dict[str, dict] = field(default_factory=dict)        # model -> mean, ci_low, ci_high, n
    best: str | None = None
    tied_with_best: list[str] = field(default_factory=list)
    p95_ms: dict[str, float | None] = field(default_factory=dict)
    rps: dict[str, float | None] = field(default_factory=dict)
    search_seconds: dict[str, float] = field(default_factory=dict)
    agreement: dict = field(default_factory=dict)
    steps: list[dict] = field(default_factory=list)                # {step, status, reason, run_id, seconds}
    comparison: object | None = field(default=None, repr=False)    # the MetricComparison (not serialised)

    def to_json(self) -> dict:
        return {"metric": self.metric, "runs": {"retrieval": self.retrieval_run, "rag": self.rag_run,
                                                "load": self.load_run},
                "quality": self.quality, "best": self.best, "tied_with_best": self.tied_with_best,
                "p95_ms": self.p95_ms, "rps": self.rps, "agreement": self.agreement, "steps": self.steps}

    def significant(self, a: str, b: str) -> bool | None:
        """Whether a and b differ significantly here (Holm-adjusted), None when not compared."""
        cmp = self.comparison
        if cmp is None:
            return None
        try:
            p = cmp.result.pair(a, b)
        except KeyError:
            return None
        return bool(p.p_adjusted < cmp.result.alpha)


def rank_agreement(public: dict[str, float], here: dict[str, float], significant=None) -> dict:
    """Kendall's τ between public and here over the models with both, and the pairs that swap."""
    both = [m for m in public if m in here and here[m] is not None and not math.isnan(here[m])]
    out = {"n": len(both), "models": both, "tau": None, "p_value": None, "swaps": []}
    for i, a in enumerate(both):
        for b in both[i + 1:]:
            if (public[a] - public[b]) * (here[a] - here[b]) < 0:
                hi, lo = (a, b) if public[a] > public[b] else (b, a)
                out["swaps"].append({"public_higher": hi, "here_higher": lo,
                                     "significant_here": significant(lo, hi) if significant else None})
    if len(both) < 3:
        out["note"] = _("{n} candidate(s) have a public score and one here: τ needs at least 3").format(n=len(both))
        return out
    from scipy.stats import kendalltau

    res = kendalltau([public[m] for m in both], [here[m] for m in both])
    out["tau"] = None if math.isnan(res.statistic) else round(float(res.statistic), 4)
    out["p_value"] = None if math.isnan(res.pvalue) else round(float(res.pvalue), 4)
    verdict = (_("the public ranking predicts yours") if (out["tau"] or 0) >= 0.7 else
               _("the public ranking is a poor guide on your data") if out["tau"] is not None else _("undefined"))
    out["note"] = _("τ = {tau} over {n} models: {verdict}").format(tau=out["tau"], n=len(both), verdict=verdict)
    return out


def default_load_test(models: list[str], ds: Dataset, brief: Brief, index: dict) -> str:
    """A bounded load test at the brief's concurrency through a service started for it."""
    from loadtests.config import LoadConfig
    from loadtests.runner import dataset_spec, run_load_test

    spec = dataset_spec(ds)
    if spec is None:
        raise ValueError(_("the load-test service loads the sample or a BEIR folder/zip; {dataset} is neither, so "
                           "latency was not measured").format(dataset=ds.source or ds.name))
    cfg = LoadConfig(models=models, users=brief.users, spawn_rate=float(min(brief.users, 100)),
                     duration=brief.load_seconds, k=brief.k, dataset=spec, index_type=index["index_type"],
                     metric=index["metric"], index_params=index["params"])
    return run_load_test(cfg).run_id


def _reason(e: Exception) -> str:
    text = (getattr(e, "message", None) or str(e) or type(e).__name__).strip()
    return text.splitlines()[0][:400] if text else type(e).__name__


def evaluate(ds: Dataset, brief: Brief, models: list[str], retriever, store: RunStore | None = None,
             public: dict[str, float] | None = None, load_test: LoadTest | None = None, say: Say | None = None,
             settings=None, reuse: dict[str, str] | None = None) -> Evaluation:
    """Step 4 on ``models`` (the kept candidates); each job's failure is recorded, the others still run.

    ``reuse`` ({"rag": run id, "load": run id}) takes those jobs' runs as they are instead of running
    them again (the one-click demo has just run both on the same data); the record cites them. A brief
    without a latency SLO (``p95_ms`` None, ``--no-load``) skips the load test, said in the steps."""
    reuse = reuse or {}
    from evaluators.retrieval.evaluate import run_retrieval
    from evaluators.stats.run_stats import run_stats

    store = store or RunStore.default()
    say = say or (lambda step, status, detail: None)
    ev = Evaluation(brief.metric_name)

    def step(name: str, fn) -> None:
        say(name, "running", "")
        t = time.perf_counter()
        rec = {"step": name, "status": "done", "reason": "", "run_id": None}
        try:
            rec["run_id"] = fn()
        except Exception as e:  # recorded with its reason; the other jobs still run
            rec["status"], rec["reason"] = "failed", _reason(e)
        rec["seconds"] = round(time.perf_counter() - t, 2)
        ev.steps.append(rec)
        say(name, rec["status"], rec["reason"] or (rec["run_id"] or ""))

    def retrieval():
        res = run_retrieval(retriever, ds, models, k=brief.k, store=store)
        ev.retrieval_run, ev.search_seconds = res.run_id, res.search_seconds
        cmp = run_stats(store, res.run_id).get(brief.metric_name)
        ev.comparison = cmp
        for s in cmp.result.models:
            ev.quality[s.model] = {"metric": cmp.metric, "mean": s.mean, "ci_low": s.low, "ci_high": s.high, "n": s.n}
        ev.best, ev.tied_with_best = cmp.result.best, sorted(cmp.result.tied_with_best)
        return res.run_id

    def rag():
        from evaluators.rag.job import run_rag
        from flows.judged import judged_config, llm_configured

        ok, why = llm_configured(settings)
        if not ok:
            ev.steps.append({"step": "rag", "status": "skipped", "reason": _(why), "run_id": None, "seconds": 0})
            return None
        cfg = judged_config(models, brief.k, brief.spend_cap_usd, index=retriever.index_config.to_json())
        r = run_rag(ds, cfg, retriever=retriever, store=store, settings=settings)
        ev.rag_run = r.run_id
        return r.run_id

    def load():
        run_id = reuse.get("load") or (load_test or default_load_test)(models, ds, brief,
                                                                        retriever.index_config.to_json())
        ev.load_run = run_id
        for m, r in (store.get(run_id).summary.get("results") or {}).items():
            ev.p95_ms[m], ev.rps[m] = r.get("p95_ms"), r.get("rps")
        return run_id

    step("retrieval", retrieval)
    if ev.retrieval_run is None:
        return ev
    from flows.judged import llm_configured

    ok, why = llm_configured(settings)
    if reuse.get("rag"):
        ev.rag_run = reuse["rag"]
        ev.steps.append({"step": "rag", "status": "done", "reason": "", "run_id": ev.rag_run, "seconds": 0.0})
    elif ok:
        step("rag", rag)
    else:
        ev.steps.append({"step": "rag", "status": "skipped", "reason": _(why), "run_id": None, "seconds": 0.0})
    if brief.p95_ms is not None:
        step("load", load)
    else:
        ev.steps.append({"step": "load", "status": "skipped",
                         "reason": _("the brief sets no latency SLO (no load test)"), "run_id": None, "seconds": 0.0})
    here = {m: q["mean"] for m, q in ev.quality.items()}
    ev.agreement = rank_agreement(public or {}, here, ev.significant)
    return ev
