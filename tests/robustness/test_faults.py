"""Faults a user meets, injected for real: the embedded Milvus killed mid-build (once, twice), a Milvus by
URI that goes away, a full disk, a damaged run store, two runs at once on one data folder.

Every case runs ``cli.py`` in a subprocess on a fresh data folder with its own Milvus Lite port
(``tests/support/fault_cli.py`` injects the fault after the first inserted chunk of a build) and
asserts the exit code, the one line on stderr, no "Traceback" on screen (the libraries' records are in
the data folder's ``logs/workbench.log``) and that nothing is lost. Oracle for the numbers: a clean run
of the same command on the same sample (known values: nDCG@10 minilm 0.8516, bm25 0.8882).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import pytest

from tests.conftest import ROOT, free_port

pytestmark = pytest.mark.slow
FAULT_CLI = str(ROOT / "tests" / "support" / "fault_cli.py")
NDCG = {"minilm": 0.8516, "bm25": 0.8882}  # the sample, k=10 (clean runs, see test_two_runs_at_once)


def _env(folder, **extra) -> dict:
    env = {**os.environ, "WORKBENCH_DATA_DIR": str(folder), "WORKBENCH_MILVUS_PORT": str(free_port()),
           "WORKBENCH_MILVUS_IDLE_S": "2", **{k: str(v) for k, v in extra.items()}}
    env.pop("MILVUS_URI", None)
    return env


def _run(args: list[str], env: dict, fault: bool = True, timeout: float = 240) -> subprocess.CompletedProcess:
    cmd = [sys.executable, FAULT_CLI if fault else "cli.py", *args]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def _stop(folder) -> None:
    from rag.milvus.server import stop_embedded
    from rag.settings import Settings

    stop_embedded(Settings(data_dir=folder, milvus_uri=""))


def _ndcg(path) -> dict:
    return {m: round(v["ndcg@10"], 4) for m, v in json.loads(path.read_text())["metrics"].items()}


def test_a_killed_embedded_milvus_is_restarted_once_and_the_job_goes_on(tmp_path):
    """bm25 is built, then the server is killed during minilm's build: bm25's complete collection is searched on
    the restarted server, minilm's cut build is redone from the embedding cache, the numbers equal a clean run's."""
    folder, log = tmp_path / "data", tmp_path / "builds.jsonl"
    env = _env(folder, FAULT="kill-embedded", KILLS=1, FAULT_MODEL="minilm", FAULT_LOG=log)
    try:
        p = _run(["retrieval", "--dataset", "sample", "--models", "bm25,minilm", "--output", str(tmp_path / "o.json")],
                 env)
        port = env["WORKBENCH_MILVUS_PORT"]
        assert p.returncode == 0, p.stderr
        assert "Traceback" not in p.stderr and "MilvusException" not in p.stderr
        notes = [line for line in p.stderr.splitlines() if line.startswith("note:")]
        assert notes == [f"note: the embedded Milvus Lite server stopped (Fail connecting to server on "
                         f"127.0.0.1:{port}, illegal connection params or server unavailable); restarted it at "
                         f"http://127.0.0.1:{port} and the job goes on"]
        assert _ndcg(tmp_path / "o.json") == NDCG  # the same numbers as a clean run
        builds = [json.loads(line) for line in log.read_text().splitlines()]
        # minilm was killed after its first chunk of 8 and the second chunk was embedded: both came from the cache
        uri = f"http://127.0.0.1:{port}"
        assert builds == [{"model": "bm25", "reused": False, "cache_hits": 0, "uri": uri},
                          {"model": "minilm", "reused": False, "cache_hits": 16, "uri": uri}]
        (restart,) = [json.loads(line) for line in (folder / "milvus" / "restarts.jsonl").read_text().splitlines()]
        assert restart["uri"] == restart["old_uri"] == uri and restart["new_pid"] != restart["old_pid"]
        assert "Traceback" in (folder / "logs" / "workbench.log").read_text()  # the details are kept, off screen
    finally:
        _stop(folder)


def test_a_second_death_is_one_line_and_a_hint(tmp_path):
    folder = tmp_path / "data"
    env = _env(folder, FAULT="kill-embedded", KILLS=2)
    try:
        p = _run(["retrieval", "--dataset", "sample", "--models", "bm25"], env)
        assert p.returncode == 2 and "Traceback" not in p.stderr, p.stderr
        assert p.stderr.strip().splitlines()[-1] == (
            f"error: The embedded Milvus Lite server of {folder} stopped again after it was restarted (see "
            f"{folder}/logs/milvus.log). Run the job again: complete collections are reused and the embedding "
            "cache keeps what was embedded. If it keeps stopping, check free disk space and memory. (details: "
            f"{folder}/logs/workbench.log)")
        assert p.stdout == ""  # no table, no run
    finally:
        _stop(folder)


def test_a_milvus_by_uri_that_goes_away_is_one_line_and_a_hint(tmp_path):
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(tmp_path / "remote"),
                               "--host", "127.0.0.1", "--port", str(port)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        from rag.processes import port_in_use

        deadline = time.monotonic() + 60
        while not port_in_use(port) and time.monotonic() < deadline:
            time.sleep(0.2)
        uri = f"http://127.0.0.1:{port}"
        env = {**_env(tmp_path / "data", FAULT="kill-pid", FAULT_PID=server.pid), "MILVUS_URI": uri}
        p = _run(["retrieval", "--dataset", "sample", "--models", "bm25"], env)
        assert p.returncode == 2 and "Traceback" not in p.stderr, p.stderr
        last = p.stderr.strip().splitlines()[-1]
        assert last.startswith(f"error: Milvus at {uri} stopped answering during the job (")
        assert last.endswith("Check MILVUS_URI / MILVUS_TOKEN and that the server is running. Run the job again: "
                             "complete collections are reused and the embedding cache keeps what was embedded. "
                             f"(details: {tmp_path}/data/logs/workbench.log)")
        assert not (tmp_path / "data" / "milvus" / "restarts.jsonl").exists()  # not ours: never restarted
    finally:
        if server.poll() is None:
            server.kill()
        server.wait(10)


@pytest.fixture
def small_disk(tmp_path):
    """A 64 MB tmpfs (real ENOSPC); skipped where mounting is not allowed (not root)."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(mnt)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    yield mnt
    _stop(mnt / "data")
    subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_a_full_disk_is_one_line_and_the_store_stays_readable(small_disk, tmp_path):
    folder = small_disk / "data"
    env = _env(folder)
    first = _run(["retrieval", "--dataset", "sample", "--models", "bm25"], env, fault=False)  # a run to keep
    assert first.returncode == 0, first.stderr
    _stop(folder)
    shutil.rmtree(folder / "milvus" / "store")  # the next run builds bm25's collection again (and meets the full disk)
    p = _run(["retrieval", "--dataset", "sample", "--models", "bm25", "--output", str(tmp_path / "o.json")],
             {**env, "FAULT": "fill-disk", "FAULT_FILL": str(small_disk / "filler")})
    assert p.returncode == 2 and "Traceback" not in p.stderr, p.stderr
    last = p.stderr.strip().splitlines()[-1]
    assert "no space left on device" in last.lower() and "free some disk space and run the job again" in last
    assert not (tmp_path / "o.json").exists()
    (small_disk / "filler").unlink()
    check = _run(["runs", "check"], env, fault=False)
    assert check.returncode == 0 and check.stdout.startswith(f"{folder}/runs.sqlite: ok"), check.stderr
    listed = _run(["runs", "--json"], env, fault=False)
    assert [r["models"] for r in json.loads(listed.stdout)] == [["bm25"]]  # the earlier run is intact


@pytest.fixture
def in_folder(monkeypatch, capsys):
    """``cli.main`` in this process on another data folder: (exit code, stdout, stderr)."""
    import cli
    from rag.settings import reset_settings

    def run(folder, *args):
        monkeypatch.setenv("WORKBENCH_DATA_DIR", str(folder))
        reset_settings()
        capsys.readouterr()
        code = cli.main(list(args))
        out, err = capsys.readouterr()
        return code, out, err
    yield run
    monkeypatch.undo()
    reset_settings()


def test_a_damaged_store_is_exit_2_with_the_remedy_and_the_job_still_delivers(tmp_path, in_folder):
    folder = tmp_path / "data"
    env = _env(folder)
    try:
        assert _run(["retrieval", "--dataset", "sample", "--models", "bm25"], env, fault=False).returncode == 0
        store = folder / "runs.sqlite"
        assert in_folder(folder, "runs")[0] == 0  # the first open of an existing store backs it up
        (backup,) = (folder / "backups").iterdir()
        assert backup.name == f"runs-{time.strftime('%Y-%m-%d')}.sqlite"
        size = store.stat().st_size
        with store.open("r+b") as f:
            f.truncate(size // 2)
        line = (f"error: run store {store} is damaged (database disk image is malformed): restore the latest backup "
                f"with `workbench runs restore`, or move it aside (e.g. `mv {store} {store}.damaged`) to start a new "
                "store")
        for args in (["runs"], ["runs", "check"], ["report", "--runs", "latest", "--output", str(tmp_path / "r.html")]):
            assert in_folder(folder, *args) == (2, "", line + "\n"), args
        out = tmp_path / "o.json"
        p = _run(["retrieval", "--dataset", "sample", "--models", "bm25", "--output", str(out)], env, fault=False)
        assert p.returncode == 2 and "Traceback" not in p.stderr
        side = folder / "runs-while-damaged.sqlite"
        assert p.stderr.strip().splitlines()[-1] == f"{line}; this run was recorded in {side} instead (its results " \
                                                    "went to --output as usual)"
        assert _ndcg(out) == {"bm25": NDCG["bm25"]}
        code, stdout, err = in_folder(folder, "runs", "restore")
        assert code == 0, err
        lines = stdout.strip().splitlines()
        assert lines[0].startswith(f"restored {store} from {backup}; the previous file is kept as {store}.damaged-")
        assert lines[1].startswith("added 1 runs recorded while the store was damaged")
        runs = json.loads(in_folder(folder, "runs", "--json")[1])
        assert [r["models"] for r in runs] == [["bm25"], ["bm25"]]  # the first run (backup) and the one kept aside
        assert in_folder(folder, "runs", "check")[0] == 0
    finally:
        _stop(folder)


def test_two_runs_at_once_on_one_data_folder_both_finish_with_equal_metrics(tmp_path):
    folder = tmp_path / "data"
    env = _env(folder)
    try:
        procs = [subprocess.Popen([sys.executable, "cli.py", "retrieval", "--dataset", "sample", "--models",
                                   "minilm", "--output", str(tmp_path / f"o{i}.json")], cwd=ROOT, env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in (1, 2)]
        results = [p.communicate(timeout=240) for p in procs]
        assert [p.returncode for p in procs] == [0, 0], [e for _, e in results]
        assert _ndcg(tmp_path / "o1.json") == _ndcg(tmp_path / "o2.json") == {"minilm": NDCG["minilm"]}
        assert all("Traceback" not in e for _, e in results)
    finally:
        _stop(folder)


def test_an_exported_script_run_later_says_how_to_start_milvus_then_works(tmp_path):
    """Export a sweep's setup, let the workbench exit (its server stops when idle), run the script in a fresh
    process: one line naming the URI and the command; after `milvus start` the same script answers."""
    folder = tmp_path / "data"
    env = _env(folder)
    script = tmp_path / "winner.py"
    try:
        assert _run(["sweep", "--dataset", "sample", "--models", "bm25", "--k", "4"], env, fault=False).returncode == 0
        p = _run(["export-setup", "--run", "latest", "--setup", "bm25 | whole | k4", "--output", str(script)], env,
                 fault=False)
        assert p.returncode == 0, p.stderr
        from rag.milvus.server import embedded_status
        from rag.settings import Settings

        settings = Settings(data_dir=folder, milvus_uri="")
        deadline = time.monotonic() + 30
        while embedded_status(settings)["running"] and time.monotonic() < deadline:
            time.sleep(0.3)  # the workbench has exited: its watchdog stops the server 2 s later
        assert not embedded_status(settings)["running"]
        user_env = {k: v for k, v in os.environ.items() if not k.startswith(("WORKBENCH_", "MILVUS_"))}
        uri = f"http://127.0.0.1:{env['WORKBENCH_MILVUS_PORT']}"
        late = subprocess.run([sys.executable, str(script), "auto garbage collection"], cwd=tmp_path, env=user_env,
                              capture_output=True, text=True, timeout=120)
        assert late.returncode == 1 and late.stdout == "" and "Traceback" not in late.stderr
        (line,) = late.stderr.strip().splitlines()
        assert line.startswith(f"error: cannot connect to Milvus at {uri} (")
        assert line.endswith("start it with `workbench milvus start` (or `python cli.py milvus start`) in the "
                             "workbench's folder, with the same WORKBENCH_DATA_DIR; otherwise set MILVUS_URI (and "
                             "MILVUS_TOKEN).")
        started = _run(["milvus", "start"], env, fault=False)
        assert started.stdout.strip() == (f"Milvus Lite (embedded) of {folder} runs at {uri} (pid "
                                          f"{embedded_status(settings)['pid']}); it stays up until `workbench milvus "
                                          "stop`"), started.stderr
        time.sleep(3)  # longer than the idle grace: a kept server stays up
        assert embedded_status(settings)["running"] and embedded_status(settings)["kept"]
        ok = subprocess.run([sys.executable, str(script), "auto garbage collection"], cwd=tmp_path, env=user_env,
                            capture_output=True, text=True, timeout=120)
        assert ok.returncode == 0, ok.stderr
        hits = json.loads(ok.stdout)
        assert len(hits) == 4 and all(isinstance(d, str) and s > 0 for d, s in hits)
        stopped = _run(["milvus", "stop"], env, fault=False)
        assert stopped.stdout.startswith("stopped Milvus Lite (pid ") and not embedded_status(settings)["running"]
    finally:
        _stop(folder)


def test_a_full_disk_during_a_rag_run_marks_it_failed_with_the_reason(small_disk, tmp_path):
    folder = small_disk / "data"
    env = _env(folder)
    p = _run(["rag", "--dataset", "sample", "--models", "bm25", "--limit", "3", "--k", "2", "--metrics", "rouge_l"],
             {**env, "FAULT": "fill-disk", "FAULT_FILL": str(small_disk / "filler")})
    assert p.returncode == 2 and "Traceback" not in p.stderr, p.stderr
    assert "no space left on device" in p.stderr.strip().splitlines()[-1].lower()
    from rag.runs import RunStore

    (run,) = RunStore(folder / "runs.sqlite").list()  # readable while the disk is still full
    assert run.status == "failed" and "no space left on device" in run.error.lower(), run.error
    (small_disk / "filler").unlink()
    assert _run(["runs", "check"], env, fault=False).returncode == 0
