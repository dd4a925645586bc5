"""Decide in a real browser: the app's front door, as a user walks it.

Open the app → Decide → fill the brief (minimum nDCG@10, p95 at 2 users, monthly budget at a query
volume, memory limit, a one-second load test) → candidates minilm and bm25 → Decide on the sample →
the six steps with their links, the recommendation and the two tables → the numbers on screen equal
the stored runs' → the report downloaded and opened offline, with its Decision section, screenshotted.
"""

from __future__ import annotations

import re

import pytest

from tests.e2e.journey_helpers import column, frame_with

pytestmark = pytest.mark.slow
CANDIDATES = "Candidates (empty: every model in the registry)"
SEEN: dict = {}


@pytest.fixture(scope="module")
def streamlit_app(shared_app):
    """The app this module shares with the other page walks (tests/e2e/conftest.py, shared_app)."""
    return shared_app


def type_in(p, label: str, value: str) -> None:
    """Type into a field of the brief form without pressing Enter (Enter would submit the form)."""
    box = p.field(label)
    box.fill(value)
    box.press("Tab")


def test_01_decide_on_the_sample(st_page):
    p = st_page
    p.goto("Decide")
    p.text("1 · Brief: what you need (0 in a limit means no limit)")
    for label, value in (("Minimum acceptable", "0.6"), ("Latency SLO: p95 ≤ (ms)", "250"),
                         ("at concurrent users", "2"), ("Load test seconds per model", "1"),
                         ("Monthly budget (USD)", "5"), ("at queries per day", "20000"), ("Memory limit (MB)", "2000")):
        type_in(p, label, value)
    box = p.main.get_by_role("combobox", name=CANDIDATES, exact=True).first
    box.click()
    p.page.keyboard.press("Backspace")   # removes the last chosen candidate: hybrid
    p.page.keyboard.press("Escape")
    chosen = p.main.locator('[data-testid="stMultiSelect"]').first.inner_text()
    assert "minilm" in chosen and "bm25" in chosen and "hybrid" not in chosen, chosen
    constraints = p.main.get_by_text("Every constraint, per candidate").first
    p.press("Decide", lambda: constraints.is_visible(), timeout=300)
    assert not p.main.locator('[data-testid="stAlertContentError"]').count()
    texts = p.main.locator('[data-testid="stColumn"] [data-testid="stMarkdownContainer"] p').all_inner_texts()
    steps = [t.strip() for t in texts if re.match(r"^[✅❌] \d · ", t.strip())]
    assert [s.split(" · ")[1] for s in steps] == ["Brief", "Data", "Shortlist", "Evaluation", "Plan",
                                                  "Verification"], steps
    assert "ndcg@10 ≥ 0.6; p95 ≤ 250 ms at 2 users; ≤ $5/month at 20,000 queries/day; memory ≤ 2000 MB" in steps[0]
    assert "31 documents, 16 judged questions" in steps[1] and "2 kept (minilm, bm25)" in steps[2]
    links = [t.strip() for t in p.main.get_by_role("link").all_inner_texts() if t.strip().startswith("Open ")]
    assert links == ["Open Data", "Open Index", "Open Retrieval", "Open RAG quality", "Open Load test", "Open Sweep",
                     "Open History"], links
    head = p.text(re.compile(r"^(Recommended: \w+|No recommendation)")).inner_text()
    SEEN["head"], SEEN["steps"] = head, steps
    SEEN["candidates"] = frame_with(p, "p95 ms")
    SEEN["checks"] = frame_with(p, "constraint")
    SEEN["shot"] = p.shot("decide_01_record")


def test_02_the_numbers_on_screen_are_the_runs(st_page):
    from evaluators.stats.run_stats import run_stats
    from rag.runs import RunStore

    if "checks" not in SEEN:
        pytest.skip("the decision did not run")
    store = RunStore.default()
    decision = store.list(kind="decision", limit=1)[0]
    rec = decision.summary["record"]
    runs = rec["evaluation"]["runs"]
    cmp = run_stats(store, runs["retrieval"]).get("ndcg@10")
    load = store.get(runs["load"]).summary["results"]
    assert SEEN["head"].startswith(f"Recommended: {rec['recommended']}" if rec["recommended"] else "No recommendation")
    cands = SEEN["candidates"]
    assert column(cands, "model") == ["minilm", "bm25"]
    for model, q, p95 in zip(column(cands, "model"), column(cands, "ndcg@10 [95% CI]"), column(cands, "p95 ms")):
        s = cmp.summary(model)
        assert q == f"{s.mean:.3f} [{s.low:.3f}, {s.high:.3f}]"
        assert float(p95.replace(",", "")) == pytest.approx(load[model]["p95_ms"])
    checks = SEEN["checks"]
    assert column(checks, "constraint") == ["quality", "p95_ms", "cost_month_usd", "memory_mb"] * 2
    assert column(checks, "passes")[0] == ("✅ yes" if cmp.summary("minilm").mean >= 0.6 else "❌ no")
    assert column(checks, "95% CI")[0] == f"[{cmp.summary('minilm').low:.3f}, {cmp.summary('minilm').high:.3f}]"


def test_03_the_report_opens_with_the_decision(st_page):
    p = st_page
    if "checks" not in SEEN:
        pytest.skip("the decision did not run")
    report = p.download("⬇️ decision report (HTML)")
    viewer = p.page.context.new_page()
    viewer.set_viewport_size({"width": 1400, "height": 1000})
    remote: list[str] = []
    viewer.on("request", lambda r: remote.append(r.url) if not r.url.startswith(("file:", "data:", "blob:"))
              else None)
    viewer.goto(report.as_uri())
    viewer.wait_for_load_state("load")
    assert not remote, f"the report fetched {remote}: it must open offline"
    body = viewer.locator("body").inner_text()
    assert "Decision · sample" in body and "Every constraint, per candidate" in body
    assert SEEN["head"].split(" · ")[0] in body
    path = p.artifacts / "decide_02_report.png"
    viewer.screenshot(path=str(path), full_page=True)
    viewer.close()
