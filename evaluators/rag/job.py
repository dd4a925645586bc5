"""The RAG quality job: retrieve top-k per model, generate an answer, score it with Ragas, row by row.

Each (model, question) row is written to the run store the moment it is scored, so a ``kill -9``
loses none of the finished rows, and ``resume_rag`` finishes the run by skipping them.
``retry_failed`` re-runs only the rows with a failed metric (or a failed generation, or a failed
second-judge call), asking again only what failed and keeping the scores that succeeded. LLM calls
of the generator and the judges share one gate of ``concurrency`` slots; rows are fed to
``2 × concurrency`` workers so the gate stays full. Clients are built fresh per run. A spend cap
stops scheduling new rows once reached (rows in flight finish and are kept); the run is marked
``stopped`` and can be resumed with a higher cap.

Usage:
    cfg = RagConfig(models=["minilm", "bm25"], generator="extractive", judge="none", k=4)
    with Retriever() as wb:
        result = run_rag(load_dataset("sample"), cfg, retriever=wb, progress=print)
    result.summary["metrics"]["minilm"]["rouge_l"]   # {"mean": .., "n": .., "total": ..}
    result.rows[0]["scores"]["rouge_l"]               # one (model, question) row's score
    resume_rag(result.run_id, retriever=wb)            # after a crash; retry_failed=True for failures
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from evaluators.rag.config import RagConfig, check_config, questions_for, run_config_record
from evaluators.rag.cost import SpendCap, UsageMeter
from evaluators.rag.judge_llm import JudgeConcurrency, event_loop_factory
from evaluators.rag.metrics import METRICS, RagSample, split_metrics
from evaluators.rag.rows import first_error, row_failed, summarize, usage_delta
from evaluators.rag.scoring import RagasScorer, describe_error
from rag.data.dataset import Dataset
from rag.data.question_sets import EvalQuestion
from rag.i18n import _
from rag.milvus.index_config import IndexConfig
from rag.models.generators import (
    Context,
    make_generator,
)
from rag.models.llm import parse_llm
from rag.models.registry import resolve
from rag.runs import RunStore
from rag.runs.models import RagRow

# Rows in flight per LLM slot. A row also spends time off the LLM (building contexts, non-LLM metrics,
# embeddings, the store write) and in one-call stages (generate, then NLI); two rows per slot keep the
# gate's queue non-empty (measured: wall ÷ ideal 1.20 → 1.07 at concurrency 16). At a kill, rows in
# flight are lost work, never lost rows: they were not stored, and a resume runs them.
ROWS_PER_SLOT = 2




@dataclass
class RunProgress:
    done: int
    total: int
    failed: int
    elapsed: float
    eta: float | None
    cost_usd: float

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0

    @property
    def text(self) -> str:
        def mmss(s):
            return f"{int(s) // 60:02d}:{int(s) % 60:02d}"
        values = {"done": self.done, "total": self.total, "failed": self.failed, "elapsed": mmss(self.elapsed),
                  "cost": f"${self.cost_usd:.4f}"}
        if self.eta is None:  # formed when shown: in the language of the page or CLI that shows it
            return _("{done}/{total} rows · {failed} with failures · {elapsed} elapsed · {cost}").format(**values)
        return _("{done}/{total} rows · {failed} with failures · {elapsed} elapsed · ~{left} left · {cost}").format(
            **values, left=mmss(self.eta))


@dataclass
class RagRunResult:
    run_id: str
    status: str
    summary: dict
    rows: list[dict]


ProgressFn = Callable[[RunProgress], None]








# ---------------------------------------------------------------- entry points

def create_run(ds: Dataset, cfg: RagConfig, store: RunStore | None = None, settings=None) -> str:
    """Check the configuration and record a new run (its id is known before any work starts)."""
    ds.require_text("a RAG run")
    check_config(cfg, settings)
    return (store or RunStore.default()).create("rag", run_config_record(ds, cfg), dataset=ds)


def run_rag(ds: Dataset, cfg: RagConfig, *, retriever, store: RunStore | None = None,
            progress: ProgressFn | None = None, run_id: str | None = None, settings=None) -> RagRunResult:
    """Start a new run (or continue ``run_id``, skipping its stored rows). ``settings``: whose keys the
    generator and judge use (a browser session's, ``Settings.with_keys``; None: the app-wide settings)."""
    store = store or RunStore.default()
    run_id = run_id or create_run(ds, cfg, store, settings)
    check_config(cfg, settings)
    done = store.done_items(run_id)
    qs = questions_for(ds, cfg)
    work = [(m, q, None) for m in cfg.models for q in qs if (m, q.id) not in done]
    return RagJob(ds, cfg, store, run_id, retriever, progress, settings).run(work)


def resume_rag(run_id: str, *, retriever, ds: Dataset | None = None, store: RunStore | None = None,
               progress: ProgressFn | None = None, retry_failed: bool = False,
               overrides: dict | None = None, settings=None) -> RagRunResult:
    """Finish an interrupted run, or (``retry_failed``) re-run only its rows with failures."""
    store = store or RunStore.default()
    run = store.get(run_id, kind="rag")
    cfg = RagConfig.from_dict({**run.config["rag"], **(overrides or {})})
    if ds is None:
        from rag.data.loaders import load_dataset

        ds = load_dataset(run.config.get("dataset_source") or run.dataset)
    if run.dataset_hash and ds.content_hash() != run.dataset_hash:
        raise ValueError(_("dataset {dataset} changed since run {run} (hash {old} → {new}); start a new run").format(
            dataset=ds.name, run=run_id, old=run.dataset_hash, new=ds.content_hash()))
    check_config(cfg, settings)
    store.set_status(run.id, "running")
    qs = questions_for(ds, cfg)
    if not retry_failed:
        return run_rag(ds, cfg, retriever=retriever, store=store, progress=progress, run_id=run.id,
                       settings=settings)
    by_id = {q.id: q for q in qs}
    work = [(r["model"], by_id[r["question_id"]], r) for r in store.rows(run.id)
            if row_failed(r) and r["question_id"] in by_id]
    return RagJob(ds, cfg, store, run.id, retriever, progress, settings).run(work)


def ordered(rows: list[dict], cfg: RagConfig, ds: Dataset) -> list[dict]:
    """Rows are stored as they complete; show them by model, then question order."""
    try:
        pos = {q.id: i for i, q in enumerate(questions_for(ds, cfg))}
    except Exception:  # a deleted question set: keep the stored order
        return rows
    models = {m: i for i, m in enumerate(cfg.models)}
    return sorted(rows, key=lambda r: (models.get(r["model"], 99), pos.get(r["question_id"], 10**9)))


# ---------------------------------------------------------------- the work

class RagJob:
    """One RAG run being worked on: the one owner of its record (the store and run id), its usage meter and
    price table, the retriever it searches with and the progress callback. ``run_rag`` / ``resume_rag``
    build one and hand it the (model, question, previous row) work items still to do.

    Usage:
        RagJob(ds, cfg, store, run_id, retriever).run([("minilm", question, None), ...])
    """

    def __init__(self, ds: Dataset, cfg: RagConfig, store: RunStore, run_id: str, retriever,
                 progress: ProgressFn | None = None, settings=None):
        self.ds, self.cfg, self.store, self.run_id = ds, cfg, store, run_id
        self.retriever, self.progress, self.settings = retriever, progress, settings
        self.expected = len(cfg.models) * len(questions_for(ds, cfg))
        self.analyzers: dict[str, str] = {}  # model -> BM25 analyzer its collection uses (BM25, hybrid)
        self.prices, self.meter = cfg.price_table(), UsageMeter()
        for r in store.rows(run_id):
            self.meter.merge(r.get("usage"))

    def _summary(self, rows: list[dict]) -> dict:
        return summarize(rows, self.cfg, self.meter, self.prices, self.expected)

    def run(self, work: list) -> RagRunResult:
        """Retrieve, then generate and score every work item, storing each row as it completes; the run's
        status and summary are recorded whatever happens (a crash is "failed", Ctrl-C "interrupted")."""
        t0 = time.time()
        status, reason = "done", None
        try:
            hits = self._retrieve(work) if work else {}
            retrieval_s = time.time() - t0
            with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
                stopped = runner.run(self._execute(work, hits))
            if stopped:
                status, reason = "stopped", stopped
        except BaseException as e:  # stored rows stay and the run is resumable
            self.store.finish(self.run_id, self._summary(self.store.rows(self.run_id)),
                              "failed" if isinstance(e, Exception) else "interrupted", describe_error(e))
            raise
        rows = ordered(self.store.rows(self.run_id), self.cfg, self.ds)
        summary = self._summary(rows)
        summary.update(elapsed_s=round(time.time() - t0, 3), retrieval_s=round(retrieval_s, 3))
        if self.analyzers:
            summary.update(bm25_analyzers=self.analyzers)
        if rows and all(row_failed(r) for r in rows):
            status, reason = "failed", _("every row failed: {reason}").format(reason=first_error(rows))
        elif status == "done" and len(rows) < self.expected:
            status, reason = "partial", _("{n} rows missing").format(n=self.expected - len(rows))
        self.store.finish(self.run_id, summary, status, reason)
        return RagRunResult(self.run_id, status, summary, rows)

    def _retrieve(self, work) -> dict[tuple[str, str], list[tuple[str, float]]]:
        """Search with the run's own index config (a resumed run keeps the index it started with)."""
        hits: dict[tuple[str, str], list[tuple[str, float]]] = {}
        index = IndexConfig.from_json(self.cfg.index)
        for model in dict.fromkeys(m for m, _q, _h in work):
            qs = [q for m, q, _h in work if m == model]
            spec = resolve(model)
            built = self.retriever.store.ensure_collection(self.ds, spec, index, self.cfg.chunking)
            name = built.name
            if built.analyzer:
                self.analyzers[model] = built.analyzer
            found = self.retriever.store.search(name, spec, [q.question for q in qs], self.cfg.k, index)
            hits.update({(model, q.id): h for q, h in zip(qs, found)})
        return hits

    async def _execute(self, work, hits) -> str | None:
        """Generate and score under the run's concurrency and spend cap; the reason it stopped, or None."""
        cfg, meter, prices = self.cfg, self.meter, self.prices
        gate = JudgeConcurrency(cfg.concurrency)
        cap = SpendCap(cfg.spend_cap_usd)
        judge = parse_llm(cfg.judge, cfg.judge_base_url, self.settings)
        active, _skipped = split_metrics(cfg.metrics, judge)
        generator = make_generator(cfg.generator, cfg.generation(), cfg.generator_base_url, self.settings)
        scorer = RagasScorer(active, judge, timeout=cfg.timeout, max_retries=cfg.max_retries, gate=gate,
                             embeddings=cfg.embeddings, repeats=cfg.judge_repeats, temperature=cfg.judge_temperature,
                             second_judge=parse_llm(cfg.second_judge, None, self.settings))
        queue = list(reversed(work))
        stored = self.store.rows(self.run_id)
        redo = {(m, q.id) for m, q, prev in work if prev is not None}
        base = sum(1 for r in stored if (r["model"], r["question_id"]) not in redo)
        state = {"done": base, "failed": sum(row_failed(r) for r in stored), "session": 0, "stopped": None}
        total = base + len(work)
        t0 = time.time()
        # Rows are stored from one writer thread: a store write (SQLite commit, WAL fsync) took 2-24 ms on the
        # event loop, where every LLM call in flight waited for it (50 rows: ~0.4 s of a 16 s run at 32 in
        # flight). Awaited, so a row is stored before it counts as done; in the caller's context (language).
        writer = ThreadPoolExecutor(1, thread_name_prefix="rag-rows")
        loop = asyncio.get_running_loop()

        async def worker():
            while queue and state["stopped"] is None:
                if cap.reached(meter.cost(prices)):
                    state["stopped"] = cap.describe(meter.cost(prices))
                    break
                model, q, prev = queue.pop()
                row = await _row(model, q, prev, hits[(model, q.id)], self.ds, generator, scorer, gate)
                await loop.run_in_executor(writer, contextvars.copy_context().run, self.store.add_rows,
                                           self.run_id, [row])
                meter.merge(row.usage if prev is None else usage_delta(row, prev))
                state["done"] += 1
                state["failed"] += row_failed(row) - (row_failed(prev) if prev else 0)
                state["session"] += 1
                if self.progress:
                    el = time.time() - t0
                    self.progress(RunProgress(state["done"], total, state["failed"], el,
                                              el / state["session"] * len(queue), meter.cost(prices)))

        try:
            await asyncio.gather(*(worker() for _w in range(ROWS_PER_SLOT * max(1, cfg.concurrency))))
        finally:
            writer.shutdown(wait=True)
            await scorer.aclose()
            await generator.aclose()
        return state["stopped"]


async def _row(model, q: EvalQuestion, prev: dict | None, hits, ds, generator, scorer, gate) -> RagRow:
    """Generate (unless a retry already has the response) and score one row; never raises."""
    t = time.perf_counter()
    row_meter = UsageMeter()
    row_meter.merge((prev or {}).get("usage"))
    ctxs = [Context(d, ds.doc(d).title, ds.doc(d).text) for d, _s in hits]
    response, gen_error = (prev or {}).get("response"), None
    if response is None:
        try:
            if generator.uses_llm:
                async with gate.sem:
                    ans = await generator.agenerate(q.question, ctxs)
                row_meter.add(ans.model, ans.prompt_tokens, ans.completion_tokens)
            else:
                ans = await generator.agenerate(q.question, ctxs)
            response = ans.text
        except Exception as e:
            gen_error = "generation failed: " + describe_error(e)
    only = second_only = None        # a retry with a response asks again only the failed calls (either judge)
    if prev is not None and prev.get("response") is not None:
        only = [m for m in (prev.get("errors") or {}) if m in METRICS]
        second_only = [m for m, e in ((prev.get("second_judge") or {}).get("errors") or {}).items() if e]
    sample = RagSample(q.question, response, [c.full_text for c in ctxs], q.reference, q.reference_contexts or None,
                       [d for d, _s in hits], q.relevant_ids or None)
    results = await scorer.score(sample, only, row_meter, (prev or {}).get("repeats"), second_only)
    row = dict(prev) if prev else {}
    row.update({"model": model, "item_id": q.id, "question_id": q.id, "question": q.question, "response": response,
                "generator": generator.name, "retrieved_ids": [d for d, _s in hits],
                "retrieved_scores": [round(float(s), 6) for _d, s in hits],
                "contexts": [c.full_text for c in ctxs], "relevant_ids": q.relevant_ids, "reference": q.reference})
    errors = {k: v for k, v in (row.get("errors") or {}).items() if k not in results}
    na, reasons = dict(row.get("not_applicable") or {}), dict(row.get("reasons") or {})
    variants, scores = dict(row.get("variants") or {}), dict(row.get("scores") or {})
    repeats, second = dict(row.get("repeats") or {}), {k: dict(v) for k, v in (row.get("second_judge") or {}).items()}
    for name, r in results.items():
        for part, value in ((("scores", r.second.value), ("errors", r.second.error), ("reasons", r.second.reasons))
                            if r.second else ()):
            second.setdefault(part, {})[name] = value
        if only is not None and name not in only:   # asked of the second judge only: the first's result stays
            continue
        scores[name] = r.value
        if r.repeats is not None:
            repeats[name] = r.repeats
        if r.variant:
            variants[name] = r.variant
        if r.error:
            errors[name] = r.error
        if r.not_applicable:
            na[name] = r.not_applicable
        if r.reasons:
            reasons[name] = r.reasons
    errors.pop("generation", None)
    if gen_error:
        errors["generation"] = gen_error
    row.update({"scores": scores, "errors": errors, "not_applicable": na, "reasons": reasons, "variants": variants,
                "repeats": repeats, "second_judge": second, "usage": row_meter.by_model,
                "seconds": round(time.perf_counter() - t, 3)})
    return RagRow.model_validate(row)


def run_view(run, store: RunStore, ds: Dataset) -> tuple[dict, list[dict]]:
    """(summary, rows) of a stored run; for a run that is still running or was killed, the summary is
    computed from the rows stored so far (with ``expected_rows`` from its configuration)."""
    cfg = RagConfig.from_dict(run.config["rag"])
    rows = ordered(store.rows(run.id), cfg, ds)
    if run.summary.get("metrics") and run.summary.get("rows") == len(rows):
        return run.summary, rows
    meter = UsageMeter()
    for r in rows:
        meter.merge(r.get("usage"))
    unknown = None
    try:
        expected = len(cfg.models) * len(questions_for(ds, cfg))
    except Exception as e:  # a deleted question set: the count is unknown, not "all stored rows"
        expected = run.summary.get("expected_rows")
        unknown = None if expected is not None else f"the question count is unknown: {describe_error(e)}"
    summary = summarize(rows, cfg, meter, cfg.price_table(), expected)
    if unknown:
        summary["expected_rows_unknown"] = unknown
    return summary, rows

