"""Browser fixtures: the real app under ``streamlit run`` and headless Debian Chromium driven by Playwright.

- ``e2e_secret``: an API key made up for this session. The app runs with it set (``OPENAI_API_KEY``), the
  secrets test then scans everything written for it.
- ``e2e_llm``: the local OpenAI-compatible test server (tests/openai_test_server.py), the LLM
  generator and judge; ``OPENAI_BASE_URL`` points the app at it.
- ``streamlit_app``: ``streamlit run app.py --server.headless true --server.address 127.0.0.1
  --server.port <free>`` with the session's ``WORKBENCH_DATA_DIR`` / ``WORKBENCH_MILVUS_PORT`` (so it
  reuses the session's Milvus Lite server), its output in ``<data>/logs/streamlit-e2e.log``; its process
  group is killed at the end.
- ``browser`` / ``st_page``: one Chromium and one page (a ``StreamlitPage``) per module, so a journey keeps
  its Streamlit session across steps. Screenshots and downloads go to ``test-artifacts/`` (git-ignored).

Every browser test is skipped, with the reason, when /usr/bin/chromium is absent (``scripts/install_browser.sh``
installs it); CI has it.
"""

from __future__ import annotations

import json
import os
import re
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

from tests.conftest import ROOT, free_port

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update"]
NAV = '[data-testid="stSidebarNav"]'
STATUS = '[data-testid="stStatusWidget"]'


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
    """test-artifacts/, emptied once per session so every file in it comes from this run."""
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
    from tests.openai_test_server import JudgeServer

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


@pytest.fixture(scope="module")
def streamlit_app(milvus, data_dir, e2e_llm, e2e_secret):
    """The app as ``make run`` starts it, on a free port, with an API key and the test LLM server. One per
    test module, so no module sees another's leftovers (cached models, session state, a stopped app)."""
    port = free_port()
    env = os.environ.copy()
    env.update({"WORKBENCH_DATA_DIR": str(data_dir), "WORKBENCH_MILVUS_PORT": os.environ["WORKBENCH_MILVUS_PORT"],
                "OPENAI_API_KEY": e2e_secret, "OPENAI_BASE_URL": e2e_llm.base_url,
                "WORKBENCH_MAX_UPLOAD_MB": "1",  # so an oversized upload is cheap to make
                "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false", "PYTHONUNBUFFERED": "1"})
    log = data_dir / "logs" / "streamlit-e2e.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
           "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false",
           "--server.fileWatcherType", "none", "--server.runOnSave", "false"]
    with open(log, "ab") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    app = App(url, proc, log, env)
    try:
        _wait_healthy(url, proc, log)
        yield app
    finally:
        app.stop()
        if log.exists() and ARTIFACTS.exists():  # for CI: what the app printed (already scanned for keys)
            shutil.copy(log, ARTIFACTS / "streamlit-e2e.log")


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


class StreamlitPage:
    """A Playwright page plus the few moves a Streamlit app needs: navigate, wait for reruns, screenshot."""

    def __init__(self, page, app: App, artifacts: Path):
        self.page, self.app, self.artifacts = page, app, artifacts
        self.dialogs: list[str] = []   # any alert()/confirm() would mean injected script ran
        self.console_errors: list[str] = []
        page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        page.on("console", lambda m: self.console_errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.console_errors.append(str(e)))

    # ------------------------------------------------------------------ waiting
    def running(self) -> bool:
        status = self.page.locator(STATUS)
        try:
            return status.count() > 0 and any(w in status.first.inner_text(timeout=1000) for w in ("Stop", "Running"))
        except Exception:  # the widget vanished between the two calls
            return False

    def wait_idle(self, timeout: float = 120.0, settle: float = 0.4, start: float = 1.5) -> None:
        """Until the script run a click started has finished (Streamlit's running indicator is gone); a run
        may start up to ``start`` seconds after the click (0: only wait for a run already under way)."""
        deadline = time.monotonic() + start
        while not self.running() and time.monotonic() < deadline:  # a rerun may start a moment after a click
            time.sleep(0.1)
        deadline = time.monotonic() + timeout
        while self.running():
            if time.monotonic() > deadline:
                raise TimeoutError(f"the app was still running after {timeout:.0f} s")
            time.sleep(0.2)
        time.sleep(settle)

    def text(self, text: str | re.Pattern, timeout: float = 120.0, exact: bool = False):
        """Wait for visible text in the main area and return its locator."""
        loc = self.main.get_by_text(text, exact=exact).first
        loc.wait_for(state="visible", timeout=timeout * 1000)
        return loc

    def cell(self, text: str, timeout: float = 60.0):
        """A st.dataframe cell by its text. The grid draws on a canvas; its accessible copy is in the DOM
        but visually hidden, so this waits for the cell to be attached, not visible."""
        loc = self.main.locator('[data-testid="stDataFrame"] [role="gridcell"]').filter(
            has_text=re.compile("^" + re.escape(text) + "$")).first
        loc.wait_for(state="attached", timeout=timeout * 1000)
        return loc

    @property
    def main(self):
        return self.page.locator('[data-testid="stMain"]')

    # ------------------------------------------------------------------ moves
    def open(self) -> None:
        self.page.goto(self.app.url)
        self.page.locator(NAV).wait_for(timeout=120_000)
        self.wait_idle()

    def nav_links(self) -> list[str]:
        links = self.page.locator(NAV).locator('[data-testid="stSidebarNavLink"]').all_inner_texts()
        return [t.strip().split("\n")[-1].strip() for t in links]  # the icon comes first

    def goto(self, name: str, title: str | None = None, timeout: float = 180.0) -> None:
        """Click the sidebar link ``name`` and wait for the page's title (h1) and its first run. A click
        that lands while the previous page is still settling can be lost, so it is repeated once."""
        heading = self.page.locator("h1").filter(has_text=title or name).first
        for attempt in range(2):
            self.page.locator(NAV).get_by_text(name, exact=True).click()
            try:
                heading.wait_for(timeout=(30.0 if attempt == 0 else timeout) * 1000)
                break
            except Exception:
                if attempt:
                    raise
        self.wait_idle(timeout)

    def button(self, name: str, timeout: float = 300.0) -> None:
        self.wait_idle(settle=0.2, start=0)  # never click into a rerun in flight: its click can be lost
        self.main.get_by_role("button", name=name, exact=True).first.click()
        self.wait_idle(timeout)

    def press(self, name: str, until, timeout: float = 300.0, attempts: int = 3, idle_grace: float = 4.0) -> None:
        """Click the button ``name`` until the state that click must produce is there: ``until`` is a text or
        pattern to see in the main area, or a function returning True. A click that lands while a rerun is
        in flight is lost (seen: the RAG page's Run, then a 300 s time-out); so when the app has been idle
        for ``idle_grace`` seconds without that state, the click never started anything: click again."""
        if not callable(until):
            target = self.main.get_by_text(until).first
            until = lambda: target.is_visible()  # noqa: E731
        btn = self.main.get_by_role("button", name=name, exact=True).first
        deadline = time.monotonic() + timeout
        for attempt in range(1, attempts + 1):
            self.wait_idle(timeout=max(deadline - time.monotonic(), 1.0), settle=0.2, start=0)
            if until():
                return
            btn.click()
            idle_since = None
            while time.monotonic() < deadline:
                if until():
                    self.wait_idle(timeout=max(deadline - time.monotonic(), 1.0))
                    return
                if self.running():
                    idle_since = None
                elif idle_since is None:
                    idle_since = time.monotonic()
                elif time.monotonic() - idle_since > idle_grace:
                    break  # idle, and nothing the click must produce: it was lost
                time.sleep(0.25)
            else:
                raise TimeoutError(f"'{name}' (click {attempt}) did not produce the expected state in {timeout:.0f} s")
        raise AssertionError(f"{attempts} clicks on '{name}' never produced the expected state")

    def select(self, label: str, option: str, exact: bool = True) -> None:
        """Pick ``option`` in the st.selectbox / st.multiselect labelled ``label`` (react-aria combobox);
        ``exact=False`` matches an option containing ``option``."""
        box = self.main.get_by_role("combobox", name=label, exact=True).first
        opt = self.page.get_by_role("option", name=option, exact=exact).first
        for attempt in range(4):
            if attempt == 2:  # typing filters the list and always opens it
                box.fill(option[:30])
            else:
                box.click()
            try:
                opt.wait_for(state="visible", timeout=5000)
                break
            except Exception:
                self.page.keyboard.press("Escape")
                time.sleep(0.5)
        opt.click()
        if box.get_attribute("aria-expanded") == "true":
            self.page.keyboard.press("Escape")
        self.wait_idle()

    def milvus_answers(self) -> bool:
        return "answers" in self.page.locator('[data-testid="stSidebar"] [data-testid="stAlert"]').first.inner_text()

    def field(self, label: str, within=None):
        """The input or textarea of the widget labelled ``label`` (not its help button)."""
        q = json.dumps(label, ensure_ascii=False)
        return (within or self.main).locator(f"input[aria-label={q}], textarea[aria-label={q}]").first

    def fill(self, label: str, value: str, within=None) -> None:
        self.wait_idle(settle=0.2, start=0)
        box = self.field(label, within)
        box.fill(value)
        box.press("Enter")
        self.wait_idle()

    def shot(self, name: str) -> Path:
        """A screenshot of the whole page (the main area grows to its content first)."""
        self.wait_idle(settle=1.0)
        path = self.artifacts / f"{name}.png"
        height = self.page.evaluate("""() => {
            const m = document.querySelector('[data-testid="stMain"]');
            return m ? Math.max(m.scrollHeight, window.innerHeight) : window.innerHeight; }""")
        vp = self.page.viewport_size
        self.page.set_viewport_size({"width": vp["width"], "height": min(int(height) + 40, 12000)})
        time.sleep(0.8)  # canvases (dataframes, charts) redraw at the new size
        self.page.screenshot(path=str(path), full_page=True)
        self.page.set_viewport_size(vp)
        return path

    def download(self, button_name: str, timeout: float = 60.0) -> Path:
        """Click a st.download_button and keep the file under test-artifacts/downloads/."""
        with self.page.expect_download(timeout=timeout * 1000) as info:
            self.main.get_by_role("button", name=button_name, exact=True).first.click()
        dl = info.value
        path = self.artifacts / "downloads" / dl.suggested_filename
        dl.save_as(str(path))
        return path


@pytest.fixture(scope="module")
def st_page(browser, streamlit_app, artifacts):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(120_000)
    sp = StreamlitPage(page, streamlit_app, artifacts)
    sp.open()
    yield sp
    context.close()
