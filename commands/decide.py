"""``python cli.py decide``: the six steps of choosing an embedding model, headless, to a decision record.

    python cli.py decide --dataset sample --models minilm,bm25,hybrid --min-quality 0.6 --p95-ms 200 \\
        --users 4 --output decision.json

Prints each step as it ends (stderr) and the recommendation (stdout); ``--output`` gets the record
(``brief``, ``profile``, ``candidates``, ``recommended``, ``reason`` and the rest), ``--regression``
the questions and expected top documents for CI, ``--save-brief`` the brief to edit and reuse with
``--brief``. ``--previous OLD.json`` re-checks an earlier decision; ``--no-load`` skips the load test
(and drops the latency SLO). Exit 0 with a recommendation, 1 when no candidate meets the brief, 2 on
bad input. ``python cli.py check-regression regression.json`` runs that file against the model's
collection in CI: exit 0 when every expected document is still in the top k, 1 when not.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from commands.options import NameList, command, models_option, output_option, status
from rag.i18n import N_, _

Opt = typer.Option
# the steps as the progress lines name them (``[brief] done …``), catalog keys shown with _()
STEP_LABELS = {"brief": N_("brief"), "data": N_("data"), "shortlist": N_("shortlist"), "evaluation": N_("evaluation"),
               "plan": N_("plan"), "verification": N_("verification"), "record": N_("record")}


def decide(dataset: Annotated[str, Opt(help="'sample', a BEIR folder or file the Data page reads")] = "sample",
           models: Annotated[NameList | None, models_option("candidates, comma-separated (default: the registry)")]
           = None,
           brief_file: Annotated[Path | None, Opt("--brief", help="a saved brief (JSON); options below override it")]
           = None,
           metric: Annotated[str | None, Opt(help="ndcg, recall, mrr, map, precision, hit_rate (at --k)")] = None,
           k: Annotated[int | None, Opt(help="top k")] = None,
           min_quality: Annotated[float | None, Opt(help="the minimum acceptable mean of the metric")] = None,
           p95_ms: Annotated[float | None, Opt(help="latency SLO: p95 in ms at --users")] = None,
           users: Annotated[int | None, Opt(help="concurrent users of the latency SLO and the load test")] = None,
           queries_per_day: Annotated[int | None, Opt(help="query volume for the monthly cost")] = None,
           budget_month: Annotated[float | None, Opt(help="USD per month limit")] = None,
           budget_one_off: Annotated[float | None, Opt(help="USD limit for embedding the corpus once")] = None,
           where: Annotated[str | None, Opt(help="local (open weights only) or api")] = None,
           commercial: Annotated[bool | None, Opt("--commercial/--non-commercial",
                                                  help="licenses must allow commercial use")] = None,
           memory_mb: Annotated[float | None, Opt(help="memory limit (weights + vectors), MB")] = None,
           spend_cap: Annotated[float | None, Opt(help="USD the evaluation may spend on APIs")] = None,
           load_seconds: Annotated[int | None, Opt(help="load test seconds per model")] = None,
           mteb_cache: Annotated[Path | None, Opt(help="mteb results cache (default MTEB_CACHE or ~/.cache/mteb)")]
           = None,
           previous: Annotated[Path | None, Opt(help="an earlier decision.json to re-check against")] = None,
           save_brief: Annotated[Path | None, Opt(help="write the brief used here (JSON)")] = None,
           regression: Annotated[Path | None, Opt(help="write the regression questions (JSON) for CI")] = None,
           no_survey: Annotated[bool, Opt("--no-survey", help="skip the catalog survey (faster)")] = False,
           no_load: Annotated[bool, Opt("--no-load", help="no load test: the brief's latency SLO is dropped "
                                                          "(the record says p95 None)")] = False,
           output: Annotated[str | None, output_option("write decision.json here")] = None,
           lang: Annotated[str | None, Opt(help="the record's and the printout's language: en or zh (default: "
                                                "WORKBENCH_LANG, else en)")] = None) -> int:
    from flows.decide.brief import Brief
    from flows.decide.flow import output_json, run_decide
    from rag.data.loaders import load_dataset
    from rag.i18n import LANGUAGES, language, normalize
    from rag.outputs import write_atomic
    from rag.retrieval import Retriever
    from rag.runs import RunStore

    if lang is not None and normalize(lang) is None:
        raise ValueError(_("--lang: unknown language '{lang}'; choose one of {choices}").format(
            lang=lang, choices=", ".join(LANGUAGES)))
    with language(lang):  # this command's lines and the record's sentences (the record's keys never change)
        base = Brief.load(brief_file).to_json() if brief_file else {}
        brief = Brief.of(**{**base, **{k_: v for k_, v in dict(
            metric=metric, k=k, min_quality=min_quality, p95_ms=p95_ms, users=users, queries_per_day=queries_per_day,
            budget_month_usd=budget_month, budget_one_off_usd=budget_one_off, where=where, commercial=commercial,
            memory_mb=memory_mb, spend_cap_usd=spend_cap, load_seconds=load_seconds).items() if v is not None}})
        if no_load:  # Brief.of keeps defaults for None: the SLO is dropped here, on purpose
            brief = brief.model_copy(update={"p95_ms": None})
        old = None
        if previous:
            try:
                old = json.loads(previous.read_text(encoding="utf-8"))
            except (OSError, ValueError) as e:
                raise ValueError(_("--previous {file}: not a decision record ({reason})").format(
                    file=previous, reason=e)) from None
        ds = load_dataset(dataset)
        if save_brief:
            brief.save(save_brief)
        with Retriever() as wb:
            record = run_decide(ds, brief, list(models) if models else None, wb, RunStore.default(),
                                lambda step, st, detail: status(
                                    f"  [{_(STEP_LABELS.get(step, step))}] {_(st)} {detail}".rstrip()),
                                mteb_cache=mteb_cache, previous=old, with_survey=not no_survey)
        for c in record["candidates"]:
            q = c["quality"]
            p95, cost, memory = c["p95_ms"], c["cost_month_usd"], c["memory_mb"]
            print(_("{mark} {model}: {metric} {mean} [{low}, {high}], {p95}, {cost}, {memory}")
                  .format(mark="✅" if c["passes"] else "❌", model=c["model"], metric=q["metric"],
                          mean=f"{q['mean']:.3f}", low=f"{q['ci_low']:.3f}", high=f"{q['ci_high']:.3f}",
                          p95=_("p95 not measured") if p95 is None else _("p95 {ms} ms").format(ms=f"{p95:,.0f}"),
                          cost=_("cost unknown") if cost is None else _("${usd}/month").format(usd=f"{cost:,.2f}"),
                          memory=_("memory unknown") if memory is None else _("{mb} MB").format(mb=f"{memory:,.0f}"))
                  + (f" · {'; '.join(c['failed'])}" if c["failed"] else ""))
        print(_("recommended: {model} · {reason}").format(model=record["recommended"] or _("none"),
                                                          reason=record["reason"]))
        if record.get("what_would_change"):
            print(_("runner-up: {model} · {change}").format(model=record["runner_up"],
                                                            change=record["what_would_change"]))
        if "recheck" in record["verification"]:
            print(_("re-check: {summary}").format(summary=record["verification"]["recheck"]["summary"]))
        print(_("decision run: {run}").format(run=record["run_id"]))
        if output:
            print(_("wrote {path}").format(path=write_atomic(output, json.dumps(output_json(record), indent=2,
                                                                              ensure_ascii=False))))
        if regression:
            text = json.dumps(record["verification"]["regression"], indent=2, ensure_ascii=False)
            print(_("wrote {path}").format(path=write_atomic(regression, text)))
        return 0 if record["recommended"] else 1


def check_regression(file: Annotated[Path, typer.Argument(help="a regression.json from decide --regression")],
                     dataset: Annotated[str | None, Opt(help="the dataset to search (default: the file's)")] = None,
                     model: Annotated[str | None, Opt(help="the model whose collection is searched (default: the "
                                                           "file's)")] = None) -> int:
    """Exit 0 when every expected document is still in the model's top k, 1 (one line per question) when not.
    An audio folder works as any dataset (clap:/aud: models); a file with ``"asr": "asr:FOLDER"`` searches
    the folder's transcript by that Whisper model (segment ids FILE@START-END, cached by the sounds' bytes)."""
    from flows.decide.verify import check_regression as run_check
    from rag.data.loaders import load_dataset
    from rag.retrieval import Retriever

    try:
        reg = json.loads(file.read_text(encoding="utf-8"))
        missing = [key for key in ("model", "k", "questions") if key not in reg]
        source = dataset or reg.get("dataset_source") or reg.get("dataset")
    except (OSError, ValueError, AttributeError) as e:
        raise ValueError(_("{file}: not a regression file ({reason})").format(file=file, reason=e)) from None
    if missing or not source:
        raise ValueError(_("{file}: not a regression file (no {fields})").format(
            file=file, fields=", ".join(missing) or "dataset"))
    ds = load_dataset(source)
    if reg.get("asr"):  # the file's questions were asked of an audio folder's transcript: transcribe it again
        from rag.models.asr import transcribe

        ds = transcribe(ds, reg["asr"])[0]
    with Retriever() as wb:
        res = run_check(reg, ds, wb, model)
    for line in res["failures"]:
        print(f"❌ {line}")
    print(_("{mark} {kept}/{total} questions keep their expected documents in the top {k} of {model} (collection "
            "{collection})").format(mark="✅" if res["passes"] else "❌", kept=res["questions"] - len(res["failures"]),
                                    total=res["questions"], k=res["k"], model=res["model"],
                                    collection=res["collection"]))
    return 0 if res["passes"] else 1


def register(app: typer.Typer) -> None:
    command(app, "decide", "choose an embedding model: brief, data, shortlist, evaluation, plan, verification, "
                           "decision record")(decide)
    command(app, "check-regression", "run a decision's regression file against a model's collection "
                                     "(exit 1 when a question lost an expected document)")(check_regression)
