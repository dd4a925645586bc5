"""``python cli.py export-setup``: hand back one setup of a sweep as a standalone script.

    python cli.py export-setup --run latest --setup "hybrid | whole | rrf:60 | k4" --format pymilvus \\
        --output winner.py
    MILVUS_URI=http://127.0.0.1:19531 python winner.py "some question"     # [[doc_id, score], ...]

Both formats reproduce every setup: ``--format pymilvus`` with plain client calls, ``--format langchain``
as a LangChain retriever (a ``langchain-milvus`` search, then the reranker and the chunk → document
collapse as document compressors). A bad run, setup or format exits 2 with one line. What the script
holds and needs: ``evaluators.sweep.export``.
"""

from __future__ import annotations

from typing import Annotated

import typer

from commands import options
from commands.options import command
from rag.i18n import _


def _format(text: str) -> str:
    from evaluators.sweep.export import FORMATS

    if text not in FORMATS:
        raise typer.BadParameter(_("--format: {value} is not one of {choices}").format(
            value=repr(text), choices=", ".join(FORMATS)))
    return text


def export_setup(run: Annotated[str, typer.Option(help="a sweep run id, or latest")],
                 setup: Annotated[str, typer.Option(help="a setup id, e.g. 'minilm | whole | k10'")],
                 output: Annotated[str, options.output_option("write the script here, e.g. winner.py")],
                 format: Annotated[str, typer.Option("--format", parser=_format, metavar="pymilvus|langchain",
                                                     help="pymilvus or langchain (both: every setup)")] = "pymilvus",
                 ) -> int:
    from evaluators.sweep.export import export_setup as render
    from rag.outputs import write_atomic

    text = render(run, setup, format)
    write_atomic(output, text)
    options.status(_("wrote {path}: python {path} \"some question\" (needs MILVUS_URI; see its docstring)").format(
        path=output))
    return 0


def register(app: typer.Typer) -> None:
    command(app, "export-setup", "a sweep setup as a standalone script (pymilvus or LangChain)")(export_setup)
