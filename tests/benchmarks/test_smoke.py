"""Every script in benchmarks/ still runs: ``benchmarks/smoke.py`` (each script with ``--smoke``, tiny sizes).

Why: a benchmark nobody runs rots (``bench_ragas_concurrency.py`` launched a test server by a path that
had moved; ``bench_scale.py`` handed ``ensure_collection`` a dataset without ``modality``): both were found
by this test. Run the way a user runs them, from a directory outside the repository with nothing on
PYTHONPATH, so a script that only works from the project root, or with the tests' sys.path, fails here.
The figures a smoke run prints mean nothing and are not checked; speed is never asserted in a test. Two
processes side by side (``--jobs 2``): the scripts mostly wait on servers and load, so this halves the wait.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT, SCIFACT

BENCH = ROOT / "benchmarks"


@pytest.mark.slow
def test_every_benchmark_runs_in_smoke_mode(tmp_path):
    own = ("PYTHONPATH", "WORKBENCH_DATA_DIR", "WORKBENCH_MILVUS_PORT")  # each script makes its own
    env = {k: v for k, v in os.environ.items() if k not in own}
    p = subprocess.run([sys.executable, str(BENCH / "smoke.py"), "--jobs", "2"], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=600)
    lines = {ln.split()[2]: ln.split()[1] for ln in p.stdout.splitlines() if ln.startswith("SMOKE ")}
    expected = {f.stem for f in BENCH.glob("bench_*.py")}
    assert set(lines) == expected, p.stdout[-3000:] + p.stderr[-3000:]
    want = {n: ("ok" if n != "bench_scale" or (SCIFACT / "corpus.jsonl").exists() else "skipped") for n in expected}
    assert lines == want, p.stdout[-3000:] + p.stderr[-5000:]
    assert p.returncode == 0
    assert "smoke run" in p.stdout  # each script said its figures mean nothing
    assert not list(tmp_path.iterdir())  # nothing written where it was run from
