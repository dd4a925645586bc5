"""The one-click demo: the whole workbench on the built-in sample, one step after another.

A stakeholder demo used to be six pages of clicks in the right order. ``run_demo`` does them in
sequence: index minilm, bm25 and hybrid (each reused when already built), compare them, run the
offline RAG quality job (extractive answers, the non-LLM Ragas metrics), with an LLM configured the
judged metrics too (LLM answers and judge, after an estimate, under a spend cap), a short bounded load
test per model, the Decide flow over those runs (a decision record) and the report over every run that
finished (with the Decision section).

Why every step is independent: a demo that dies on its third step shows nothing. A step that fails is
recorded with its reason and the steps that can still run do (a model that cannot be indexed is left
out of the comparison, RAG job and load test; the report covers the runs that exist). Each step names
the page that shows its result, so the Data page can link to it and the CLI can print it.

The load test lives in ``loadtests`` (which starts processes); it is imported only when the load
step runs, and the step is a parameter (``load_test=``) so a caller can run it differently.

Usage:
    with Retriever() as wb:
        result = run_demo(load_sample(), wb, RunStore.default(), progress=lambda steps, step: print(step.line()))
    result.ok, result.run_ids, result.report_html
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace

from flows import judged
from flows.judged import NO_LLM, llm_configured  # noqa: F401  (NO_LLM: re-exported for callers and tests)
from rag.data.dataset import Dataset
from rag.i18n import N_, _, language
from rag.runs import RunStore

PENDING, RUNNING, DONE, FAILED, SKIPPED = "pending", "running", "done", "failed", "skipped"
STATUSES = (N_("pending"), N_("running"), N_("done"), N_("failed"), N_("skipped"))  # shown with _() in a reason
ICONS = {PENDING: "⏸️", RUNNING: "⏳", DONE: "✅", FAILED: "❌", SKIPPED: "⏭️"}
DEMO_MODELS = ("minilm", "bm25", "hybrid")
# the index stages rag.retrieval reports (``progress(model, stage, done, total)``), shown with _() in a step's detail
STAGES = (N_("download"), N_("frames"), N_("embed"), N_("insert"))
PAGES = {"index": "pages/2_Index.py", "retrieval": "pages/3_Retrieval.py", "rag": "pages/4_RAG_quality.py",
         "load": "pages/5_Load_test.py", "decide": "pages/0_Decide.py", "report": "pages/6_History.py"}


@dataclass
class DemoStep:
    key: str                       # index:minilm, retrieval, rag, rag_judged, load, report
    title: str
    page: str                      # the page that shows this step's result (pages/…)
    status: str = PENDING
    reason: str = ""               # why it failed or was skipped
    detail: str = ""               # what it did (or is doing): "built 31 docs in 2.1 s", "12/48 rows"
    run_id: str | None = None
    seconds: float = 0.0

    def line(self) -> str:
        text = f"{ICONS[self.status]} {self.title}"
        if self.run_id:
            text += " · " + _("run {run}").format(run=self.run_id)
        if self.detail:
            text += f" · {self.detail}"
        if self.reason:
            text += f" · {self.reason}"
        return text

    def to_json(self) -> dict:
        return asdict(self)


@dataclass
class DemoOptions:
    models: tuple[str, ...] = DEMO_MODELS
    k: int = 4                       # the sample has 31 documents: the article's top 4
    load_users: int = 2              # bounded: 2 users × 3 s per model, about 10 s of load in all
    load_seconds: int = 3
    spend_cap_usd: float = 0.5       # the judged step stops scheduling rows once this is spent
    judged: bool | None = None       # None: when an LLM is configured
    llm: str = "openai"              # generator and judge of the judged step (its base URL from the settings)
    settings: object | None = None   # whose keys the judged step uses (a browser session's); None: app-wide
    lang: str | None = None          # the decision record's and the report's language (None: the caller's)


@dataclass
class DemoResult:
    steps: list[DemoStep]
    report_html: str | None = None
    retrieval: object | None = None  # the RetrievalResult, for the Retrieval page
    decision: dict | None = None     # the decision record, for the Decide page

    @property
    def ok(self) -> bool:
        return all(s.status in (DONE, SKIPPED) for s in self.steps)

    @property
    def run_ids(self) -> dict[str, str]:
        return {s.key: s.run_id for s in self.steps if s.run_id}

    def to_json(self) -> dict:
        return {"ok": self.ok, "run_ids": self.run_ids, "steps": [s.to_json() for s in self.steps]}


Progress = Callable[[list[DemoStep], DemoStep], None]
LoadTest = Callable[[list[str], dict, DemoOptions, Callable[[str], None]], str]  # models, index, opts, say -> run id


def judged_config(models: list[str], opts: DemoOptions, index: dict | None = None):
    return judged.judged_config(models, opts.k, opts.spend_cap_usd, opts.llm, index)


def judged_estimate(ds: Dataset, opts: DemoOptions) -> dict:
    """Calls, tokens and cost of the judged step before it runs (shown by the page and the CLI first)."""
    from evaluators.rag.config import questions_for
    from evaluators.rag.estimate import estimate_run

    cfg = judged_config(list(opts.models), opts)
    return estimate_run(questions_for(ds, cfg), ds, cfg).summary(cfg.price_table())


def plan(opts: DemoOptions) -> list[DemoStep]:
    """The steps, all pending (the judged step already skipped with the reason when no LLM is there)."""
    steps = [DemoStep(f"index:{m}", _("Index {model}").format(model=m), PAGES["index"]) for m in opts.models]
    steps += [DemoStep("retrieval", _("Retrieval comparison"), PAGES["retrieval"]),
              DemoStep("rag", _("RAG quality (offline: extractive answers, non-LLM metrics)"), PAGES["rag"])]
    judged = DemoStep("rag_judged", _("RAG quality (LLM answers, judged metrics)"), PAGES["rag"])
    ok, why = llm_configured(opts.settings)
    if opts.judged is False:
        judged.status, judged.reason = SKIPPED, _("turned off")
    elif not ok:
        judged.status, judged.reason = SKIPPED, _(why)
    steps += [judged, DemoStep("load", _("Load test ({users} users × {seconds} s per model)").format(
                                   users=opts.load_users, seconds=opts.load_seconds), PAGES["load"]),
              DemoStep("decide", _("Decide: the decision record"), PAGES["decide"]),
              DemoStep("report", _("Report"), PAGES["report"])]
    return steps


def default_load_test(models: list[str], index: dict, opts: DemoOptions, say: Callable[[str], None]) -> str:
    """One load run on the sample, the models one after another, through a service started for it."""
    from loadtests.config import LoadConfig
    from loadtests.runner import run_load_test

    cfg = LoadConfig(models=models, users=opts.load_users, spawn_rate=float(opts.load_users),
                     duration=opts.load_seconds, k=opts.k, dataset="sample", index_type=index["index_type"],
                     metric=index["metric"], index_params=index["params"])
    report = run_load_test(cfg, lambda ev: say(ev["phase"]) if "phase" in ev else None)
    return report.run_id


class _Demo:
    """The state the steps share: what was built, the runs made, the retrieval result."""

    def __init__(self, ds, wb, store, opts, progress, load_test):
        self.ds, self.wb, self.store, self.opts = ds, wb, store, opts
        self.progress = progress or (lambda steps, step: None)
        self.load_test = load_test or default_load_test
        self.built: list[str] = []
        self.result = DemoResult(plan(opts))

    def say(self, step: DemoStep, detail: str) -> None:
        step.detail = detail
        self.progress(self.result.steps, step)

    # ---------------------------------------------------------------- steps: return (run id, detail)
    def index(self, step: DemoStep):
        model = step.key.split(":", 1)[1]

        def cb(_m, stage, done, total):
            if stage != "search" and (done == total or done % 64 == 0):
                self.say(step, f"{_(stage)} {done}/{total}")
        built = self.wb.index(self.ds, [model], progress=cb)[model]
        self.built.append(model)
        return None, (_("reused the collection") if built.reused else
                      _("built {n} documents in {seconds} s").format(n=built.n_docs, seconds=f"{built.seconds:.1f}"))

    def retrieval(self, step: DemoStep):
        from evaluators.retrieval.evaluate import run_retrieval

        res = run_retrieval(self.wb, self.ds, self.built, k=self.opts.k, store=self.store)
        run_id = res.run_id
        self.result.retrieval = res
        main = f"ndcg@{res.k}"
        return run_id, f"nDCG@{res.k}: " + " · ".join(f"{m} {res.metrics[m][main]:.3f}" for m in res.models)

    def _rag(self, step: DemoStep, cfg):
        from evaluators.rag.job import run_rag
        from evaluators.rag.rows import first_error, rows_text

        r = run_rag(self.ds, cfg, retriever=self.wb, store=self.store, settings=self.opts.settings,
                    progress=lambda p: self.say(step, p.text))
        if r.status == "failed":
            raise RuntimeError(self.store.get(r.run_id).error or first_error(r.rows))
        detail = rows_text(r.summary)
        if r.status == "stopped":
            detail += _("; ") + _("stopped at the ${cap} spend cap (resume it on the RAG quality page)").format(
                cap=f"{cfg.spend_cap_usd:g}")
        elif r.summary["failed_rows"]:
            detail += _("; ") + _("{n} rows with failures: {error}").format(n=r.summary["failed_rows"],
                                                                          error=first_error(r.rows))
        return r.run_id, detail

    def rag(self, step: DemoStep):
        from evaluators.rag.config import RagConfig

        return self._rag(step, RagConfig(models=list(self.built), k=self.opts.k, index=self.wb.index_config.to_json()))

    def rag_judged(self, step: DemoStep):
        cfg = judged_config(self.built, self.opts, self.wb.index_config.to_json())
        est = judged_estimate(self.ds, replace(self.opts, models=tuple(self.built)))
        self.say(step, _("estimate {calls} LLM calls, ≈${cost}, cap ${cap}").format(
            calls=est["total_calls"], cost=f"{est['cost_usd']:.4f}", cap=f"{cfg.spend_cap_usd:g}"))
        return self._rag(step, cfg)

    def load(self, step: DemoStep):
        run_id = self.load_test(list(self.built), self.wb.index_config.to_json(), self.opts,
                                lambda text: self.say(step, text))
        res = self.store.get(run_id).summary.get("results", {})
        return run_id, " · ".join(_("{model} {rps} req/s, p95 {p95} ms").format(
            model=m, rps=f"{r['rps']:.0f}", p95=f"{r['p95_ms']:g}") for m, r in res.items())

    def decide(self, step: DemoStep):
        """The six steps of Decide on the demo's data, reusing its RAG and load runs (the brief's users and
        seconds are the demo's); the catalog survey is left out to keep the demo short."""
        from flows.decide.brief import Brief
        from flows.decide.flow import run_decide

        ids = self.result.run_ids
        load = next(s for s in self.result.steps if s.key == "load")

        def no_load(*_a):
            raise RuntimeError(_("the demo's load test did not finish ({reason})").format(
                reason=load.reason or _(load.status)))
        brief = Brief(k=self.opts.k, users=self.opts.load_users, load_seconds=self.opts.load_seconds,
                      spend_cap_usd=self.opts.spend_cap_usd)
        reuse = {key: ids[src] for key, src in (("rag", "rag_judged" if "rag_judged" in ids else "rag"),
                                                ("load", "load")) if src in ids}
        record = run_decide(self.ds, brief, list(self.built), self.wb, self.store,
                            lambda _s, _st, detail: self.say(step, detail[:200]), load_test=no_load,
                            settings=self.opts.settings, with_survey=False, reuse=reuse, lang=self.opts.lang)
        self.result.decision = record
        return record["run_id"], (_("recommended {model}").format(model=record["recommended"]) if record["recommended"]
                                  else _("no recommendation: {reason}").format(reason=record["reason"][:300]))

    def report(self, step: DemoStep):
        from evaluators.report.build import build_report

        ids = [s.run_id for s in self.result.steps if s.run_id and s.status == DONE]
        with language(self.opts.lang):
            title = _("RAG workbench demo: the built-in sample")
        self.result.report_html = build_report(self.store, ids, title=title, dataset=self.ds, lang=self.opts.lang)
        return None, _("{n} runs ({ids})").format(n=len(ids), ids=", ".join(ids))

    # ---------------------------------------------------------------- the sequence
    def why_not(self, step: DemoStep) -> str | None:
        if step.key.startswith("index:") or step.status == SKIPPED:
            return None
        if step.key == "report":
            return None if any(s.run_id and s.status == DONE for s in self.result.steps) \
                else _("no run finished to report on")
        return None if self.built else _("no model could be indexed")

    def run(self) -> DemoResult:
        for step in self.result.steps:
            if step.status == SKIPPED:
                self.progress(self.result.steps, step)
                continue
            why = self.why_not(step)
            if why:
                step.status, step.reason = SKIPPED, why
                self.progress(self.result.steps, step)
                continue
            step.status = RUNNING
            self.progress(self.result.steps, step)
            t = time.perf_counter()
            try:
                step.run_id, step.detail = getattr(self, step.key.split(":")[0])(step)
                step.status = DONE
            except Exception as e:  # recorded with its reason; the steps that can still run do
                step.status, step.reason = FAILED, _reason(e)
                step.run_id = step.run_id or getattr(e, "run_id", None)  # a load run marked failed
                step.detail = ""
            step.seconds = round(time.perf_counter() - t, 2)
            self.progress(self.result.steps, step)
        return self.result


def _reason(e: Exception) -> str:
    text = getattr(e, "message", None) or str(e) or type(e).__name__
    return text.strip().splitlines()[0][:500] if text.strip() else type(e).__name__


def run_demo(ds: Dataset, retriever, store: RunStore | None = None, opts: DemoOptions | None = None,
             progress: Progress | None = None, load_test: LoadTest | None = None) -> DemoResult:
    """Every step in order on ``ds`` (the sample); ``progress(steps, step)`` after each change."""
    return _Demo(ds, retriever, store or RunStore.default(), opts or DemoOptions(), progress, load_test).run()
