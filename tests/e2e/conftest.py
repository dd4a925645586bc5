"""Browser fixtures: the real app under ``streamlit run`` and headless Debian Chromium driven by Playwright.

- ``e2e_secret``: an API key made up for this session. The app runs with it set (``OPENAI_API_KEY``), the
  secrets test then scans everything written for it.
- ``e2e_llm``: the local OpenAI-compatible test server (tests/support/openai_test_server.py), the LLM
  generator and judge; ``OPENAI_BASE_URL`` points the app at it.
- ``streamlit_app``: ``streamlit run app.py --server.headless true --server.address 127.0.0.1
  --server.port <free>`` with the session's ``WORKBENCH_DATA_DIR`` / ``WORKBENCH_MILVUS_PORT`` (so it
  reuses the session's Milvus Lite server), its output in ``<data>/logs/streamlit-e2e.log``; its process
  group is killed at the end.
- ``browser`` / ``st_page``: one Chromium and one page (a ``StreamlitPage``) per module, so a journey keeps
  its Streamlit session across steps. Screenshots and downloads go to ``test-artifacts/`` (git-ignored; a
  pytest-xdist worker gwN writes into ``test-artifacts/gwN/``).

Every browser test is skipped, with the reason, when /usr/bin/chromium is absent (``scripts/install_browser.sh``
installs it); CI has it.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ARTIFACTS as ALL_ARTIFACTS
from tests.conftest import ROOT, WORKER, free_port
from tests.e2e.streamlit_page import StreamlitPage

CHROMIUM = Path("/usr/bin/chromium")
# this process's screenshots and downloads: test-artifacts/, or test-artifacts/gwN/ in pytest-xdist worker gwN
# (two workers' downloads of the same file name, a report.html, must not overwrite each other)
ARTIFACTS = ALL_ARTIFACTS / WORKER if WORKER else ALL_ARTIFACTS
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update"]


def pytest_collection_modifyitems(config, items):
    if CHROMIUM.exists():
        return
    skip = pytest.mark.skip(reason=f"{CHROMIUM} not found: browser tests need Debian's chromium "
                                   "(scripts/install_browser.sh, or apt-get install chromium fonts-noto-color-emoji)")
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.fspath)).resolve().parents:
            item.add_marker(skip)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On a failed browser step, keep what the user would have seen: a screenshot and the page text."""
    outcome = yield
    report = outcome.get_result()
    sp = item.funcargs.get("st_page") if hasattr(item, "funcargs") else None
    if report.when == "call" and report.failed and isinstance(sp, StreamlitPage):
        try:
            name = f"FAILED-{item.name}"
            sp.page.screenshot(path=str(sp.artifacts / f"{name}.png"), full_page=True)
            (sp.artifacts / f"{name}.txt").write_text(sp.page.locator("body").inner_text())
            report.sections.append(("browser", f"screenshot and page text: test-artifacts/{name}.png/.txt"))
        except Exception as e:  # the browser itself may be gone
            report.sections.append(("browser", f"no screenshot: {e}"))


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """test-artifacts/, emptied once per session so every file in it comes from this run (under xdist: the
    controller empties it before the workers start, each worker writes into its own test-artifacts/gwN/)."""
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    (ARTIFACTS / "downloads").mkdir(parents=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def e2e_secret() -> str:
    """The key the app starts with (OPENAI_API_KEY)."""
    return "sk-e2e-env-" + secrets.token_hex(20)


@pytest.fixture(scope="session")
def e2e_sidebar_secret() -> str:
    """A second key, typed into the sidebar's password field mid-journey (kept in memory only)."""
    return "sk-e2e-typed-" + secrets.token_hex(20)


@pytest.fixture(scope="session")
def e2e_llm():
    from tests.support.openai_test_server import JudgeServer

    with JudgeServer() as srv:
        yield srv


@dataclass
class App:
    url: str
    proc: subprocess.Popen
    log: Path
    env: dict

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def descendants(self) -> list[int]:
        """Pids of every live process below the app (the load-test service, Locust, ...)."""
        children: dict[int, list[int]] = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z":
                children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
        out, todo = [], [self.proc.pid]
        while todo:
            for child in children.get(todo.pop(), []):
                out.append(child)
                todo.append(child)
        return out

    def stop(self, grace: float = 15.0) -> list[int]:
        """Stop the app as a user would (SIGTERM to its group) and return the pids of any of its
        descendants still alive ``grace`` seconds later (then killed, so nothing outlives the tests)."""
        below = self.descendants()
        _stop_group(self.proc)
        deadline = time.monotonic() + grace
        alive = below
        while alive and time.monotonic() < deadline:
            time.sleep(0.3)
            alive = [pid for pid in below if _alive(pid)]
        for pid in alive:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return alive


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _wait_healthy(url: str, proc: subprocess.Popen, log: Path, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {proc.returncode}:\n{log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                if r.read().decode().strip() == "ok":
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"streamlit did not answer on {url} within {timeout:.0f} s:\n{log.read_text()[-2000:]}")


def _stop_group(proc: subprocess.Popen, grace: float = 10.0) -> None:
    if proc.poll() is not None:
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
            proc.wait(grace)
            return
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue


def launch_app(data_dir: Path, env_extra: dict, extra_args: tuple[str, ...] = (), log_name: str = "streamlit-e2e",
               port: int | None = None):
    """Start ``streamlit run app.py`` on 127.0.0.1 and ``port`` (a free one by default) with the session's data
    folder and Milvus port plus ``env_extra``; an ``App`` once it answers its health check (``app.stop()``)."""
    port = port or free_port()
    env = os.environ.copy()
    env.update({"WORKBENCH_DATA_DIR": str(data_dir), "WORKBENCH_MILVUS_PORT": os.environ["WORKBENCH_MILVUS_PORT"],
                "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false", "PYTHONUNBUFFERED": "1", **env_extra})
    log = data_dir / "logs" / f"{log_name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
           "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false",
           "--server.fileWatcherType", "none", "--server.runOnSave", "false", *extra_args]
    with open(log, "ab") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    app = App(f"http://127.0.0.1:{port}", proc, log, env)
    try:
        _wait_healthy(app.url, proc, log)
    except BaseException:
        app.stop()
        raise
    return app


def _e2e_app(data_dir: Path, e2e_llm, e2e_secret: str) -> App:
    return launch_app(data_dir, {"OPENAI_API_KEY": e2e_secret, "OPENAI_BASE_URL": e2e_llm.base_url,
                                 "WORKBENCH_MAX_UPLOAD_MB": "1"})  # so an oversized upload is cheap to make


def _stop_e2e_app(app: App) -> None:
    app.stop()
    if app.log.exists() and ARTIFACTS.exists():  # for CI: what the app printed (already scanned for keys)
        shutil.copy(app.log, ARTIFACTS / "streamlit-e2e.log")


@pytest.fixture(scope="module")
def streamlit_app(milvus, data_dir, e2e_llm, e2e_secret):
    """The app as ``make run`` starts it, on a free port, with an API key and the test LLM server. One per
    test module, so no module sees another's leftovers (cached models, session state, a stopped app)."""
    app = _e2e_app(data_dir, e2e_llm, e2e_secret)
    try:
        yield app
    finally:
        _stop_e2e_app(app)


@pytest.fixture(scope="package")
def shared_app(milvus, data_dir, e2e_llm, e2e_secret):
    """One app (as ``streamlit_app``) for the modules that only walk pages in their own browser session and
    leave the app running as they found it (the demo, Decide, the Chinese page scans and sample, hostile uploads,
    the image and audio journeys, the two users; not the journey that stops its app, nor sign-in's own app): each
    such module still gets its own Chromium and its own Streamlit session (a new browser context is a new
    session: its own state, language and dataset), only the server's start and first page load (~15-25 s on
    2 cores) are paid once, not per module. A module opts in by overriding ``streamlit_app``::

        @pytest.fixture(scope="module")
        def streamlit_app(shared_app):
            return shared_app

    Stopped after the last browser test (package scope: tests/e2e runs as one block, see tests/conftest.py)."""
    app = _e2e_app(data_dir, e2e_llm, e2e_secret)
    try:
        yield app
    finally:
        _stop_e2e_app(app)


@pytest.fixture(scope="module")
def browser():
    """Chromium for one test module. Module-scoped on purpose: while Playwright's sync API is active its
    event loop counts as running in this thread, so every later ``asyncio.run()`` (Ragas, the generators)
    would fail with "cannot be called from a running event loop"; leaving the module stops it."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def st_page(browser, streamlit_app, artifacts):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(120_000)
    sp = StreamlitPage(page, streamlit_app, artifacts)
    sp.open()
    yield sp
    context.close()
