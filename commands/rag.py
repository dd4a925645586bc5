"""``python cli.py rag``: the RAG quality job, headless (the RAG quality page).

    python cli.py rag --dataset sample --models minilm,bm25 --generator extractive --judge none --k 4 \\
        --output rag.json
    python cli.py rag --dataset sample --generator openai:gpt-4o-mini --judge openai:gpt-4o-mini --spend-cap 0.5
    python cli.py rag --dataset sample --generator ollama:llama3.1 --judge ollama:llama3.1
    python cli.py rag --dataset sample --judge openai:gpt-4o-mini --judge-repeats 3 --judge-temperature 0.7
    python cli.py rag --resume RUN_ID            # finish an interrupted run
    python cli.py rag --retry-failed RUN_ID      # re-run only the rows with failures

``OPENAI_API_KEY`` and ``OPENAI_BASE_URL`` are read from the environment (or .env). The run id is
printed before any work starts, so a killed run can always be resumed. Exit 1 when rows failed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from commands import options
from commands.options import command
from rag.i18n import _

Opt = typer.Option


def rag(dataset: Annotated[str, Opt(help="'sample' or a BEIR folder")] = "sample",
        models: Annotated[options.NameList, options.models_option("embedding models, e.g. minilm,bm25")]
        = "minilm,bm25",
        generator: Annotated[str, Opt(help="extractive (offline baseline) | openai[:MODEL] | ollama:MODEL | "
                                           "compat:MODEL@URL")] = "extractive",
        judge: Annotated[str, Opt(help="none | openai[:MODEL] | ollama:MODEL | compat:MODEL@URL")] = "none",
        base_url: Annotated[str | None, Opt(help="OpenAI-compatible base URL for the generator and the judge")]
        = None,
        judge_base_url: Annotated[str | None, Opt(help="a different base URL for the judge")] = None,
        metrics: Annotated[options.NameList | None, Opt(parser=options.name_list, metavar="METRICS",
                                                help="subset of metrics (default: all that can run)")] = None,
        k: Annotated[int, Opt(help="contexts retrieved per question")] = 4,
        temperature: float = 0.0,
        prompt_file: Annotated[str | None, Opt(help="generation prompt template with {context} and {question}")]
        = None,
        concurrency: Annotated[int, Opt(help="LLM calls in flight")] = 4,
        timeout: Annotated[float, Opt(help="seconds per LLM call")] = 60.0,
        retries: Annotated[int, Opt(help="retries per failed LLM call")] = 2,
        spend_cap: Annotated[float | None, Opt(help="stop cleanly once this many USD are spent")] = None,
        prices: Annotated[str | None, Opt(help="JSON price table {model: [input, output] USD per 1M tokens}")]
        = None,
        limit: Annotated[int | None, Opt(help="only the first N questions")] = None,
        question_set: Annotated[str | None, Opt(help="a saved question set instead of the dataset's queries")]
        = None,
        embeddings: Annotated[str, Opt(help="embeddings for answer relevancy: minilm | openai:MODEL")] = "minilm",
        judge_repeats: Annotated[int, Opt(help="score each judged metric K times per row (judge noise in the CIs)")]
        = 1,
        judge_temperature: Annotated[float | None, Opt(help="the judge's temperature (default: Ragas' 0.01)")]
        = None,
        second_judge: Annotated[str | None, Opt(help="another judge scoring the same rows: openai:MODEL | "
                                                     "compat:MODEL@URL (agreement, whether the winner changes)")]
        = None,
        estimate: Annotated[bool, Opt("--estimate", help="print the LLM call / token / cost estimate and exit")]
        = False,
        resume: Annotated[str | None, Opt(metavar="RUN_ID", help="finish an interrupted run")] = None,
        retry_failed: Annotated[str | None, Opt(metavar="RUN_ID", help="re-run only the rows of a run that have "
                                                                       "failures")] = None,
        output: Annotated[str | None, options.output_option()] = None,
        index: options.IndexType = "FLAT", metric: options.Metric = "COSINE",
        index_params: options.IndexParams = "{}",
        bm25_analyzer: options.Bm25Analyzer = "auto") -> int:
    from evaluators.rag.config import RagConfig, questions_for
    from evaluators.rag.cost import PriceTable
    from evaluators.rag.estimate import estimate_run
    from evaluators.rag.job import create_run, resume_rag, run_rag
    from rag.retrieval import Retriever
    from rag.runs import RunStore

    store = RunStore.default()
    if resume or retry_failed:
        run_id = resume or retry_failed
        overrides = {"spend_cap_usd": spend_cap} if spend_cap is not None else None
        options.status(f"run_id {run_id}")
        with Retriever() as wb:
            result = resume_rag(run_id, retriever=wb, store=store, progress=_progress,
                                retry_failed=bool(retry_failed), overrides=overrides)
    else:
        from rag.data.loaders import load_dataset

        ds = load_dataset(dataset)
        ds.require_text("a RAG run")  # before the estimate: images are evaluated by cli.py retrieval
        extra = {"prompt_template": Path(prompt_file).read_text()} if prompt_file else {}
        table = PriceTable.from_json(prices) if prices else PriceTable.default()
        cfg = RagConfig(models=models, generator=generator, judge=judge, generator_base_url=base_url,
                        judge_base_url=judge_base_url or base_url, metrics=metrics, k=k, temperature=temperature,
                        concurrency=concurrency, timeout=timeout, max_retries=retries, spend_cap_usd=spend_cap,
                        limit=limit, question_set=question_set, embeddings=embeddings, prices=table.to_json(),
                        judge_repeats=judge_repeats, judge_temperature=judge_temperature, second_judge=second_judge,
                        index=options.index_config(index, metric, index_params, bm25_analyzer).to_json(), **extra)
        est = estimate_run(questions_for(ds, cfg), ds, cfg).summary(cfg.price_table())
        options.status(_("estimate: {rows} rows, {calls} LLM calls, ≈{tokens} tokens, ≈${cost}").format(
            rows=est["rows"], calls=est["total_calls"], tokens=f"{est['total_tokens']:,}",
            cost=f"{est['cost_usd']:.4f}"))
        options.status(options.language_line(ds))  # after the estimate: a refused option prints one line only
        if estimate:
            print(json.dumps(est, indent=2))
            return 0
        with Retriever() as wb:  # Milvus up before the run is recorded
            run_id = create_run(ds, cfg, store)
            options.status(f"run_id {run_id}")
            result = run_rag(ds, cfg, retriever=wb, store=store, progress=_progress, run_id=run_id)
    print_summary(result)
    print(f"run_id {result.run_id}")  # i18n: internal (read by scripts)
    if result.status == "failed":  # every row failed: exit 1 with the reason, no output file
        options.status(_("error: run {run} failed: {error}").format(run=result.run_id,
                                                                     error=store.get(result.run_id).error))
        return 1
    options.write_json(output, result_json(result), result.run_id)
    return 0 if result.status in ("done", "stopped") else 1


def _progress(p) -> None:
    if p.done == p.total or p.done % max(1, p.total // 20) == 0:
        options.status(f"  {p.text}")


def result_json(result) -> dict:
    """The CLI's JSON: run id, metrics per model with coverage, and one compact row per (model, question)."""
    from evaluators.rag.metrics import METRICS

    s = result.summary
    keep = ("model", "question_id", "question", "response", "retrieved_ids", "errors", "not_applicable", "variants",
            "repeats", "usage")
    rows = [{**{k: r.get(k) for k in keep}, "second_judge": {k: v for k, v in (r.get("second_judge") or {}).items()
                                                           if k != "reasons"},
             **{m: (r.get("scores") or {}).get(m) for m in s["metrics_active"] if m in METRICS}}
            for r in result.rows]
    return {"run_id": result.run_id, "status": result.status, "metrics": s["metrics"],
            "metrics_skipped": s["metrics_skipped"], "generator": s["generator"], "judge": s["judge"],
            "usage": s["usage"], "judge_reliability": reliability(result).to_json(), "rows": rows}


def reliability(result):
    """How far to trust the run's judge (evaluators.judge.reliability): agreement with the qrels, health."""
    from evaluators.judge.reliability import judge_reliability

    s = result.summary
    return judge_reliability(result.rows, s["judge"], s["metrics_active"])


def print_summary(result) -> None:
    from evaluators.rag.rows import rows_text
    from evaluators.stats.coverage import counts_text, outcome_counts

    s = result.summary
    gen = s["generator"]
    print(_("generator: {label}").format(label=_(gen["label"])) + (_(" — a baseline, not an LLM") if gen["baseline"]
                                                                     else ""))
    print(_("judge: {judge}").format(judge=s["judge"] or _("none")))
    if s["judge"]:
        print(_("judge reliability: {sentence}").format(sentence=reliability(result).sentence()))
    for model, ms in s["metrics"].items():
        print(f"{model}:")
        mine = [r for r in result.rows if r.get("model") == model]
        for name, v in ms.items():
            mean = _("n/a") if v["total"] == 0 else ("—" if v["mean"] is None else f"{v['mean']:.4f}")
            how = f"  {v['variant']}" if v.get("variant") else ""
            # the coverage the pages and the report give: misses (nothing retrieved) scored 0, failures left out
            print(f"  {name:26s} {mean:>8s}  {counts_text(v['n'], v['total'], *outcome_counts(mine, name))}{how}")
    for name, why in s["metrics_skipped"].items():
        print(_("skipped {name}: {why}").format(name=name, why=why.split(". ")[0]))
    u = s["usage"]
    print(_("LLM calls {calls}, tokens {prompt}+{completion}, cost ${cost}").format(
        calls=u["calls"], prompt=u["prompt_tokens"], completion=u["completion_tokens"], cost=f"{u['cost_usd']:.4f}")
          + (_(" (unpriced: {models})").format(models=", ".join(u["unpriced_models"])) if u["unpriced_models"] else ""))
    print(_("status {status} · {rows} · with failures {failed}").format(status=_(result.status), rows=rows_text(s),
                                                                         failed=s["failed_rows"]))


def register(app: typer.Typer) -> None:
    command(app, "rag", "generate answers from top-k retrieval and score them with Ragas")(rag)
