"""Headless entry for every job the pages do: scripts, CI gates, benchmarks.

    python cli.py --help                 # or, after `pip install -e .`: workbench --help
    python cli.py retrieval --dataset sample --models minilm,bm25 --k 10 --output results.json

One typer app (``commands/``: one module per command group); exit 0 ok, 1 missed or failed rows,
2 bad input with one line ``error: …`` on stderr.
"""

from __future__ import annotations

import sys

import typer

from commands.app import PROG, build_app

app = build_app()


def main(argv: list[str] | None = None) -> int:
    """Run one command line (``sys.argv[1:]`` when None) and return its exit code."""
    return typer.main.get_command(app).main(argv, prog_name=PROG, standalone_mode=False)


def run() -> None:
    """The ``workbench`` command (``pip install -e .``): the same app as ``python cli.py``."""
    sys.exit(main())


if __name__ == "__main__":
    run()
