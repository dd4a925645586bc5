"""``StreamlitPage``: one browser page on the app, with the waits a Streamlit app needs (reruns in flight,
clicks lost while a rerun runs, tables drawn lazily). The fixtures that make one are in conftest.py.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

NAV = '[data-testid="stSidebarNav"]'
STATUS = '[data-testid="stStatusWidget"]'
# Counts, in the page, the script runs Streamlit starts (stApp's ``data-test-script-state`` turning busy) and the
# user's inputs, and which run count the last input saw: so wait_idle knows by state whether the run an input
# asks for has begun, instead of waiting a fixed time for it. Capture-phase listeners see every click and key.
RUN_WATCH_JS = """(() => {
  if (window.__wbRuns) return;
  const w = window.__wbRuns = {started: 0, inputs: 0, atInput: 0, state: null, app: null};
  const busy = s => s === 'running' || s === 'rerunRequested' || s === 'stopRequested';
  const see = () => { const s = w.app.getAttribute('data-test-script-state');
    if (busy(s) && !busy(w.state)) w.started++;
    w.state = s; };
  const hook = () => { const app = document.querySelector('[data-testid="stApp"]');
    if (!app || app === w.app) return;
    w.app = app; see();
    new MutationObserver(see).observe(app, {attributes: true, attributeFilter: ['data-test-script-state']}); };
  const input = () => { w.inputs++; w.atInput = w.started; };
  for (const e of ['click', 'keydown', 'input', 'change']) window.addEventListener(e, input, true);
  new MutationObserver(hook).observe(document, {childList: true, subtree: true});
  hook();
})()"""
FRAMES_JS = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))"
RUN_STATE_JS = """() => { const w = window.__wbRuns; const app = document.querySelector('[data-testid="stApp"]');
  const s = app ? app.getAttribute('data-test-script-state') : null;
  const busy = s === 'running' || s === 'rerunRequested' || s === 'stopRequested';
  return w ? [w.started, w.inputs, w.atInput, busy] : [-1, -1, -1, busy]; }"""


class StreamlitPage:
    """A Playwright page plus the few moves a Streamlit app needs: navigate, wait for reruns, screenshot."""

    def __init__(self, page, app, artifacts: Path):  # app: conftest.App (the streamlit process)
        self.page, self.app, self.artifacts = page, app, artifacts
        self.dialogs: list[str] = []   # any alert()/confirm() would mean injected script ran
        self.console_errors: list[str] = []
        page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        page.on("console", lambda m: self.console_errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.console_errors.append(str(e)))
        self._inputs_seen = -2  # inputs counted at the end of the last wait_idle (none yet)
        page.add_init_script(script=RUN_WATCH_JS)  # every page load from now on
        try:
            page.evaluate(RUN_WATCH_JS)  # and the page already loaded, if any
        except Exception:
            pass

    # ------------------------------------------------------------------ waiting
    def _runs(self) -> tuple[int, int, int, bool]:
        """(runs started, inputs, runs started when the last input came, a run in flight) from RUN_WATCH_JS;
        (-1, -1, -1, busy) on a page loaded before the watcher was installed."""
        try:
            got = self.page.evaluate(RUN_STATE_JS)
        except Exception:  # a navigation replaced the page's context between two calls
            return -1, -1, -1, False
        return got[0], got[1], got[2], got[3] or self._status_running()

    def _status_running(self) -> bool:
        status = self.page.locator(STATUS)
        try:
            return status.count() > 0 and any(w in status.first.inner_text(timeout=1000) for w in ("Stop", "Running"))
        except Exception:  # the widget vanished between the two calls
            return False

    def running(self) -> bool:
        return self._runs()[3]

    def wait_idle(self, timeout: float = 120.0, settle: float = 0.4, start: float = 1.5) -> None:
        """Until the script run a click started has finished. The run is seen by state, not by time: the page's
        watcher (RUN_WATCH_JS) counts the runs Streamlit starts (``data-test-script-state`` on stApp) and the
        user's inputs (click, key, input). So the wait for a run to begin ends as soon as one has begun since the
        last input, or at once when there was no input since the last idle moment; only an input that starts no
        run (or a page without the watcher) waits the full ``start`` seconds (0: only wait for a run already
        under way)."""
        deadline = time.monotonic() + start
        while True:
            started, inputs, started_at_input, busy = self._runs()
            if busy or started > started_at_input >= 0 or (inputs >= 0 and inputs == self._inputs_seen):
                break  # a run under way, one began since the last input, or nothing was done since the last wait
            if time.monotonic() >= deadline:
                break
            time.sleep(0.05)
        deadline = time.monotonic() + timeout
        while busy:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the app was still running after {timeout:.0f} s")
            time.sleep(0.1)
            busy = self.running()
        time.sleep(settle)
        self._inputs_seen = self._runs()[1]

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
    def open(self, start: str | None = "Data") -> None:
        """Load the app; the journeys start on ``start`` (the app lands on Decide, its front door)."""
        self.page.goto(self.app.url)
        self.page.locator(NAV).wait_for(timeout=120_000)
        self.wait_idle()
        if start:
            self.goto(start)

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

    def shot(self, name: str, redraw: float | None = None) -> Path:
        """A screenshot of the whole page (the main area grows to its content first). After the resize the page
        gets two animation frames, a moment for the grids' and charts' resize observers, and two more frames;
        ``redraw`` adds that many seconds on top (default 0.8 s under ``make screenshots``, whose pictures go in
        the README; a test that counts pixels on a canvas passes it too), 0 otherwise: the pictures of a test
        run are only for a person looking into a failure."""
        if redraw is None:
            redraw = 0.8 if os.environ.get("WORKBENCH_SCREENSHOTS") else 0.0
        self.wait_idle(settle=0.4 + redraw)
        path = self.artifacts / f"{name}.png"
        height = self.page.evaluate("""() => {
            const m = document.querySelector('[data-testid="stMain"]');
            return m ? Math.max(m.scrollHeight, window.innerHeight) : window.innerHeight; }""")
        vp = self.page.viewport_size
        self.page.set_viewport_size({"width": vp["width"], "height": min(int(height) + 40, 12000)})
        self.page.evaluate(FRAMES_JS)  # canvases (dataframes, charts) redraw at the new size
        time.sleep(0.15 + redraw)
        self.page.evaluate(FRAMES_JS)
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
