"""Library loggers write to the data folder's log, never the terminal (``rag/logs.py``).

In a fresh process (the way the CLI and the app start): after ``setup_logging``, records with tracebacks from
pymilvus (whose own console handlers are installed at import, after start-up), grpc, httpx, transformers (its
lazily added stderr handler), Ragas and LangChain, and a Python warning, all land in ``logs/workbench.log``;
stderr stays empty, whichever library was imported first.
"""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import ROOT

SCRIPT = """
import logging, warnings
from rag.logs import setup_logging
path = setup_logging()
import pymilvus  # installs StreamHandlers on 'pymilvus' (propagate=False)
import transformers.utils.logging as tl
tl.get_logger("transformers.modeling_utils").error("transformers says no")
for name in ("pymilvus.decorators", "grpc._channel", "httpx", "ragas.executor", "langchain_core.callbacks",
             "transformers.modeling_utils"):
    try:
        raise RuntimeError(f"boom from {name}")
    except RuntimeError:
        logging.getLogger(name).exception("failed: %s", name)
warnings.warn("a library warning")
print(path)
"""


def test_library_records_and_warnings_go_to_the_log_file_only(tmp_path):
    env = {**os.environ, "WORKBENCH_DATA_DIR": str(tmp_path)}
    p = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and p.stderr == "", p.stderr
    log = (tmp_path / "logs" / "workbench.log").read_text()
    assert p.stdout.strip() == str(tmp_path / "logs" / "workbench.log")
    for name in ("pymilvus.decorators", "grpc._channel", "httpx", "ragas.executor", "langchain_core.callbacks",
                 "transformers.modeling_utils"):
        assert f"ERROR {name}: failed: {name}" in log and f"RuntimeError: boom from {name}" in log
    assert log.count("Traceback (most recent call last)") == 6
    assert "a library warning" in log and "ERROR transformers.modeling_utils: transformers says no" in log
