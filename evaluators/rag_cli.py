"""``python cli.py rag``: the RAG quality job, headless (kept here so cli.py stays a thin dispatcher).

    python cli.py rag --dataset sample --models minilm,bm25 --generator extractive --judge none --k 4 \\
        --output rag.json
    python cli.py rag --dataset sample --generator openai:gpt-4o-mini --judge openai:gpt-4o-mini --spend-cap 0.5
    python cli.py rag --dataset sample --generator ollama:llama3.1 --judge ollama:llama3.1
    python cli.py rag --resume RUN_ID            # finish an interrupted run
    python cli.py rag --retry-failed RUN_ID      # re-run only the rows with failures

``OPENAI_API_KEY`` and ``OPENAI_BASE_URL`` are read from the environment (or .env). The run id is
printed before any work starts, so a killed run can always be resumed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def _csv(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def add_rag_command(sub) -> None:
    r = sub.add_parser("rag", help="generate answers from top-k retrieval and score them with Ragas")
    r.add_argument("--dataset", default="sample", help="'sample' or a BEIR folder")
    r.add_argument("--models", type=_csv, default=["minilm", "bm25"], help="embedding models, e.g. minilm,bm25")
    r.add_argument("--generator", default="extractive",
                   help="extractive (offline baseline) | openai[:MODEL] | ollama:MODEL | compat:MODEL@URL")
    r.add_argument("--judge", default="none", help="none | openai[:MODEL] | ollama:MODEL | compat:MODEL@URL")
    r.add_argument("--base-url", help="OpenAI-compatible base URL for the generator and the judge")
    r.add_argument("--judge-base-url", help="a different base URL for the judge")
    r.add_argument("--metrics", type=_csv, help="subset of metrics (default: all that can run)")
    r.add_argument("--k", type=int, default=4, help="contexts retrieved per question")
    r.add_argument("--temperature", type=float, default=0.0)
    r.add_argument("--prompt-file", help="generation prompt template with {context} and {question}")
    r.add_argument("--concurrency", type=int, default=4, help="LLM calls in flight")
    r.add_argument("--timeout", type=float, default=60.0, help="seconds per LLM call")
    r.add_argument("--retries", type=int, default=2, help="retries per failed LLM call")
    r.add_argument("--spend-cap", type=float, help="stop cleanly once this many USD are spent")
    r.add_argument("--prices", help="JSON price table {model: [input, output] USD per 1M tokens}")
    r.add_argument("--limit", type=int, help="only the first N questions")
    r.add_argument("--question-set", help="a saved question set instead of the dataset's queries")
    r.add_argument("--embeddings", default="minilm", help="embeddings for answer relevancy: minilm | openai:MODEL")
    r.add_argument("--estimate", action="store_true", help="print the LLM call / token / cost estimate and exit")
    r.add_argument("--resume", metavar="RUN_ID", help="finish an interrupted run")
    r.add_argument("--retry-failed", metavar="RUN_ID", help="re-run only the rows of a run that have failures")
    r.add_argument("--output", help="write the JSON result here")
    r.set_defaults(func=cmd_rag)


def config_from_args(a):
    from evaluators.cost import PriceTable
    from evaluators.rag_runner import RagConfig
    from rag.store import IndexConfig

    index = IndexConfig.parse(getattr(a, "index", "FLAT"), getattr(a, "metric", "COSINE"),
                              getattr(a, "index_params", {}))

    extra = {"prompt_template": Path(a.prompt_file).read_text()} if a.prompt_file else {}
    prices = PriceTable.from_json(a.prices) if a.prices else PriceTable.default()
    return RagConfig(models=a.models, generator=a.generator, judge=a.judge, generator_base_url=a.base_url,
                     judge_base_url=a.judge_base_url or a.base_url, metrics=a.metrics, k=a.k,
                     temperature=a.temperature, concurrency=a.concurrency, timeout=a.timeout, max_retries=a.retries,
                     spend_cap_usd=a.spend_cap, limit=a.limit, question_set=a.question_set, embeddings=a.embeddings,
                     prices=prices.to_json(), index=index.to_json(), **extra)


def _progress(p) -> None:
    if p.done == p.total or p.done % max(1, p.total // 20) == 0:
        print(f"  {p.text}", file=sys.stderr, flush=True)


def result_json(result) -> dict:
    """The CLI's JSON: run id, metrics per model with coverage, and one compact row per (model, question)."""
    from evaluators.ragas_eval import METRICS

    s = result.summary
    keep = ("model", "question_id", "question", "response", "retrieved_ids", "errors", "not_applicable", "variants",
            "usage")
    rows = [{**{k: r.get(k) for k in keep}, **{m: r.get(m) for m in s["metrics_active"] if m in METRICS}}
            for r in result.rows]
    return {"run_id": result.run_id, "status": result.status, "metrics": s["metrics"],
            "metrics_skipped": s["metrics_skipped"], "generator": s["generator"], "judge": s["judge"],
            "usage": s["usage"], "rows": rows}


def print_summary(result) -> None:
    s = result.summary
    gen = s["generator"]
    print(f"generator: {gen['label']}" + (" — a baseline, not an LLM" if gen["baseline"] else ""))
    print(f"judge: {s['judge'] or 'none'}")
    for model, ms in s["metrics"].items():
        print(f"{model}:")
        for name, v in ms.items():
            mean = "n/a" if v["total"] == 0 else ("—" if v["mean"] is None else f"{v['mean']:.4f}")
            how = f"  {v['variant']}" if v.get("variant") else ""
            print(f"  {name:26s} {mean:>8s}  ({v['n']}/{v['total']} scored){how}")
    for name, why in s["metrics_skipped"].items():
        print(f"skipped {name}: {why.split('. ')[0]}")
    u = s["usage"]
    print(f"LLM calls {u['calls']}, tokens {u['prompt_tokens']}+{u['completion_tokens']}, cost ${u['cost_usd']:.4f}"
          + (f" (unpriced: {', '.join(u['unpriced_models'])})" if u["unpriced_models"] else ""))
    from evaluators.rag_runner import rows_text

    print(f"status {result.status} · {rows_text(s)} · with failures {s['failed_rows']}")


def cmd_rag(a) -> int:
    from evaluators.rag_plan import estimate_run
    from evaluators.rag_runner import create_run, questions_for, resume_rag, run_rag
    from rag.outputs import check_output
    from rag.retrieval import Workbench
    from rag.runs import RunStore

    check_output(a.output)
    store = RunStore.default()
    if a.resume or a.retry_failed:
        run_id = a.resume or a.retry_failed
        overrides = {"spend_cap_usd": a.spend_cap} if a.spend_cap is not None else None
        print(f"run_id {run_id}", file=sys.stderr, flush=True)
        with Workbench() as wb:
            result = resume_rag(run_id, workbench=wb, store=store, progress=_progress,
                                retry_failed=bool(a.retry_failed), overrides=overrides)
    else:
        from rag.loaders import load_dataset

        ds = load_dataset(a.dataset)
        cfg = config_from_args(a)
        est = estimate_run(questions_for(ds, cfg), ds, cfg).summary(cfg.price_table())
        print(f"estimate: {est['rows']} rows, {est['total_calls']} LLM calls, ≈{est['total_tokens']:,} tokens, "
              f"≈${est['cost_usd']:.4f}", file=sys.stderr, flush=True)
        if a.estimate:
            print(json.dumps(est, indent=2))
            return 0
        with Workbench() as wb:  # Milvus up before the run is recorded
            run_id = create_run(ds, cfg, store)
            print(f"run_id {run_id}", file=sys.stderr, flush=True)
            result = run_rag(ds, cfg, workbench=wb, store=store, progress=_progress, run_id=run_id)
    print_summary(result)
    print(f"run_id {result.run_id}")
    if result.status == "failed":  # every row failed: exit 1 with the reason, no output file
        print(f"error: run {result.run_id} failed: {store.get(result.run_id).error}", file=sys.stderr)
        return 1
    if a.output:
        write_output(a.output, result, store)
    return 0 if result.status in ("done", "stopped") else 1


def write_output(output: str, result, store) -> None:
    """The JSON, atomically; when it cannot be written the run is marked failed with the reason."""
    from rag.outputs import write_atomic

    try:
        write_atomic(output, json.dumps(result_json(result), indent=2, ensure_ascii=False))
    except OSError as e:
        store.set_status(result.run_id, "failed", str(e))
        raise OSError(f"{e} (run {result.run_id} marked failed)") from None
    print(f"wrote {output}")
