"""AppTest of the Data page's speech to text: an audio folder loaded with an ``asr:`` Whisper folder becomes a
text dataset of timed segments (the transcription's line shown), and a folder that is not Whisper is refused
in one line with the current dataset kept. A tiny random Whisper built in the test."""

from __future__ import annotations

import math

import pytest
from streamlit.testing.v1 import AppTest

from rag.data.audio import load_audio_folder
from rag.models.asr import transcribe
from tests.conftest import ROOT
from tests.models.test_asr import talks  # noqa: F401  (the fixture)
from tests.pages.test_page_images import TIMEOUT, by_label, dataset_line, ok
from tests.support.tiny_whisper import make_tiny_whisper

pytestmark = pytest.mark.slow


def test_data_page_loads_an_audio_folder_as_transcribed_segments(talks, tiny_models_dir, tmp_path):  # noqa: F811
    whisper = make_tiny_whisper(tiny_models_dir / "whisper-page")
    text_ds, report = transcribe(load_audio_folder(talks), f"asr:{whisper}")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    at.switch_page("pages/1_Data.py").run()  # the app lands on Decide
    at.radio[0].set_value("Audio folder").run()
    next(t for t in at.text_input if t.label.startswith("Audio folder")).set_value(str(talks)).run()
    at.text_input(key="audio_asr").set_value(f"asr:{tmp_path}").run()
    by_label(at.button, "Load audio folder").click().run()
    ok(at)
    assert at.error[0].value == (f"Not loaded: {tmp_path} has no config.json: save the Whisper model there with "
                                 f"save_pretrained (transformers)")
    at.text_input(key="audio_asr").set_value(f"asr:{whisper}").run()
    by_label(at.button, "Load audio folder").click().run()
    ok(at)
    assert not at.error and at.success[0].value == f"Loaded **{text_ds.name}**."
    report.cached = report.sounds  # this second pass read the transcripts from the cache
    assert at.info[0].value == report.line()
    assert dataset_line(at).startswith(f"Dataset **{text_ds.name}**: {len(text_ds.documents)} ")
    at.switch_page("pages/3_Retrieval.py").run()
    ok(at)
    for box in at.multiselect:
        box.set_value([]).run()
    at.text_input(key="retrieval_models_custom").set_value("bm25").run()
    by_label(at.number_input, "k (top documents)").set_value(3).run()
    by_label(at.button, "Compare").click().run()
    ok(at)
    players = at.get("audio")
    from rag.models.asr import segment_media

    ranges = {(math.floor(s), max(math.ceil(e), math.floor(s) + 1))
              for _, s, e in (segment_media(text_ds, d.id) for d in text_ds.documents)}
    assert len(players) == 3 and all((p.proto.start_time, p.proto.end_time) in ranges for p in players)
    assert sum(m.value.startswith(("1. ✅", "1. ❎")) for m in at.markdown) == 1  # bm25's first segment
    # the run records which ASR model made the text (issue 28: ASR from the app recorded in runs), as the CLI does
    from evaluators.report.build import build_report
    from evaluators.report.history import runs_frame
    from evaluators.retrieval.asr_record import asr_run_record
    from rag.runs import RunStore

    store = RunStore.default()
    run = store.get(at.session_state["retrieval_run_id"])
    assert run.config["asr"] == asr_run_record(report, f"asr:{whisper}")  # counts as this (cached) pass saw them
    assert run.config["asr"]["segments"] == len(text_ds.documents) and run.dataset_hash == text_ds.content_hash()
    headline = runs_frame([run])["headline"].iloc[0]
    assert headline.endswith(" · text by ASR whisper-page, WER not measured") and headline.startswith("nDCG@3 bm25 ")
    page = build_report(store, [run.id], n_resamples=200)
    assert "<h3>Speech to text</h3>" in page and f"asr:{whisper}" in page and "generate(return_timestamps=True)" in page
