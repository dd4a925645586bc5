"""The CLI's commands, one module per command group; ``cli.py`` builds the one typer app from here.

``app`` holds the app and its error policy (exit 0/1/2, one ``error:`` line), ``options`` the
options several commands share; ``retrieval``, ``rag``, ``loadtest``, ``runs`` (runs, report, gate,
export), ``milvus`` and ``demo`` each register their commands. A command parses and prints; the job
itself is a function of ``rag``/``evaluators``/``loadtests`` (the pages call the same ones), imported
when the command runs so ``python cli.py --help`` stays fast.
"""
