"""What the browser tests share: reading Streamlit's tables, pressing Run and waiting for *that* run,
and scanning files for secrets. Used by test_journey, test_demo, test_two_users and test_hostile_upload.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time

import pytest

from tests.conftest import ROOT

GC, WEB = "auto garbage collection", "suite for web backend server development"  # the article's questions
GRID_JS = """el => Array.from(el.querySelectorAll('table[role=grid] tr')).map(
    tr => Array.from(tr.querySelectorAll('th, td')).map(c => c.innerText.trim()))"""
RUN_ID = re.compile(r"\d{8}-\d{6}-[0-9a-f]{4}")
WIDE = 3600  # px: every column of the widest table on screen


def grid(st_page, index: int, within=None) -> list[list[str]]:
    """Rows (header first) of the index-th st.dataframe, read from its accessible copy."""
    frames = (within or st_page.main).locator('[data-testid="stDataFrame"]')
    frames.nth(index).locator("table[role=grid]").wait_for(state="attached", timeout=60_000)
    return frames.nth(index).evaluate(GRID_JS)


def column(rows: list[list[str]], name: str) -> list[str]:
    i = rows[0].index(name)
    return [r[i] for r in rows[1:]]


def frame_with(st_page, header: str, within=None, wait: float = 30.0) -> list[list[str]]:
    """The first visible dataframe whose header row holds ``header``; ``wait`` seconds for it to be drawn.
    The grid's accessible copy holds only the columns on screen (a wide model name, e.g. an ``st:`` folder
    path, or CI cells push the last ones out), so the page is read in a viewport wide enough for all."""
    deadline = time.monotonic() + wait
    vp = st_page.page.viewport_size
    st_page.page.set_viewport_size({"width": WIDE, "height": vp["height"]})
    try:
        while True:
            time.sleep(0.5)  # the grids redraw at the new width
            frames = (within or st_page.main).locator('[data-testid="stDataFrame"]')
            for i in range(frames.count()):
                if not frames.nth(i).is_visible():
                    continue
                rows = grid(st_page, i, within)
                if rows and header in rows[0]:
                    return rows
            if time.monotonic() > deadline:
                raise AssertionError(f"no visible table with a '{header}' column")
    finally:
        st_page.page.set_viewport_size(vp)


def load_run(p, timeout: float = 300.0) -> str:
    """Press Run load test and wait until *this* run's results are shown: the page opens on the latest load
    run in the data folder (another test module's, say), so the run picker's value must change. Its id."""
    box = p.main.get_by_role("combobox", name="Results of run", exact=True).first
    before = box.input_value() if box.count() else None
    running = p.main.get_by_text("⏳").first

    def new_results() -> bool:
        return box.count() > 0 and box.input_value() != before

    p.press("Run load test", lambda: running.is_visible() or new_results(), timeout=120)
    deadline = time.monotonic() + timeout
    while not new_results():
        if time.monotonic() > deadline:
            raise TimeoutError(f"no new load-test results after {timeout:.0f} s")
        time.sleep(0.5)
    p.wait_idle(timeout=60)
    return RUN_ID.search(box.input_value()).group(0)


def rag_run(p, status: re.Pattern, timeout: float = 300.0) -> str:
    """Press the RAG page's Run and wait for *this* run's status: the page may already show an earlier run
    with the same status words, so the run picker's value must change too. Returns the status line."""
    box = p.main.get_by_role("combobox", name="Run", exact=True).first
    before = box.input_value() if box.count() else None
    line = p.main.get_by_text(status).first
    p.press("Run", lambda: line.is_visible() and box.count() > 0 and box.input_value() != before, timeout=timeout)
    return line.inner_text()


def needs_page(filename: str, title: str, st_page) -> None:
    if not (ROOT / "pages" / filename).exists():
        pytest.skip(f"pages/{filename} does not exist yet")
    assert title in st_page.nav_links(), f"'{title}' missing from the sidebar: {st_page.nav_links()}"


def streamlit_env(data_dir) -> dict:
    import os

    return {**os.environ, "WORKBENCH_DATA_DIR": str(data_dir)}


_SCANNER = """
import json, sys
job = json.load(sys.stdin)
needles = [n.encode() for n in job["needles"]]
scanned, hits = 0, []
for path in job["paths"]:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        continue
    scanned += 1
    hits += [path + ": " + n.decode()[:12] + "..." for n in needles if n in data]
print(json.dumps([scanned, hits]))
"""


def scan_files(paths, needles: list[str]) -> tuple[int, list[str]]:
    """Files holding any needle. Read in a child process: closing a descriptor on a SQLite file that this
    process also has open (the run store) would drop this process's POSIX locks on it, and the next write
    from another process could then corrupt the database (sqlite.org/howtocorrupt.html, 2.2)."""
    job = json.dumps({"paths": [str(p) for p in paths], "needles": needles})
    out = subprocess.run([sys.executable, "-c", _SCANNER], input=job, capture_output=True, text=True, check=True)
    scanned, hits = json.loads(out.stdout)
    return scanned, hits
