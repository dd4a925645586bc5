"""The whole flow in a real browser: data → index → retrieval → RAG quality → load test → history → report.

One Streamlit session (one page) walks through the app as a user would, clicking sidebar links and
buttons, with an API key set and the local OpenAI-compatible test server as the LLM. Assertions are on
what is visible: numbers, table cells, charts, messages. Every page is screenshotted to test-artifacts/.
The last test scans everything the flow wrote for the API key.

The steps run in file order and share the page; a page whose file does not exist yet is skipped.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time

import pytest

from tests.conftest import ROOT
from tests.e2e.journey_helpers import (
    GC,
    RUN_ID,
    WEB,
    column,
    frame_with,
    grid,
    load_run,
    needs_page,
    rag_run,
    scan_files,
    streamlit_env,
)

pytestmark = pytest.mark.slow

SESSION_START = time.time()
RUNS: dict[str, str] = {}  # step -> run id, for the History step
REPORT: dict = {}  # what the History step saw in the downloaded report


# ---------------------------------------------------------------------------------------------- steps

def test_01_data_page_loads_the_sample(st_page):
    p = st_page
    assert p.nav_links()[:4] == ["Decide", "Data", "Index", "Retrieval"]  # Decide is the front door
    p.text("Pick what to evaluate on")
    sidebar = p.page.locator('[data-testid="stSidebar"]')
    assert re.search(r"Milvus Lite \(embedded\) at http://127\.0\.0\.1:\d+ answers", sidebar.inner_text())
    assert "LLM: OpenAI-compatible API at http://127.0.0.1" in sidebar.inner_text()  # the key is set
    p.press("Load the sample", "Loaded sample.")
    p.text("31 documents, 16 judged questions, 48 judgments")
    docs = grid(p, 0)
    assert docs[0] == ["id", "title", "text"]
    assert ["java", "Java"] in [r[:2] for r in docs[1:]]
    p.main.get_by_role("tab", name="Questions").click()
    p.cell(GC)
    questions = frame_with(p, "question")
    gc = next(r for r in questions if GC in r)
    assert set(gc[questions[0].index("relevant")].split(", ")) == {"java", "python", "javascript", "golang"}
    p.main.get_by_role("tab", name="Documents").click()
    p.shot("01_data")


def test_02_index_builds_minilm_and_bm25(st_page):
    p = st_page
    p.goto("Index")
    models = frame_with(p, "can run")
    assert {"minilm", "bm25", "hybrid"} <= set(column(models, "model"))
    assert column(models, "can run")[column(models, "model").index("minilm")] == "🟢 yes"
    chosen = p.main.locator('[data-testid="stMultiSelect"]').first.inner_text()
    assert "minilm" in chosen and "bm25" in chosen
    p.press("Build collections", re.compile(r"^Ready: minilm"), timeout=300)
    ready = p.text(re.compile(r"^Ready: minilm")).inner_text()
    assert re.fullmatch(r"Ready: minilm \((reused|[\d,]+ docs/s)\), bm25 \((reused|[\d,]+ docs/s)\)", ready), ready
    assert not p.main.locator('[data-testid="stAlertContentError"]').count()
    names = frame_with(p, "rows")
    by_name = dict(zip(column(names, "name"), column(names, "rows")))
    assert any(n.startswith("wb_sample_minilm_") and r == "31" for n, r in by_name.items()), by_name
    assert any(n.startswith("wb_sample_bm25_") and r == "31" for n, r in by_name.items()), by_name
    p.shot("02_index")


def test_03_retrieval_shows_the_article_table(st_page):
    p = st_page
    p.goto("Retrieval")
    p.press("Compare", "Metrics per model", timeout=300)
    metrics = frame_with(p, "ndcg@4")
    assert column(metrics, "model") == ["minilm", "bm25"]
    ndcg = dict(zip(column(metrics, "model"), column(metrics, "ndcg@4")))
    assert re.fullmatch(r"0\.817 \[0\.\d{3}, (0\.\d{3}|1\.000)\]", ndcg["minilm"]), ndcg
    assert ndcg["bm25"].startswith("0.858 [")
    chart = p.main.locator('[data-testid="stPlotlyChart"]').first
    chart.wait_for()
    assert chart.locator("g.trace.bars, g.barlayer").count() and "minilm" in chart.inner_text()
    caption = p.text(re.compile(r"^Run .* · k = 4 · 16 judged queries")).inner_text()
    RUNS["retrieval"] = RUN_ID.search(caption).group(0)

    # The article's first query is selected first: MiniLM ranks C++ (which "has no garbage collector") first.
    table = frame_with(p, "Rank")
    assert table[0] == ["Rank", "minilm", "bm25"]
    assert column(table, "Rank") == ["1", "2", "3", "4", "Precision", "Recall"]
    assert column(table, "minilm") == ["❎ C++", "✅ Java", "❎ Zig", "❎ C", "0.25", "0.25"]
    assert column(table, "bm25")[-2:] == ["0.00", "0.00"]
    assert all(c.startswith("❎ ") for c in column(table, "bm25")[:4])
    p.cell("✅ Java")
    p.shot("03_retrieval_gc")

    p.select("Query", f"q2: {WEB}")
    p.cell("✅ JavaScript")
    table = frame_with(p, "Rank")
    assert column(table, "minilm") == ["✅ JavaScript", "✅ PHP", "❎ Elixir", "❎ Perl", "0.50", "0.50"]
    assert column(table, "bm25") == ["✅ PHP", "❎ Kotlin", "❎ Dart", "✅ Java", "0.50", "0.50"]
    p.shot("03_retrieval_web")


def _rag_table(p) -> dict[str, dict[str, str]]:
    rows = frame_with(p, "ROUGE-L")
    head = rows[0]
    return {r[0]: dict(zip(head[1:], r[1:])) for r in rows[1:]}


def test_04_rag_quality_offline_then_with_the_test_llm(st_page, e2e_llm, e2e_sidebar_secret):
    p = st_page
    needs_page("4_RAG_quality.py", "RAG quality", p)
    p.goto("RAG quality", timeout=240)
    settings = p.main.get_by_text("Generation, metrics, run settings and prices")
    settings.click()
    p.fill("Only the first N questions (0 = all)", "4")
    settings.click()  # fold it again
    p.text(re.compile(r"Estimate: 8 rows · 0 LLM calls"))
    p.text(re.compile(r"extractive generator is an offline baseline"))
    rag_run(p, re.compile(r"^Status done · generator Extractive"))
    scores = _rag_table(p)
    assert set(scores) == {"minilm", "bm25"}
    assert re.fullmatch(r"0\.\d{3} \[0\.\d{3}, 0\.\d{3}\] \(4/4\)", scores["minilm"]["ROUGE-L"]), scores
    assert not any("Faithfulness" in cols for cols in scores.values())  # needs a judge: not run, not zero
    assert p.main.locator('[data-testid="stPlotlyChart"]').count() >= 1
    p.text(re.compile("Question: auto garbage collection"))
    p.shot("04_rag_offline")

    # A key typed into the sidebar (memory only) replaces the one the app started with.
    sidebar = p.page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_text("API key and endpoint").click()
    # each field committed (Enter) and its rerun over before the click: a click into a blur's rerun is lost
    p.fill("OpenAI API key", e2e_sidebar_secret, within=sidebar)
    p.fill("Base URL (Ollama, vLLM, …)", e2e_llm.base_url, within=sidebar)
    p.wait_idle(settle=0.2, start=0)
    sidebar.get_by_role("button", name="Use these", exact=True).click()
    p.wait_idle()
    assert f"LLM: OpenAI-compatible API at {e2e_llm.base_url}" in sidebar.inner_text()
    assert e2e_sidebar_secret not in p.page.locator("body").inner_text()  # masked, never shown

    # Generator and judge: the local OpenAI-compatible server (OPENAI_BASE_URL), with the typed key.
    calls = e2e_llm.stats()["chat_calls"]
    p.select("Generator", "OpenAI")
    p.select("Judge", "OpenAI")
    settings.click()
    p.fill("Only the first N questions (0 = all)", "2")
    settings.click()
    est = p.text(re.compile(r"Estimate: 4 rows · \d+ LLM calls")).inner_text()
    assert int(re.search(r"(\d+) LLM calls", est).group(1)) > 0, est
    status = rag_run(p, re.compile(r"^Status done · generator OpenAI: gpt-4o-mini"))
    assert "judge openai:gpt-4o-mini" in status and "rows 4/4" in status and "with failures 0" in status, status
    assert e2e_llm.stats()["chat_calls"] > calls
    scores = _rag_table(p)
    for model in ("minilm", "bm25"):
        assert re.fullmatch(r"[01]\.\d{3} \[[01]\.\d{3}, [01]\.\d{3}\] \(2/2\)", scores[model]["Faithfulness"]), scores
    p.text("The judge's reasons")
    RUNS["rag_llm"] = RUN_ID.search(p.main.get_by_role("combobox", name="Run", exact=True).input_value()).group(0)
    p.shot("04_rag_llm")


def test_05_short_load_test(st_page):
    p = st_page
    needs_page("5_Load_test.py", "Load test", p)
    p.goto("Load test")
    p.fill("Users", "2")
    p.fill("Seconds per model", "4")
    p.text(re.compile(r"About 8 s of load"))
    load_run(p)
    p.wait_idle(timeout=60)
    assert not p.main.locator('[data-testid="stAlertContentError"]').count(), p.main.inner_text()[:2000]
    rows = frame_with(p, "req/s")
    assert column(rows, "model") == ["minilm", "bm25"], rows
    for values in rows[1:]:
        row = dict(zip(rows[0], values))
        assert int(row["requests"].replace(",", "")) > 0 and row["failures"] == "0", row
        assert float(row["req/s"].replace(",", "")) > 0 and float(row["p95 ms"].replace(",", "")) > 0, row
    assert p.main.locator('[data-testid="stPlotlyChart"]').count() >= 2
    p.text(re.compile(r"Endpoint `?search`? · 2 users"))
    RUNS["load"] = RUN_ID.search(p.main.get_by_role("combobox", name="Results of run").input_value()).group(0)
    p.shot("05_load_test")
    p.main.get_by_role("tab", name="Failures").click()
    p.text("No failed requests.")
    p.main.get_by_role("tab", name="Latency split").click()
    p.text(re.compile("Server-side means"))
    p.shot("05_load_test_split")


def test_06_history_exports_and_report(st_page, e2e_secret):
    p = st_page
    needs_page("6_History.py", "History", p)
    p.goto("History")
    assert p.milvus_answers(), p.page.locator('[data-testid="stSidebar"]').inner_text()
    runs = frame_with(p, "kind")
    listed = dict(zip(column(runs, "id"), column(runs, "kind")))
    for step, kind in (("retrieval", "retrieval"), ("rag_llm", "rag"), ("load", "load")):
        if step in RUNS:
            assert listed.get(RUNS[step]) == kind, (step, RUNS[step], listed)

    # One run: its statistics, then every export format.
    run_id = RUNS["retrieval"]
    p.select("Open one run, or pick two or more to compare", run_id, exact=False)
    p.text(re.compile(r"^Best on nDCG@4: bm25, 0\.858 \["))
    p.shot("06_history_run")
    p.main.get_by_role("tab", name="Export & delete").click()
    csv_path = p.download("⬇️ CSV")
    json_path = p.download("⬇️ JSON")
    assert csv_path.name == f"run-{run_id}-rows.csv" and json_path.name == f"run-{run_id}.json"
    import pandas as pd

    rows = pd.read_csv(csv_path)
    assert len(rows) == 32 and set(rows["model"]) == {"minilm", "bm25"} and "ndcg@4" in rows.columns
    assert rows.groupby("model")["ndcg@4"].mean().round(3).to_dict() == {"bm25": 0.858, "minilm": 0.817}
    payload = json.loads(json_path.read_text())
    assert payload["run"]["id"] == run_id and len(payload["rows"]) == 32

    # Several runs compared, and the stakeholder report over them, downloaded and opened offline.
    for step in ("rag_llm", "load"):
        if step in RUNS:
            p.select("Open one run, or pick two or more to compare", RUNS[step], exact=False)
    p.text(re.compile(r"^Comparing \d runs$"))
    report_button = p.main.get_by_role("button", name="⬇️ report.html", exact=True).first
    p.press("Build stakeholder report", report_button.is_visible, timeout=180)
    report = p.download("⬇️ report.html")
    p.shot("06_history_compare")
    html = report.read_text()
    assert html.startswith("<!DOCTYPE html>") and run_id in html
    for text in ("minilm", "bm25", "0.817", "0.858", GC):
        assert text in html, text
    assert e2e_secret not in html

    viewer = p.page.context.new_page()
    remote: list[str] = []
    viewer.on("request", lambda r: remote.append(r.url) if not r.url.startswith(("file:", "data:", "blob:"))
              else None)
    viewer.goto(report.as_uri())
    viewer.wait_for_load_state("load")
    time.sleep(0.5)
    assert viewer.locator("figure.chart svg").count() >= 1  # static SVG charts (evaluators.report.charts)
    assert not remote, f"the report fetched {remote}: it must open offline"
    REPORT["colorways"] = viewer.evaluate(
        "() => Array.from(document.querySelectorAll('figure.chart svg')).map(s => Array.from("
        "s.querySelectorAll('rect, polygon, circle, path, polyline, line')).flatMap("
        "e => [e.getAttribute('fill'), e.getAttribute('stroke')]).filter(c => c && c !== 'none'))")
    viewer.screenshot(path=str(p.artifacts / "07_report.png"), full_page=True)
    viewer.close()


def test_06b_report_charts_keep_their_colours():
    if "colorways" not in REPORT:
        pytest.skip("the History step did not produce a report")
    for colorway in REPORT["colorways"]:
        assert colorway and not all(c.startswith("#0000") for c in colorway), colorway


def test_06c_own_models_and_hnsw_are_kept_across_pages(st_page, e2e_llm, data_dir):
    """A user's own models (the packaged MiniLM as a folder, an OpenAI-compatible endpoint) on HNSW: built,
    compared, still HNSW after a page switch (no collection dropped or rebuilt), saved under the specs as
    typed, and gated and reported from the CLI on the same data folder."""
    from rag.models.text import minilm_path

    p = st_page
    st_spec, oai_spec = f"st:{minilm_path()}", f"oai:hash-embed@{e2e_llm.base_url}"
    p.goto("Index")
    p.select("Index type (dense models)", "HNSW")
    p.fill("Your own models (comma-separated)", f"{st_spec}, {oai_spec}")
    p.press("Build collections", re.compile(r"^Ready: minilm"), timeout=300)
    ready = p.text(re.compile(r"^Ready: minilm")).inner_text()
    assert f"{st_spec} (" in ready and f"{oai_spec} (" in ready, ready
    built = frame_with(p, "rows")
    hnsw = {n for n, i in zip(column(built, "name"), column(built, "index")) if i.startswith("HNSW/COSINE")}
    flat = {n for n, i in zip(column(built, "name"), column(built, "index")) if i.startswith("FLAT/COSINE")}
    assert len(hnsw) == 3 and flat, built  # minilm, st: and oai: on HNSW; test_02's FLAT minilm kept

    p.goto("Retrieval")
    p.text(re.compile(r"^Index: HNSW/COSINE M=16"))
    caption = p.main.get_by_text(re.compile(r"^Run .* · k = 4 · 16 judged queries")).first

    def new_run() -> bool:  # test_03's run is still shown until this Compare has finished
        return caption.is_visible() and RUNS.get("retrieval") not in caption.inner_text()

    p.press("Compare", new_run, timeout=300)
    metrics = frame_with(p, "ndcg@4")
    ndcg = dict(zip(column(metrics, "model"), column(metrics, "ndcg@4")))
    assert set(ndcg) == {"minilm", "bm25", st_spec, oai_spec}, ndcg
    assert ndcg[st_spec].split(" [")[0] == ndcg["minilm"].split(" [")[0] == "0.817"  # HNSW = FLAT here
    assert ndcg[oai_spec].startswith("0.398 ["), ndcg  # hashed bag-of-words (tests/models/test_custom_models.py)
    run_id = RUN_ID.search(caption.inner_text()).group(0)
    p.shot("06c_own_models_hnsw")

    p.goto("Index")  # back: the choice and every collection are still there
    box = p.main.get_by_role("combobox", name="Index type (dense models)", exact=True).first
    assert "HNSW" in (box.input_value() or box.inner_text()) or p.main.get_by_text("HNSW", exact=True).count()
    after = frame_with(p, "rows")
    assert hnsw | flat <= set(column(after, "name")), after

    env = {**streamlit_env(data_dir), "OPENAI_BASE_URL": e2e_llm.base_url}
    gate = subprocess.run([sys.executable, "cli.py", "gate", "--run", run_id, "--metric", "ndcg@4", "--min", "0.3",
                           "--model", oai_spec], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert gate.returncode == 0 and gate.stdout.startswith(f"gate passed (run {run_id}): ndcg@4 >= 0.3: "), gate
    report = data_dir / "own-models-report.html"
    rep = subprocess.run([sys.executable, "cli.py", "report", "--runs", run_id, "--output", str(report)], cwd=ROOT,
                         env=env, capture_output=True, text=True, timeout=300)
    assert rep.returncode == 0, rep.stderr
    html = report.read_text()
    assert oai_spec in html and st_spec in html and run_id in html


# ---------------------------------------------------------------------------------------------- secrets

def test_07_no_api_key_in_data_logs_exports_or_reports(streamlit_app, data_dir, artifacts, e2e_llm,
                                                       e2e_secret, e2e_sidebar_secret):
    """After the whole flow with a key set (and a second one typed into the sidebar), neither key is in
    any file the app, its service, Locust or the tests wrote. The app is stopped first, so every log and
    database is flushed; nothing it started may outlive it."""
    assert e2e_llm.stats()["chat_calls"] > 0, "the LLM steps did not run, so the keys were never used"
    survivors = streamlit_app.stop()
    assert not survivors, f"processes outlived the app: {survivors}"
    assert streamlit_app.proc.poll() is not None

    needles = [e2e_secret, e2e_sidebar_secret]
    written = [f for f in data_dir.rglob("*") if f.is_file()]
    produced = [f for f in artifacts.rglob("*") if f.is_file()]
    skip = {".venv", ".git", "test-artifacts", "__pycache__", ".pytest_cache", ".ruff_cache"}
    stray = [f for f in ROOT.rglob("*") if f.is_file() and not skip & set(f.relative_to(ROOT).parts)
             and f.stat().st_mtime >= SESSION_START]
    names = {f.name for f in written}
    assert {"runs.sqlite", "streamlit-e2e.log"} <= names, sorted(names)[:50]
    assert any(f.suffix == ".csv" for f in data_dir.joinpath("loadtests").rglob("*")) or "load" not in RUNS
    assert any(f.name.endswith(".html") for f in produced) or "colorways" not in REPORT
    scanned, hits = scan_files(written + produced + stray, needles)
    assert scanned >= len(written) > 5
    assert not hits, f"API key found in {hits}"
