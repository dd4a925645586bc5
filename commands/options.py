"""Options several commands share, parsed and refused the same way in every command.

A model list ("minilm,bm25") and any comma-separated list become a ``NameList``; ``--output`` is
checked writable while the command line is parsed, so a typo in a path costs nothing (no model
loaded, no run recorded); the three index flags make the ``IndexConfig`` every run kind records.
A refused value raises ``typer.BadParameter`` with a message that starts with the flag, which the
app prints as one line ``error: --output /x: folder /x does not exist`` (exit 2).

Usage:
    def retrieval(models: Annotated[NameList, models_option()] = "minilm,bm25",
                  output: Annotated[str | None, output_option()] = None,
                  index: IndexType = "FLAT", metric: Metric = "COSINE", index_params: IndexParams = "{}"): ...
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from rag.i18n import _
from rag.milvus.analyzers import analyzer_names
from rag.milvus.index_config import INDEX_TYPES, IndexConfig


class NameList(list):
    """The values of a comma-separated option, in order (a list; its own type so typer reads one value)."""


def name_list(text: str | list) -> NameList:
    """'a, b,,c' -> ['a', 'b', 'c'] (an empty list when nothing is named)."""
    if isinstance(text, list):
        return NameList(text)
    return NameList(t.strip() for t in text.split(",") if t.strip())


def model_list(text: str | list) -> NameList:
    """A comma-separated model list with at least one model."""
    models = name_list(text)
    if not models:
        raise typer.BadParameter(_("give at least one model, e.g. minilm,bm25"))
    return models


def models_option(help: str = "comma-separated, e.g. minilm,bm25"):
    return typer.Option("--models", parser=model_list, metavar="MODELS", help=help)


def checked_output(output: str | None) -> str | None:
    """``--output FILE``: refused now when the file cannot be written (``rag.outputs.check_output``)."""
    from rag.outputs import check_output

    try:
        check_output(output)
    except ValueError as e:
        raise typer.BadParameter(str(e)) from None
    return output


def output_option(help: str = "write the JSON result here"):
    return typer.Option("--output", parser=checked_output, metavar="FILE", help=help)


def checked_output_dir(output: str) -> Path:
    """``--output`` of ``demo`` is a folder: refuse a file, a missing parent or an unwritable folder
    before any work (the folder itself is created when its parent exists)."""
    import tempfile

    path = Path(output)
    if path.exists() and not path.is_dir():
        raise typer.BadParameter(_("--output {output}: is a file; give a folder").format(output=output))
    if not path.exists():
        if not path.resolve().parent.is_dir():
            raise typer.BadParameter(_("--output {output}: folder {folder} does not exist").format(
                output=output, folder=path.resolve().parent))
        try:
            path.mkdir()
        except OSError as e:
            raise typer.BadParameter(_("--output {output}: cannot create it ({reason})").format(
                output=output, reason=e.strerror or e)) from None
    try:
        with tempfile.NamedTemporaryFile(dir=path, prefix=".demo.", suffix=".check"):
            pass
    except OSError as e:
        raise typer.BadParameter(_("--output {output}: folder is not writable ({reason})").format(
            output=output, reason=e.strerror or e)) from None
    return path


# --index, --metric, --index-params: the same choices as the Index page, recorded in every run kind.
IndexType = Annotated[str, typer.Option("--index", help=f"vector index: {', '.join(INDEX_TYPES)} (FLAT = exact)")]
Metric = Annotated[str, typer.Option("--metric", help="COSINE, IP or L2")]
IndexParams = Annotated[str, typer.Option(
    "--index-params", help='JSON overrides: HNSW M, efConstruction, ef; IVF nlist, nprobe, e.g. \'{"M": 32}\'')]

Bm25Analyzer = Annotated[str, typer.Option(
    "--bm25-analyzer", help=f"BM25/hybrid tokenizer: {', '.join(analyzer_names())}; auto = chosen from the "
    "corpus' language (English: standard + stop words, Chinese: jieba / chinese)")]


def index_config(index: str, metric: str, index_params: str, bm25_analyzer: str = "auto") -> IndexConfig:
    """The index flags as one config; a bad value raises ValueError (exit 2) before any work."""
    return IndexConfig.parse(index, metric, index_params, bm25_analyzer)


def language_line(ds) -> str:
    """The dataset's languages in one line, printed by every command that loads a dataset."""
    from rag.data.language import profile_dataset

    return _("language: {summary}").format(summary=profile_dataset(ds).summary())


def analyzer_line(choice: dict) -> str:
    """``BM25 analyzer: jieba (chosen for Chinese)`` from a run's recorded ``bm25_analyzer``."""
    from rag.data.language import language_name

    how = (_("chosen for {language}").format(language=language_name(choice["language"])) if choice["chosen"] == "auto"
           else _("set by you"))
    note = _("; ") + _(choice["note"]) if choice.get("note") else ""
    return _("BM25 analyzer: {name} ({how}{note})").format(name=choice["name"], how=how, note=note)


def write_json(output: str | None, payload: dict, run_id: str | None = None) -> None:
    """Write ``--output`` atomically; when that fails after a run was recorded, the run is marked failed
    with the reason and the error says so."""
    from rag.outputs import write_atomic

    if not output:
        return
    try:
        write_atomic(output, json.dumps(payload, indent=2, ensure_ascii=False))
    except OSError as e:
        if run_id:
            from rag.runs import RunStore

            RunStore.default().set_status(run_id, "failed", str(e))
        raise OSError(_("{error} (run {run} marked failed)").format(error=e, run=run_id) if run_id
                      else str(e)) from None
    print(_("wrote {path}").format(path=output))


def status(line: str) -> None:
    """A progress line: on stderr (stdout carries the result), flushed so a pipe sees it now."""
    print(line, file=sys.stderr, flush=True)


def command(app: typer.Typer, name: str, help: str):
    """``@command(app, "runs", "list stored runs")``: the help line is shown whole in the command list."""
    return app.command(name, help=help, short_help=help)
