"""``python cli.py sweep``: compare whole retrieval setups (model × chunking × fusion × k × reranker).

    python cli.py sweep --dataset sample --models minilm,bm25,hybrid --fusion rrf:60,weighted:0.3 \\
        --k 5,10 --output sweep.json

Every list option takes comma-separated values. The plan (setups, collections to build, searches) is
printed before anything is built, progress on stderr while it runs (a line per collection and one per
finished setup); then the leaderboard (letters: setups sharing one are not distinguishable; cost per
1,000 queries and what it rests on), the run id, and ``--output`` gets the sweep's JSON
(``evaluators.sweep.run.SweepResult.to_json``: per setup its parts, metrics, per-query scores and
rankings, latency p50/p95, cost). ``--rerank-prices rerank-v3.5=2.0`` prices an endpoint reranker
(USD per 1,000 calls, one call per query); an endpoint without a price counts $0 and says "not priced".
"""

from __future__ import annotations

from typing import Annotated

import typer

from commands import options
from commands.options import command
from rag.i18n import _


def _ints(flag: str, allow_none: bool = False):
    """A parser of '5,10' (and 'none' when ``allow_none``) refusing anything else with one line."""
    def parse(text: str | list) -> list:
        from evaluators.sweep.setups import parse_ints

        if isinstance(text, list):
            return text
        try:
            return parse_ints(text, flag, allow_none, minimum=0 if flag == "--overlaps" else 1)
        except ValueError as e:
            raise typer.BadParameter(str(e)) from None
    return parse


def _checked(flag: str, check):
    def parse(text: str | list) -> list:
        if isinstance(text, list):
            return text
        values = options.name_list(text)
        try:
            return [check(v) for v in values]
        except ValueError as e:
            raise typer.BadParameter(f"{flag}: {e}") from None
    return parse


def _fusion(text: str) -> str:
    from rag.milvus.store import parse_fusion

    parse_fusion(text)
    return text


def _reranker(text: str) -> str:
    from evaluators.sweep.setups import parse_reranker

    return parse_reranker(text)


def _asr(text: str) -> str | None:
    from evaluators.sweep.setups import parse_asr

    return parse_asr(text)


def _prices(text: str | dict) -> dict:
    """'MODEL=USD,…' as {model: USD per 1,000 calls}; BadParameter names the pair that is not one."""
    from evaluators.sweep.run import parse_rerank_prices

    if isinstance(text, dict):
        return text
    try:
        return parse_rerank_prices(text)
    except ValueError as e:
        raise typer.BadParameter(_("--rerank-prices: {error}").format(error=e)) from None


def _list(flag: str, parser, help: str):
    return typer.Option(flag, parser=parser, metavar="LIST", help=help)


def sweep(dataset: Annotated[str, typer.Option(help="'sample', a BEIR folder, or an audio folder (with --asr or "
                                                    "asr:FOLDER+MODEL and clap:/aud: models)")],
          models: Annotated[options.NameList, options.models_option()] = "minilm,bm25",
          chunk_sizes: Annotated[list, _list("--chunk-sizes", _ints("--chunk-sizes", True),
                                             "characters per chunk, none = whole documents")] = "none",
          overlaps: Annotated[list, _list("--overlaps", _ints("--overlaps"), "characters shared by neighbours")] = "0",
          fusion: Annotated[list, _list("--fusion", _checked("--fusion", _fusion),
                                        "hybrid models only: rrf:K, weighted:A")] = "rrf:60",
          rerankers: Annotated[list, _list("--rerankers", _checked("--rerankers", _reranker),
                                           "none, ce:FOLDER, hf:ORG/NAME[@REV], rerank:MODEL@URL")] = "none",
          asr: Annotated[list, _list("--asr", _checked("--asr", _asr),
                                     "audio folders: none, asr:FOLDER (Whisper folders) crossed with every "
                                     "text model; or asr:FOLDER+MODEL in --models")] = "none",
          k: Annotated[list, _list("--k", _ints("--k"), "top-k values")] = "10",
          depth: Annotated[list, _list("--depth", _ints("--depth"), "candidates a reranker rescores")] = "20",
          rank_by: Annotated[str, typer.Option(help="leaderboard metric, e.g. ndcg, recall")] = "ndcg",
          rerank_prices: Annotated[dict, typer.Option("--rerank-prices", parser=_prices, metavar="MODEL=USD,…",
                                                      help="rerank endpoint prices, USD per 1,000 calls")] = "",
          latency_sample: Annotated[int, typer.Option(min=0, help="queries timed one at a time per setup for its "
                                                      "latency (0 = every judged query)")] = 50,
          index: options.IndexType = "FLAT", metric: options.Metric = "COSINE",
          index_params: options.IndexParams = "{}",
          bm25_analyzer: options.Bm25Analyzer = "auto",
          output: Annotated[str | None, options.output_option()] = None) -> int:
    from evaluators.sweep.latency import latency_sample as sample_of
    from evaluators.sweep.leaderboard import metric_at_k
    from evaluators.sweep.run import plan_sweep, run_sweep
    from evaluators.sweep.setups import grid
    from rag.data.loaders import load_dataset
    from rag.retrieval import Retriever

    cfg = options.index_config(index, metric, index_params, bm25_analyzer)
    metric_at_k(rank_by, 1)  # an unknown metric fails before any work
    try:
        setups = grid(models, chunk_sizes, overlaps, fusion, rerankers, k, depth, asr)
    except ValueError as e:
        raise typer.BadParameter(_("--models: {error}").format(error=e)) from None
    ds = load_dataset(dataset)
    with Retriever(index_config=cfg) as wb:
        plan = plan_sweep(wb, ds, setups, latency_sample=latency_sample)
        options.status(f"{ds.name}: {plan.describe()}")

        per_setup = len(sample_of(ds.judged_queries, latency_sample))  # the timed searches

        def progress(stage, done, total, what):  # one line per collection, one per finished setup
            if stage == "index":
                options.status(_("  collection {i}/{n}: {what}").format(i=done + 1, n=total, what=what))
            elif done % per_setup == 0:
                options.status(_("  setup {i}/{n} done: {what} (searched {done}/{total})").format(
                    i=done // per_setup, n=len(setups), what=what, done=done, total=total))
        result = run_sweep(wb, ds, setups, progress, metric=rank_by, rerank_prices=rerank_prices,
                           latency_sample_size=latency_sample)
    board = result.leaderboard
    from evaluators.sweep.leaderboard import Leaderboard

    lb = Leaderboard(**board)
    print(_("{dataset}: {setups} setups, {queries} judged queries, {seconds} s").format(
        dataset=ds.name, setups=len(setups), queries=lb.n_queries, seconds=f"{result.seconds:.1f}"))
    from rag.models.asr import summary

    for record in {s.asr["spec"]: s.asr for s in result.setups if s.asr}.values():
        print(summary(record))  # what each ASR model made of the sounds, WER included
    options.status(options.language_line(ds))  # on stderr, as `rag` does: stdout is the leaderboard
    shown = lb.display().drop(columns=["cost_basis"])
    print(shown.rename(columns={c: _(c) for c in shown.columns}).to_string(index=False))
    for line in lb.sentences() + lb.cost_lines() + [_("note: {note}").format(note=n) for n in lb.notes]:
        print(line)
    print(f"run_id {result.run_id}")  # i18n: internal (read by scripts)
    options.write_json(output, result.to_json(), result.run_id)
    return 0


def register(app: typer.Typer) -> None:
    command(app, "sweep", "compare whole retrieval setups: models × chunking × fusion × k × reranker")(sweep)
