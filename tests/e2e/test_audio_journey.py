"""Audio retrieval in a real browser: the built-in audio sample indexed with a tiny CLAP and compared on the
Retrieval page (players beside ✅/❎), the same sounds transcribed by a tiny Whisper on the Data page and
searched with BM25 (a player per segment, from its time range), both runs on History (the ASR model and its
WER in the headline), and the stakeholder report downloaded from History with the sounds' waveforms.

Oracle: ``cli.py retrieval`` on the same folder (``--models clap:…`` and ``--asr asr:… --models bm25``), run
in a subprocess against the same data folder and Milvus: the page's run records the CLI's numbers exactly and
shows them to three decimals. Random tiny models (tests/support): only properties and equalities are asserted.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT
from tests.e2e.journey_helpers import RUN_ID, column, frame_with
from tests.e2e.test_images_journey import shown_run, view_shot
from tests.support.tiny_whisper import make_tiny_whisper

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def streamlit_app(shared_app):
    """The app this module shares with the other page walks (tests/e2e/conftest.py, shared_app)."""
    return shared_app

K = 3
RUNS: dict[str, str] = {}  # step -> run id
FOLDER_LABEL = ("Audio folder (corpus/ of .wav/.flac/.ogg/.mp3/.m4a, queries.jsonl, qrels/test.tsv; "
                "captions.jsonl and transcripts.jsonl optional)")
ASR_LABEL = "Speech to text (optional): asr:FOLDER, a Whisper folder"
OWN = "Your own models (comma-separated)"


@pytest.fixture(scope="module")
def models(tiny_clap_dir, tiny_models_dir) -> dict[str, str]:
    return {"clap": f"clap:{tiny_clap_dir}", "asr": f"asr:{make_tiny_whisper(tiny_models_dir / 'whisper-e2e')}"}


def cli_metrics(*args: str) -> dict:
    """``cli.py retrieval ... --output`` on the app's data folder and Milvus: its JSON."""
    out = ROOT / "test-artifacts" / f"audio-cli-{len(args)}.json"
    out.parent.mkdir(exist_ok=True)
    p = subprocess.run([sys.executable, "cli.py", "retrieval", *args, "--k", str(K), "--output", str(out)],
                       cwd=ROOT, capture_output=True, text=True, timeout=600, env=os.environ.copy())
    assert p.returncode == 0, p.stderr[-2000:]
    return json.loads(out.read_text())


def recorded(run_id: str) -> dict:
    from rag.runs import RunStore

    return RunStore.default().get(run_id).summary["metrics"]


def test_01_clap_on_the_audio_sample_with_players(st_page, models):
    p = st_page
    p.press("Load the audio sample", "Loaded audio-sample.")
    p.goto("Index")
    p.fill(OWN, models["clap"])
    p.press("Build collections", re.compile(r"^Ready: "), timeout=300)
    p.goto("Retrieval")
    p.fill(OWN, models["clap"])
    p.fill("k (top documents)", str(K))
    p.press("Compare", lambda: bool(shown_run(p)), timeout=300)
    RUNS["clap"] = shown_run(p)
    metrics = frame_with(p, f"ndcg@{K}")
    assert column(metrics, "model") == [models["clap"]]
    cli = cli_metrics("--dataset", "audio-sample", "--models", models["clap"])
    mine = recorded(RUNS["clap"])[models["clap"]]
    assert mine == pytest.approx(cli["metrics"][models["clap"]], abs=1e-12)  # the CLI's numbers, exactly
    assert column(metrics, f"ndcg@{K}")[0].startswith(f"{mine[f'ndcg@{K}']:.3f} [")
    players = p.main.locator("audio")
    players.first.wait_for(state="attached", timeout=60_000)
    marks = p.main.locator("li").filter(has_text=re.compile(r"^[✅❎] .+\.wav$"))  # "1. ✅ x.wav": a list item
    assert players.count() >= marks.count() >= 1  # a player beside each ✅/❎ (and the audio query's own)
    view_shot(p, "aud_01_retrieval_clap", players.first)


def test_02_bm25_over_the_tiny_whispers_transcript_with_segment_players(st_page, models):
    from rag.data.samples.audio import audio_sample_dir

    p = st_page
    folder = str(audio_sample_dir())
    p.goto("Data")
    p.main.get_by_text("Audio folder", exact=True).click()
    p.wait_idle()
    p.fill(FOLDER_LABEL, folder)
    p.fill(ASR_LABEL, models["asr"])
    p.press("Load audio folder", re.compile(r"\(speech by whisper-e2e\)"), timeout=300)
    line = p.text(re.compile(r"^asr:.*sounds (->|→) \d+ segments")).inner_text()  # markdown draws -> as →
    p.goto("Index")
    p.fill(OWN, "bm25")
    p.press("Build collections", re.compile(r"^Ready: "), timeout=300)
    p.goto("Retrieval")
    p.fill(OWN, "bm25")
    p.fill("k (top documents)", str(K))
    p.press("Compare", lambda: bool(shown_run(p)) and shown_run(p) != RUNS["clap"], timeout=300)
    RUNS["asr"] = shown_run(p)
    cli = cli_metrics("--dataset", folder, "--asr", models["asr"], "--models", "bm25")
    mine = recorded(RUNS["asr"])["bm25"]
    assert mine == pytest.approx(cli["metrics"]["bm25"], abs=1e-12)
    assert "bm25" in column(frame_with(p, f"ndcg@{K}"), "model")
    from rag.runs import RunStore

    asr = RunStore.default().get(RUNS["asr"]).config["asr"]
    assert asr["spec"] == models["asr"] and asr["segments"] == cli["asr"]["segments"] and line.startswith(asr["model"])
    players = p.main.locator("audio")
    players.first.wait_for(state="attached", timeout=60_000)
    marks = p.main.locator("li").filter(has_text=re.compile(r"^[✅❎] .+\.wav \d+\.\d-\d+\.\d s$"))
    assert players.count() >= marks.count() >= 1  # a player from each segment's start beside its ✅/❎
    view_shot(p, "aud_02_retrieval_asr", players.first)


def test_03_history_and_the_report_with_waveforms(st_page, models):
    p = st_page
    p.goto("History")
    runs = frame_with(p, "kind")
    heads = dict(zip(column(runs, "id"), column(runs, "headline")))
    assert heads[RUNS["asr"]].endswith(" · text by ASR whisper-e2e, WER not measured"), heads
    assert heads[RUNS["clap"]].startswith(f"nDCG@{K} {models['clap']} ")
    for step in ("clap", "asr"):
        p.select("Open one run, or pick two or more to compare", RUNS[step], exact=False)
    p.text(re.compile(r"^Comparing 2 runs$"))
    button = p.main.get_by_role("button", name="⬇️ report.html", exact=True).first
    p.press("Build stakeholder report", button.is_visible, timeout=240)
    report = p.download("⬇️ report.html")
    p.shot("aud_03_history_compare")
    html = report.read_text()
    assert RUN_ID.search(html) and RUNS["clap"] in html and RUNS["asr"] in html
    assert "<h3>Speech to text</h3>" in html and models["asr"] in html
    assert html.count("data:image/png;base64,") >= K  # the sounds' waveforms, not the media
    assert "<audio" not in html
    viewer = p.page.context.new_page()
    viewer.goto(report.as_uri())
    viewer.wait_for_load_state("load")
    viewer.screenshot(path=str(p.artifacts / "aud_03_report.png"), full_page=True)
    viewer.close()
