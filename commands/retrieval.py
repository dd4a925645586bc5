"""``python cli.py retrieval``: compare embedding models' retrieval on a dataset (the Retrieval page).

    python cli.py retrieval --dataset sample --models minilm,bm25 --k 10 --output results.json

Prints the metric table and the run id; ``--output`` gets ``{"run_id", "dataset", "k", "metrics",
"rankings"}``.
"""

from __future__ import annotations

from typing import Annotated

import typer

from commands import options
from commands.options import command
from rag.i18n import N_, _

STAGES = (N_("embed"), N_("insert"))  # rag.milvus.store's progress stages, as catalog keys


def retrieval(dataset: Annotated[str, typer.Option(help="'sample', 'image-sample', 'audio-sample', 'video-sample', a "
                                                    "BEIR folder, an image, audio or video folder (corpus/ of "
                                                    "images, sounds or videos, "
                                                    "queries.jsonl, qrels/test.tsv), or "
                                                    "files: docs.xlsx,faq.csv or guide.docx,page.html,faq.xlsx#Sheet")],
              models: Annotated[options.NameList, options.models_option()] = "minilm,bm25",
              k: int = 10,
              index: options.IndexType = "FLAT", metric: options.Metric = "COSINE",
              index_params: options.IndexParams = "{}",
              bm25_analyzer: options.Bm25Analyzer = "auto",
              output: Annotated[str | None, options.output_option()] = None,
              queries: Annotated[str, typer.Option(help="which queries: all, text, image or audio (an img: / "
                                                        "aud: model embeds image / audio queries only)")] = "all",
              asr: Annotated[str | None, typer.Option(help="asr:FOLDER (a Whisper folder): transcribe an audio "
                                                          "dataset into timed text segments (ids file.wav@12.0-15.5) "
                                                          "and compare text models on them")] = None
              ) -> int:
    from evaluators.retrieval.evaluate import run_retrieval
    from rag.data.loaders import load_dataset
    from rag.models.registry import resolve
    from rag.retrieval import Retriever

    cfg = options.index_config(index, metric, index_params, bm25_analyzer)  # bad settings fail before the data loads
    if queries not in ("all", "text", "image", "audio"):
        raise typer.BadParameter(_("--queries {value}: give all, text, image or audio").format(value=queries))
    ds = load_dataset(dataset).select_queries(queries)
    asr_record = None
    if asr:
        from evaluators.retrieval.asr_record import asr_run_record
        from rag.models.asr import transcribe

        ds, asr_report = transcribe(ds, asr, progress=lambda done, total: options.status(
            "  " + _("{asr}: transcribed {done}/{total}").format(asr=asr, done=done, total=total))
            if done == total or done % 10 == 0 else None)
        print(asr_report.line())
        asr_record = asr_run_record(asr_report, asr)  # the run and the JSON say which model made the text
    with Retriever(index_config=cfg) as wb:
        wb.store.capabilities.require([resolve(m) for m in models], wb.index_config)  # before any work

        shown: dict[str, int] = {}

        def progress(model, stage, done, total):
            if stage == "download":
                tenth = 10 * done // max(total, 1)
                if done == total or tenth > shown.get(model, -1):  # a line per tenth of the bytes, and the last
                    shown[model] = tenth
                    options.status(_("  {model}: downloading {done}/{total} MB ({percent})").format(
                        model=model, done=f"{done / 1e6:,.1f}", total=f"{total / 1e6:,.1f}",
                        percent=f"{done / max(total, 1):.0%}"))
            elif stage != "search" and (done == total or done % 1000 < 64):
                options.status(f"  {model}: {_(stage)} {done}/{total}")  # STAGES: the store's stage names
        result = run_retrieval(wb, ds, models, k=k, progress=progress,  # records the index config too
                               config={"asr": asr_record} if asr_record else None)
    run_id = result.run_id
    frame = result.metrics_frame()
    print(_("{dataset}: {docs} documents, {queries} judged queries, k={k}").format(
        dataset=ds.name, docs=len(ds.documents), queries=len(ds.judged_queries), k=k))
    print(options.language_line(ds))
    if "bm25_analyzer" in result.language:
        print(options.analyzer_line(result.language["bm25_analyzer"]))
    frame.index.name = _(frame.index.name) if frame.index.name else None  # "model": 模型 (metric names stay)
    print(frame.to_string(float_format=lambda x: f"{x:.4f}"))
    for model, why in result.language.get("model_fit", {}).items():
        print(_("note: {model}: {why}").format(model=model, why=why))
    from evaluators.retrieval.evaluate import limits_line

    for m, info in result.model_info.items():
        print(limits_line(m, info))
    print(f"run_id {run_id}")  # i18n: internal (read by scripts)
    extra = {"asr": asr_record} if asr_record else {}
    options.write_json(output, {"run_id": run_id, **result.to_json(), **extra}, run_id)
    return 0


def register(app: typer.Typer) -> None:
    command(app, "retrieval", "compare embedding models' retrieval on a dataset")(retrieval)
