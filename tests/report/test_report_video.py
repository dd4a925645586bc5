"""Video runs in the report and on History: each result shown as its best frame (a small PNG data URI, never
the video) with its file and second. Rankings and best frames set by hand on the built-in video sample,
recorded with ``save_run`` (no Milvus, no model)."""

from __future__ import annotations

import html

import pytest

from rag.runs import RunStore

BEST = {"street": 0.0, "sunset": 4.0, "garden": 4.0}  # where each shows a circle (red, purple, yellow)


@pytest.fixture(scope="module")
def video_run(tmp_path_factory):
    from evaluators.retrieval.evaluate import RetrievalResult, save_run
    from evaluators.retrieval.metrics import score_run
    from rag.data.samples.video import load_video_sample

    ds = load_video_sample().select_queries("text")
    rankings = {q.id: [(v, 0.9 - i / 10) for i, v in enumerate(BEST)] for q in ds.queries}
    per_query, means = score_run(rankings, ds.qrels, 3)
    result = RetrievalResult(ds.name, 3, ["clip:hand"], {"clip:hand": rankings}, {"clip:hand": per_query},
                             {"clip:hand": means}, model_ids={"clip:hand": "clip:hand"},
                             frames={"clip:hand": {q.id: dict(BEST) for q in ds.queries}})
    store = RunStore(tmp_path_factory.mktemp("runs") / "runs.sqlite")
    return store, save_run(store, ds, result), ds


def test_the_run_records_the_best_frames_and_history_shows_them(video_run):
    from evaluators.report.sections import run_query_frame
    from evaluators.retrieval.evaluate import IMAGE_COLUMN, THUMB_PX
    from rag.data.video import frame_data_uri

    store, run_id, ds = video_run
    run = store.get(run_id)
    assert run.config["best_frames"]["clip:hand"]["t1"] == BEST
    frame = run_query_frame(store, run, "t1", ds, thumbs=THUMB_PX)
    assert list(frame["clip:hand"][:3]) == ["✅ street.webm @ 0.0 s", "✅ sunset.webm @ 4.0 s",
                                            "✅ garden.webm @ 4.0 s"]
    assert list(frame["clip:hand" + IMAGE_COLUMN][:3]) == [frame_data_uri(ds.doc(v).video, t, THUMB_PX)
                                                           for v, t in BEST.items()]


def test_report_shows_each_results_best_frame_not_the_video(video_run):
    from evaluators.report.build import build_report
    from evaluators.retrieval.evaluate import THUMB_PX
    from rag.data.video import frame_data_uri

    store, run_id, ds = video_run
    page = build_report(store, [run_id], n_resamples=200)
    assert "could not be re-read" not in page
    for v, t in BEST.items():
        assert html.escape(frame_data_uri(ds.doc(v).video, t, THUMB_PX)) in page
    assert "street.webm @ 0.0 s" in page
    assert "<video" not in page and "data:video" not in page
