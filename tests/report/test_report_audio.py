"""Audio runs in the report and on History: each sound shown as its waveform picture (``waveform_png``,
inline as a data URI: the HTML stays standalone, no media embedded) beside its file name, the audio query's
too. Rankings set by hand on the built-in audio sample, recorded with ``save_run`` (no Milvus, no model)."""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

from rag.runs import RunStore


@pytest.fixture(scope="module")
def audio_run(tmp_path_factory):
    from evaluators.retrieval.evaluate import RetrievalResult, save_run
    from evaluators.retrieval.metrics import score_run
    from rag.data.samples.audio import load_audio_sample

    ds = load_audio_sample().select_queries("audio")
    rankings = {q.id: [(d.id, 1.0 - i / 10) for i, d in enumerate(ds.documents[:3])] for q in ds.queries}
    per_query, means = score_run(rankings, ds.qrels, 3)
    result = RetrievalResult(ds.name, 3, ["aud:hand"], {"aud:hand": rankings}, {"aud:hand": per_query},
                             {"aud:hand": means}, model_ids={"aud:hand": "aud:hand"})
    store = RunStore(tmp_path_factory.mktemp("runs") / "runs.sqlite")
    return store, save_run(store, ds, result), ds


def png_size(uri: str) -> tuple[int, int]:
    assert uri.startswith("data:image/png;base64,")
    return Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))).size


def test_history_table_has_a_waveform_beside_each_sound(audio_run):
    from evaluators.report.sections import run_query_frame
    from evaluators.retrieval.evaluate import IMAGE_COLUMN, THUMB_PX, thumbnail
    from rag.data.audio import waveform_data_uri

    store, run_id, ds = audio_run
    frame = run_query_frame(store, store.get(run_id), "a1", ds, thumbs=THUMB_PX)
    first3 = ds.documents[:3]
    assert list(frame["aud:hand"][:3]) == [f"{'✅' if d.id in ds.relevant('a1') else '❎'} {d.title}" for d in first3]
    waves = list(frame["aud:hand" + IMAGE_COLUMN][:3])
    assert waves == [waveform_data_uri(d.audio, THUMB_PX, THUMB_PX // 3) for d in first3]
    assert waves == [thumbnail(d.audio) for d in first3] and png_size(waves[0]) == (THUMB_PX, THUMB_PX // 3)
    # a steady tone is a flat band, a click train a row of spikes: different pictures
    assert thumbnail(ds.doc("tone-440").audio) != thumbnail(ds.doc("clicks-4").audio)


def test_report_shows_waveforms_of_results_and_of_the_audio_query(audio_run):
    from evaluators.report.build import build_report
    from evaluators.retrieval.evaluate import THUMB_PX
    from rag.data.audio import waveform_data_uri

    store, run_id, ds = audio_run
    page = build_report(store, [run_id], n_resamples=200)
    assert "could not be re-read" not in page
    for d in ds.documents[:3]:
        assert waveform_data_uri(d.audio, THUMB_PX, THUMB_PX // 3) in page and d.title in page
    shown = [q for q in ds.queries if f"<h3>Query {q.id}" in page]
    assert shown
    for q in shown:
        name = q.audio.rsplit("/", 1)[-1]
        assert waveform_data_uri(q.audio, 96, 32) in page and f"query sound: {name}" in page
    assert "<audio" not in page and "base64,UklGR" not in page  # no media itself (a WAV's base64 starts UklGR)
