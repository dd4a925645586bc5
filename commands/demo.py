"""``python cli.py demo --output DIR``: the one-click demo on the built-in sample (the Data page's button).

Every step (index, compare, RAG, load, decide, report) prints its status on stderr as it starts and ends;
``DIR/report.html``, ``DIR/decision.json`` and ``DIR/demo.json`` are written at the end. Exit 1 when a step failed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from commands.options import NameList, checked_output_dir, command, models_option, status
from rag.i18n import _

Opt = typer.Option


def demo(output: Annotated[Path, Opt(parser=checked_output_dir, metavar="DIR",
                                     help="folder for report.html and demo.json (created if missing)")],
         models: Annotated[NameList, models_option("comma-separated")] = "minilm,bm25,hybrid",
         spend_cap: Annotated[float, Opt(help="USD cap of the judged step (with an LLM)")] = 0.5,
         no_llm: Annotated[bool, Opt("--no-llm", help="skip the judged step even when an LLM is configured")]
         = False,
         lang: Annotated[str | None, Opt(help="the decision record's and the report's language: en or zh "
                                              "(default: WORKBENCH_LANG, else en)")] = None) -> int:
    from flows.demo import RUNNING, DemoOptions, judged_estimate, plan, run_demo
    from rag.data.samples.text import load_sample
    from rag.i18n import LANGUAGES, normalize
    from rag.outputs import write_atomic
    from rag.retrieval import Retriever
    from rag.runs import RunStore

    if spend_cap <= 0:
        raise ValueError(_("--spend-cap must be > 0 USD"))
    if lang is not None and normalize(lang) is None:
        raise ValueError(_("--lang: unknown language '{lang}'; choose one of {choices}").format(
            lang=lang, choices=", ".join(LANGUAGES)))
    opts = DemoOptions(models=tuple(models), spend_cap_usd=spend_cap, judged=False if no_llm else None, lang=lang)
    ds = load_sample()
    if any(s.key == "rag_judged" and s.status != "skipped" for s in plan(opts)):
        est = judged_estimate(ds, opts)
        status(_("judged step: estimate {rows} rows, {calls} LLM calls, ≈{tokens} tokens, ≈${cost}; spend cap "
                 "${cap}").format(rows=est["rows"], calls=est["total_calls"], tokens=f"{est['total_tokens']:,}",
                                  cost=f"{est['cost_usd']:.4f}", cap=f"{opts.spend_cap_usd:g}"))

    def progress(steps, step):
        if step.status != RUNNING or not step.detail:  # one line per step start and end, not per row
            status(f"  {step.line()}")
    with Retriever() as wb:
        result = run_demo(ds, wb, RunStore.default(), opts, progress)
    for s in result.steps:
        print(s.line())
    if result.report_html:
        print(_("wrote {path}").format(path=write_atomic(output / "report.html", result.report_html)))
    if result.decision:
        from flows.decide.flow import output_json

        text = json.dumps(output_json(result.decision), indent=2, ensure_ascii=False)
        print(_("wrote {path}").format(path=write_atomic(output / "decision.json", text)))
    text = json.dumps(result.to_json(), indent=2, ensure_ascii=False)
    print(_("wrote {path}").format(path=write_atomic(output / "demo.json", text)))
    return 0 if result.ok else 1


def register(app: typer.Typer) -> None:
    command(app, "demo", "the one-click demo on the built-in sample: index, compare, RAG, load, decide, "
                         "report")(demo)
