"""The one-click demo: the orchestrator on real parts (Milvus Lite, MiniLM, Ragas, Locust), a failing step
that leaves the others running, the judged step against the local OpenAI-compatible test server,
``cli.py demo`` as a subprocess, and the Data page's button (AppTest)."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from flows.demo import DONE, FAILED, NO_LLM, SKIPPED, DemoOptions, judged_estimate, run_demo
from rag.runs import RunStore
from tests.conftest import ROOT
from tests.support.cli_runs import run_clis
from tests.support.openai_test_server import judge_server, llm_server  # noqa: F401  (fixtures)

# nDCG@4 on the sample (FLAT, COSINE), the same numbers the Retrieval page shows
SAMPLE_NDCG4 = "nDCG@4: minilm 0.817 · bm25 0.858 · hybrid 0.840"
KEYS = ["index:minilm", "index:bm25", "index:hybrid", "retrieval", "rag", "rag_judged", "load", "decide", "report"]


@pytest.fixture(scope="module")
def offline_demo(retriever, sample):
    """The whole demo once, offline, with every progress call kept."""
    seen = []
    result = run_demo(sample, retriever, RunStore.default(),
                      progress=lambda steps, step: seen.append((step.key, step.status)))
    return result, seen


def test_offline_demo_runs_every_step_and_skips_the_judged_one(offline_demo, sample):
    result, seen = offline_demo
    by = {s.key: s for s in result.steps}
    assert list(by) == KEYS
    assert {k: s.status for k, s in by.items()} == {**dict.fromkeys(KEYS, DONE), "rag_judged": SKIPPED}
    assert by["rag_judged"].reason == NO_LLM
    assert result.ok
    assert by["retrieval"].detail == SAMPLE_NDCG4
    assert by["rag"].detail == "rows 48/48"
    store = RunStore.default()
    assert {k: store.get(v).kind for k, v in result.run_ids.items()} == \
        {"retrieval": "retrieval", "rag": "rag", "load": "load", "decide": "decision"}
    # the Decide step reused the demo's RAG and load runs, and its numbers are theirs
    rec = result.decision
    assert (rec["evaluation"]["runs"]["rag"], rec["evaluation"]["runs"]["load"]) == \
        (result.run_ids["rag"], result.run_ids["load"])
    assert {c["model"]: c["p95_ms"] for c in rec["candidates"]} == \
        {m: r["p95_ms"] for m, r in store.get(result.run_ids["load"]).summary["results"].items()}
    assert [round(c["quality"]["mean"], 3) for c in rec["candidates"]] == [0.817, 0.858, 0.840]  # nDCG@4 above
    assert by["decide"].detail == f"recommended {rec['recommended']}" and rec["recommended"] in {"minilm", "bm25",
                                                                                                  "hybrid"}
    assert f"Decision · {sample.name}" in result.report_html and "Every constraint, per candidate" in result.report_html
    load = store.get(result.run_ids["load"])
    assert (load.config["users"], load.config["duration"]) == (2, 3)
    assert list(load.summary["results"]) == ["minilm", "bm25", "hybrid"]
    assert all(r["requests"] > 0 and r["failures"] == 0 for r in load.summary["results"].values())
    assert by["load"].detail.startswith("minilm ") and " · bm25 " in by["load"].detail
    assert result.retrieval.models == ["minilm", "bm25", "hybrid"]
    for run_id in result.run_ids.values():
        assert run_id in result.report_html
    assert by["report"].detail == f"4 runs ({', '.join(result.run_ids.values())})"
    # one progress view: each step goes running -> done in order (the judged one straight to skipped)
    ends = [(k, s) for k, s in seen if s in (DONE, SKIPPED, FAILED)]
    assert [k for k, _ in ends] == KEYS
    assert all(("running" in [s for k2, s in seen if k2 == k]) for k in KEYS if k != "rag_judged")


def test_a_failing_step_shows_its_reason_and_the_others_still_run(offline_demo, retriever, sample):
    """An unknown model and a load step that raises: both failed with their reason; the rest ran on
    the models that could be indexed (already built: reused)."""
    def broken_load(models, index, opts, say):
        assert models == ["minilm", "bm25"]
        raise RuntimeError("the load-test service did not start: port 1 refused")

    result = run_demo(sample, retriever, RunStore.default(), DemoOptions(models=("minilm", "nope", "bm25")),
                      load_test=broken_load)
    by = {s.key: s for s in result.steps}
    assert {k: s.status for k, s in by.items()} == {
        "index:minilm": DONE, "index:nope": FAILED, "index:bm25": DONE, "retrieval": DONE, "rag": DONE,
        "rag_judged": SKIPPED, "load": FAILED, "decide": DONE, "report": DONE}
    assert by["index:nope"].reason.startswith("unknown model 'nope'. Known: minilm, bm25")
    assert by["load"].reason == "the load-test service did not start: port 1 refused"
    assert by["index:minilm"].detail == by["index:bm25"].detail == "reused the collection"
    assert by["retrieval"].detail == "nDCG@4: minilm 0.817 · bm25 0.858"
    assert by["rag"].detail == "rows 32/32"
    assert not result.ok and "load" not in result.run_ids
    # Decide without latency: nobody meets the p95 SLO, so no recommendation, and the record says why
    assert by["decide"].detail.startswith("no recommendation: no candidate meets every constraint")
    assert result.decision["evaluation"]["steps"][-1]["reason"] == \
        "the demo's load test did not finish (the load-test service did not start: port 1 refused)"
    assert by["report"].detail == \
        f"3 runs ({result.run_ids['retrieval']}, {result.run_ids['rag']}, {result.run_ids['decide']})"
    assert by["load"].line() == \
        "❌ Load test (2 users × 3 s per model) · the load-test service did not start: port 1 refused"


def test_nothing_indexed_skips_what_needs_a_model(retriever, sample):
    result = run_demo(sample, retriever, RunStore.default(), DemoOptions(models=("nope",)))
    assert [(s.key, s.status, s.reason) for s in result.steps[1:]] == [
        ("retrieval", SKIPPED, "no model could be indexed"), ("rag", SKIPPED, "no model could be indexed"),
        ("rag_judged", SKIPPED, NO_LLM), ("load", SKIPPED, "no model could be indexed"),
        ("decide", SKIPPED, "no model could be indexed"), ("report", SKIPPED, "no run finished to report on")]
    assert result.report_html is None and result.run_ids == {}


def test_judged_step_runs_with_an_llm_under_its_spend_cap(retriever, sample, llm_server):  # noqa: F811
    from rag.settings import get_settings

    settings = get_settings().with_keys("sk-demo-test", llm_server.base_url)
    opts = DemoOptions(models=("bm25",), settings=settings, spend_cap_usd=0.5)
    est = judged_estimate(sample, opts)
    assert (est["rows"], est["calls"]) == (16, {"generator": 16, "judge": 160})
    result = run_demo(sample, retriever, RunStore.default(), opts)
    by = {s.key: s for s in result.steps}
    assert by["rag_judged"].status == DONE, by["rag_judged"].reason
    assert by["rag_judged"].detail == "rows 16/16"
    run = RunStore.default().get(result.run_ids["rag_judged"])
    assert run.config["rag"]["spend_cap_usd"] == 0.5
    assert (run.config["generator"]["spec"], run.config["judge"]) == \
        ("openai", {"provider": "openai", "model": "gpt-4o-mini", "base_url": None})
    assert set(run.summary["metrics"]["bm25"]) >= {"faithfulness", "answer_relevancy", "context_precision",
                                                   "context_recall", "rouge_l"}
    assert "sk-demo-test" not in json.dumps(run.config) + (result.report_html or "")
    assert result.ok and set(result.run_ids) == {"retrieval", "rag", "rag_judged", "load", "decide"}
    assert result.decision["evaluation"]["runs"]["rag"] == result.run_ids["rag_judged"]  # reused, not re-run


def test_judged_step_stops_at_a_tiny_spend_cap(retriever, sample, llm_server):  # noqa: F811
    from rag.settings import get_settings

    settings = get_settings().with_keys("sk-demo-test", llm_server.base_url)
    result = run_demo(sample, retriever, RunStore.default(),
                      DemoOptions(models=("bm25",), settings=settings, spend_cap_usd=0.0001),
                      load_test=lambda *a: (_ for _ in ()).throw(RuntimeError("not part of this test")))
    step = next(s for s in result.steps if s.key == "rag_judged")
    assert step.status == DONE
    assert step.detail.endswith("; stopped at the $0.0001 spend cap (resume it on the RAG quality page)")
    assert RunStore.default().get(step.run_id).status == "stopped"


# ---------------------------------------------------------------- cli.py demo


def test_cli_demo_refuses_a_bad_output_before_any_work(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    r, r_missing = run_clis([("demo", "--output", str(f)), ("demo", "--output", str(tmp_path / "no" / "dir"))],
                            jobs=1)  # refused in ~0.5 s each: one at a time
    assert (r.returncode, r.stderr.strip()) == (2, f"error: --output {f}: is a file; give a folder")
    assert (r_missing.returncode, r_missing.stderr.strip()) == \
        (2, f"error: --output {tmp_path / 'no' / 'dir'}: folder {tmp_path / 'no'} does not exist")


@pytest.fixture(scope="module")
def cli_demos(milvus, tmp_path_factory):
    """``cli.py demo --models bm25,nope`` (a failed step) and ``--models bm25`` (every step ran), run side by side
    on the session's data folder: {"failed" | "ok": (the process, its --output folder)}."""
    failed, ok = tmp_path_factory.mktemp("demo-failed") / "demo-out", tmp_path_factory.mktemp("demo-ok")
    r_failed, r_ok = run_clis([("demo", "--output", str(failed), "--models", "bm25,nope"),  # created: its parent exists
                               ("demo", "--output", str(ok), "--models", "bm25")])
    return {"failed": (r_failed, failed), "ok": (r_ok, ok)}


def test_cli_demo_writes_the_report_and_steps_and_exits_1_on_a_failed_step(cli_demos):
    r, out = cli_demos["failed"]
    assert r.returncode == 1, r.stderr
    doc = json.loads((out / "demo.json").read_text())
    assert [(s["key"], s["status"]) for s in doc["steps"]] == [
        ("index:bm25", DONE), ("index:nope", FAILED), ("retrieval", DONE), ("rag", DONE), ("rag_judged", SKIPPED),
        ("load", DONE), ("decide", DONE), ("report", DONE)]
    assert doc["ok"] is False and set(doc["run_ids"]) == {"retrieval", "rag", "load", "decide"}
    assert json.loads((out / "decision.json").read_text())["run_id"] == doc["run_ids"]["decide"]
    html = (out / "report.html").read_text()
    assert all(run_id in html for run_id in doc["run_ids"].values())
    assert "❌ Index nope · unknown model 'nope'" in r.stdout
    assert f"wrote {out / 'report.html'}" in r.stdout and f"wrote {out / 'demo.json'}" in r.stdout


def test_cli_demo_exits_0_when_every_step_ran(cli_demos):
    r, out = cli_demos["ok"]
    assert r.returncode == 0, r.stderr
    doc = json.loads((out / "demo.json").read_text())
    assert doc["ok"] is True and [s["status"] for s in doc["steps"]] == [DONE] * 3 + [SKIPPED, DONE, DONE, DONE]
    html = (out / "report.html").read_text()
    assert html.startswith("<!DOCTYPE html>") and "<svg" in html and "<script" not in html  # static SVG charts
    assert 10_000 < len(html.encode()) < 1_500_000


# ---------------------------------------------------------------- the Data page


def test_data_page_runs_the_demo_and_links_each_step(offline_demo, milvus):
    """Through app.py (it lands on Decide; the demo is on the Data page), so each step's page link resolves."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=400).run()
    at.switch_page("pages/1_Data.py").run()
    assert not at.exception
    assert "Judged metrics: no LLM configured" in " ".join(c.value for c in at.caption)
    next(b for b in at.button if b.label == "▶ Run the demo").click().run()
    assert not at.exception and not at.error
    lines = [m.value for m in at.markdown if m.value.startswith(("✅", "❌", "⏭️"))]
    assert len(lines) == 9 and lines[3].startswith("✅ Retrieval comparison · run ")
    assert lines[3].endswith(SAMPLE_NDCG4) and lines[0] == "✅ Index minilm · reused the collection"
    links = [(p.proto.label, p.proto.page) for p in at.get("page_link")]
    assert links[3][0] == "Open Retrieval" and links[-1][0] == "Open History" and len(links) == 9
    assert links[7][0] == "Open Decide" and lines[7].startswith("✅ Decide: the decision record · run ")
    assert [b.label for b in at.get("download_button")] == ["⬇️ Demo report (report.html)"]
    result = at.session_state["demo_result"]
    assert at.session_state["retrieval_run_id"] == result.run_ids["retrieval"]
    assert at.session_state["load_run_shown"] == result.run_ids["load"]
    assert at.session_state["decide_record"]["run_id"] == result.run_ids["decide"]
