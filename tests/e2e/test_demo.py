"""The one-click demo in a real browser, and the README's screenshots.

A fresh page (the session's fresh Milvus data, its own Streamlit session; the first module to start the
shared app, tests/e2e/conftest.py): the Data page shows the judged step's estimate
and spend cap first (the app runs with a key and the local OpenAI-compatible test server), one click on
▶ Run the demo runs every step in one progress view, and each step's line links to its page. The
pages it links to show the demo's runs; the downloaded report opens offline.

The screenshots of the Retrieval comparison, RAG quality, Load test and the report are saved, downscaled
to 1200 px and reduced to 256 colours, into test-artifacts/screenshots/ (ignored by git). `make screenshots`
writes them into docs/screenshots/ instead, the README's pictures: run it and commit the PNGs it rewrites.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.e2e.journey_helpers import GC, RUN_ID, column, frame_with

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def streamlit_app(shared_app):
    """The app this module shares with the other page walks (tests/e2e/conftest.py, shared_app)."""
    return shared_app


# The README's pictures are refreshed on purpose (`make screenshots` sets WORKBENCH_SCREENSHOTS=docs/screenshots);
# an ordinary test run writes them to the ignored test-artifacts/ so the tree stays clean.
SHOTS = Path(os.environ.get("WORKBENCH_SCREENSHOTS") or ROOT / "test-artifacts" / "screenshots")
WIDTH = 1200
RUNS: dict[str, str] = {}
REPORT: dict[str, Path] = {}


def readme_shot(source: Path, name: str, height: int, top: int = 0) -> Path:
    """``height`` px from ``top`` of a full-page screenshot, 1200 px wide, 256 colours, optimised."""
    from PIL import Image

    SHOTS.mkdir(parents=True, exist_ok=True)
    with Image.open(source) as im:
        im = im.convert("RGB").crop((0, max(0, top), im.width, min(top + height, im.height)))
        im = im.resize((WIDTH, round(im.height * WIDTH / im.width)), Image.LANCZOS)
        out = SHOTS / f"{name}.png"
        im.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(out, optimize=True)
    return out


RAW = re.compile(r"\b(None|nan|NaN|NaT)\b|<NA>|object at 0x")


def no_raw_values(text: str) -> list[str]:
    """Lines of what a person sees that show a raw value (None, nan, a Python repr)."""
    return [line for line in text.splitlines() if RAW.search(line)]


def tinted_pixels(png: Path) -> dict[str, int]:
    """How many pixels of a screenshot carry the relevance tints (evaluators.retrieval.evaluate.TINTS)."""
    from PIL import Image

    from evaluators.retrieval.evaluate import TINTS

    want = {name: tuple(int(hexa[i:i + 2], 16) for i in (1, 3, 5)) for name, hexa in TINTS.items()}
    with Image.open(png) as im:
        counts = dict.fromkeys(want, 0)
        for n, rgb in im.convert("RGB").getcolors(maxcolors=1 << 24):
            for name, t in want.items():
                if all(abs(a - b) <= 3 for a, b in zip(rgb, t)):
                    counts[name] += n
    return counts


def page_y(locator) -> int:
    """Where an element starts in a full-page screenshot of the app (the main area scrolls, not the window)."""
    return int(locator.evaluate("""el => { const m = document.querySelector('[data-testid="stMain"]');
        return el.getBoundingClientRect().top - m.getBoundingClientRect().top + m.scrollTop; }"""))


def test_01_demo_runs_every_step_with_one_click(st_page, e2e_llm):
    p = st_page
    p.text("▶ One-click demo")
    # with an LLM configured: the estimate and the spend cap are shown before anything runs
    est = p.text(re.compile(r"An LLM is configured")).inner_text()
    assert re.search(r"Estimate: 48 rows, 528 LLM calls, ≈[\d,]+ tokens, ≈\$0\.\d{4}; it stops at the \$0\.5 cap",
                     est), est
    assert p.field("Spend cap of the judged step (USD)").input_value() == "0.50"
    calls = e2e_llm.stats()["chat_calls"]
    p.press("▶ Run the demo", re.compile(r"^Demo finished"), timeout=900)
    assert p.main.get_by_text(re.compile(r"^Demo finished$")).count() == 1  # no step failed
    texts = p.main.locator('[data-testid="stColumn"] [data-testid="stMarkdownContainer"] p').all_inner_texts()
    lines = [t.strip() for t in texts if t.strip().startswith(("✅", "❌", "⏭️"))]
    assert [re.sub(r" · .*", "", t) for t in lines] == [
        "✅ Index minilm", "✅ Index bm25", "✅ Index hybrid", "✅ Retrieval comparison",
        "✅ RAG quality (offline: extractive answers, non-LLM metrics)", "✅ RAG quality (LLM answers, judged metrics)",
        "✅ Load test (2 users × 3 s per model)", "✅ Decide: the decision record", "✅ Report"], lines
    assert lines[0] == "✅ Index minilm · built 31 documents in " + lines[0].split(" in ")[1]
    assert lines[3].endswith("nDCG@4: minilm 0.817 · bm25 0.858 · hybrid 0.840"), lines[3]
    assert lines[4].endswith("rows 48/48") and lines[5].endswith("rows 48/48"), lines[4:6]
    assert re.search(r"minilm \d+ req/s, p95 \d+ ms · bm25 \d+ req/s, p95 \d+ ms · hybrid", lines[6]), lines[6]
    for key, i in (("retrieval", 3), ("rag", 4), ("rag_judged", 5), ("load", 6), ("decide", 7)):
        RUNS[key] = RUN_ID.search(lines[i]).group(0)
    assert re.fullmatch(r"✅ Decide: the decision record · run \S+ · recommended (minilm|bm25|hybrid)",
                        lines[7]), lines[7]
    keys = ("retrieval", "rag", "rag_judged", "load", "decide")
    assert lines[8] == f"✅ Report · 5 runs ({', '.join(RUNS[k] for k in keys)})"
    assert e2e_llm.stats()["chat_calls"] >= calls + 48  # the judged step's generator and judge ran
    links = p.main.get_by_role("link").all_inner_texts()
    assert [t.strip() for t in links if t.strip().startswith("Open ")] == [
        "Open Index"] * 3 + ["Open Retrieval", "Open RAG quality", "Open RAG quality", "Open Load test", "Open Decide",
                             "Open History"]
    report = p.download("⬇️ Demo report (report.html)")
    html = report.read_text()
    assert html.startswith("<!DOCTYPE html>") and all(r in html for r in RUNS.values())
    assert "RAG workbench demo: the built-in sample" in html and GC in html
    assert "Decision · sample" in html and "Every constraint, per candidate" in html
    assert not no_raw_values(p.main.inner_text()), no_raw_values(p.main.inner_text())
    REPORT["path"] = report
    p.shot("demo_01_data")


def test_02_retrieval_link_shows_the_comparison(st_page):
    p = st_page
    if "retrieval" not in RUNS:
        pytest.skip("the demo did not run")
    p.main.get_by_role("link", name="Open Retrieval").first.click()
    p.page.locator("h1").filter(has_text="Retrieval").first.wait_for(timeout=60_000)
    p.wait_idle()
    p.text(re.compile(rf"^Run {RUNS['retrieval']} · k = 4 · 16 judged queries"))
    p.text(re.compile(r"^Metrics per model")).scroll_into_view_if_needed()
    metrics = frame_with(p, "ndcg@4", wait=30)
    assert column(metrics, "model") == ["minilm", "bm25", "hybrid"]
    ndcg = dict(zip(column(metrics, "model"), column(metrics, "ndcg@4")))
    assert [ndcg[m][:6] for m in ("minilm", "bm25", "hybrid")] == ["0.817 ", "0.858 ", "0.840 "], ndcg
    p.text(re.compile(r"^Per query")).scroll_into_view_if_needed()
    table = frame_with(p, "Rank", wait=30)
    assert table[0] == ["Rank", "minilm", "bm25", "hybrid"]
    assert column(table, "minilm") == ["❎ C++", "✅ Java", "❎ Zig", "❎ C", "0.25", "0.25"]
    p.cell("✅ Java")
    shot = p.shot("demo_02_retrieval", redraw=0.8)  # its pixels are counted
    cut, clashes = _readable_grids_and_charts(p)  # the rank table's "Precision" whole (it showed "Precisio")
    assert not cut and not clashes, (cut, clashes)
    tints = tinted_pixels(shot)  # the cells are coloured on screen, not only marked ✅/❎
    assert tints["relevant"] > 2000 and tints["not-relevant"] > 2000, tints
    assert not no_raw_values(p.main.inner_text()), no_raw_values(p.main.inner_text())
    readme_shot(shot, "retrieval", 2300)


def test_03_rag_quality_shows_the_judged_run(st_page):
    p = st_page
    if "rag_judged" not in RUNS:
        pytest.skip("the demo did not run")
    p.goto("RAG quality", timeout=240)
    assert RUNS["rag_judged"] in p.main.get_by_role("combobox", name="Run", exact=True).input_value()
    p.text(re.compile(r"^Status done · generator OpenAI: gpt-4o-mini"))
    p.text(re.compile(r"^Scores: mean")).scroll_into_view_if_needed()  # the grid draws its cells once in view
    # the grid's accessible copy holds only the columns in view: with the judged metrics ROUGE-L is off to the
    # right (seen: "no visible table with a 'ROUGE-L' column"), Faithfulness is the first metric column
    rows = frame_with(p, "Faithfulness", wait=30)
    scores = {r[0]: dict(zip(rows[0][1:], r[1:])) for r in rows[1:]}
    assert set(scores) == {"minilm", "bm25", "hybrid"}
    for model in scores:
        assert re.fullmatch(r"[01]\.\d{3} \[[01]\.\d{3}, [01]\.\d{3}\] \(16/16\)", scores[model]["Faithfulness"]), \
            scores
    assert not no_raw_values(p.main.inner_text()), no_raw_values(p.main.inner_text())
    top = page_y(p.main.get_by_role("combobox", name="Run", exact=True)) - 60
    readme_shot(p.shot("demo_03_rag"), "rag_quality", 1150, top)


def test_04_load_test_shows_the_demo_run(st_page):
    p = st_page
    if "load" not in RUNS:
        pytest.skip("the demo did not run")
    p.goto("Load test")
    assert RUNS["load"] in p.main.get_by_role("combobox", name="Results of run").input_value()
    p.text("Results of run").scroll_into_view_if_needed()
    rows = frame_with(p, "req/s", wait=30)
    assert column(rows, "model") == ["minilm", "bm25", "hybrid"], rows
    for values in rows[1:]:
        row = dict(zip(rows[0], values))
        assert int(row["requests"].replace(",", "")) > 0 and row["failures"] == "0", row
    p.text(re.compile(r"Endpoint `?search`? · 2 users · spawn 2.0/s · 3 s per model"))
    assert not no_raw_values(p.main.inner_text()), no_raw_values(p.main.inner_text())
    top = page_y(p.text("Results of run")) - 40
    readme_shot(p.shot("demo_04_load"), "load_test", 1250, top)


def test_05_the_report_opens_offline(st_page):
    p = st_page
    if "path" not in REPORT:
        pytest.skip("the demo did not write a report")
    viewer = p.page.context.new_page()
    viewer.set_viewport_size({"width": 1400, "height": 1000})
    remote: list[str] = []
    viewer.on("request", lambda r: remote.append(r.url) if not r.url.startswith(("file:", "data:", "blob:"))
              else None)
    viewer.goto(REPORT["path"].as_uri())
    viewer.wait_for_load_state("load")
    assert viewer.locator("figure.chart svg").count() >= 2  # static SVG charts (evaluators.report.charts)
    assert not remote, f"the report fetched {remote}: it must open offline"
    body = viewer.locator("body").inner_text()
    assert not no_raw_values(body), no_raw_values(body)
    assert viewer.locator("td.relevant").count() and viewer.locator("td.not-relevant").count()
    assert viewer.get_by_role("heading", name="RAG workbench demo: the built-in sample").count() == 1
    path = p.artifacts / "demo_05_report.png"
    viewer.screenshot(path=str(path), full_page=True)
    viewer.close()
    readme_shot(path, "report", 1700)


def test_06_no_raw_values_on_any_page(st_page):
    """After the demo every page has something to show: none of them shows None, nan or a Python repr."""
    p = st_page
    if "retrieval" not in RUNS:
        pytest.skip("the demo did not run")
    for name in ("Data", "Index", "Retrieval", "RAG quality", "Load test", "History"):
        p.goto(name, timeout=240)
        text = p.main.inner_text()
        assert not no_raw_values(text), (name, no_raw_values(text))


# ---------------------------------------------------------------------------------------------- readable at a glance

LAYOUTS = {"wide": 1400, "narrow": 800}  # app.py sets layout="wide"; at 800 px the main area is as narrow as
# Streamlit's centered layout (≤ 736 px of content), the other layout a reader meets


def _readable_grids_and_charts(p) -> tuple[list[str], list[list]]:
    """Every st.dataframe's headers and row labels cut, and every Plotly chart's overlapping labels, on screen now."""
    from tests.e2e.readability import cut_grid_cells, overlapping_labels

    cut, clashes = [], []
    frames = p.main.locator('[data-testid="stDataFrame"]')
    for i in range(frames.count()):
        frame = frames.nth(i)
        if frame.is_visible():
            frame.scroll_into_view_if_needed()
            frame.locator("table[role=grid]").wait_for(state="attached", timeout=30_000)
            cut += [f"table {i}: {c}" for c in cut_grid_cells(frame)]
    charts = p.main.locator('[data-testid="stPlotlyChart"]')
    for i in range(charts.count()):
        charts.nth(i).scroll_into_view_if_needed()
        charts.nth(i).locator("svg text").first.wait_for(state="attached", timeout=30_000)
        clashes += [[f"chart {i}", *pair] for pair in overlapping_labels(charts.nth(i))]
    return cut, clashes


def test_07_history_comparison_is_readable_in_both_layouts(st_page):
    """History comparing the demo's retrieval, RAG and load runs: the verdict table, the paired differences and the
    quality · cost · latency table keep every header and row label whole, and no two labels of its charts overlap,
    at 1400 and 800 px; both screenshots are in test-artifacts/."""
    p = st_page
    if not {"retrieval", "rag", "load"} <= set(RUNS):
        pytest.skip("the demo did not run")
    p.goto("History")
    for step in ("retrieval", "rag", "load"):
        p.select("Open one run, or pick two or more to compare", RUNS[step], exact=False)
    p.text(re.compile(r"^Comparing 3 runs$"))
    p.text("Quality · cost · latency")
    assert p.main.locator('[data-testid="stPlotlyChart"]').count() >= 2  # nDCG@4 and the RAG metric
    vp = p.page.viewport_size
    try:
        for layout, width in LAYOUTS.items():
            p.page.set_viewport_size({"width": width, "height": vp["height"]})
            p.wait_idle(start=0)
            cut, clashes = _readable_grids_and_charts(p)
            shot = p.shot(f"readable_history_{layout}")
            assert not cut, (layout, cut, shot)
            assert not clashes, (layout, clashes, shot)
    finally:
        p.page.set_viewport_size(vp)


def test_08_report_is_readable_in_both_layouts(st_page):
    """The demo's report: no table cell cut, no two chart labels overlapping, at 1400 and 800 px."""
    from tests.e2e.readability import cut_cells, overlapping_labels

    p = st_page
    if "path" not in REPORT:
        pytest.skip("the demo did not write a report")
    viewer = p.page.context.new_page()
    try:
        for layout, width in LAYOUTS.items():
            viewer.set_viewport_size({"width": width, "height": 1000})
            viewer.goto(REPORT["path"].as_uri())
            viewer.wait_for_load_state("load")
            charts = viewer.locator("figure.chart")
            assert charts.count() >= 2
            clashes = [[i, *pair] for i in range(charts.count()) for pair in overlapping_labels(charts.nth(i))]
            cut = cut_cells(viewer.locator("body"))
            viewer.screenshot(path=str(p.artifacts / f"readable_report_{layout}.png"), full_page=True)
            assert not cut, (layout, cut)
            assert not clashes, (layout, clashes)
    finally:
        viewer.close()
