"""AppTest of the video sample: load it on the Data page, compare a tiny CLIP on its frames on the Retrieval
page; each result reads "✅ file @ second" beside its best frame's thumbnail, and each model's top videos play
from that second (``st.video(start_time=…)``). Real Milvus Lite, a real tiny CLIP (random weights: only
properties are asserted)."""

from __future__ import annotations

import re

import pytest
from streamlit.testing.v1 import AppTest

from evaluators.retrieval.evaluate import IMAGE_COLUMN
from tests.conftest import ROOT
from tests.pages.test_page_images import PNG, TIMEOUT, by_label, dataset_line, ok, rank_frame

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def app(milvus):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    at.switch_page("pages/1_Data.py").run()  # the app lands on Decide
    by_label(at.button, "Load the video sample").click().run()
    return at


def test_retrieval_shows_best_frames_and_plays_from_them(app, tiny_clip_dir):
    at = app
    ok(at)
    assert dataset_line(at).startswith("Dataset **video-sample**: 6 videos, 8 judged questions (6 text, 2 image), ")
    at.switch_page("pages/3_Retrieval.py").run()
    ok(at)
    assert at.radio(key="retrieval_queries").options == ["all (8)", "text (6)", "image (2)"]
    model = f"clip:{tiny_clip_dir}"
    at.text_input(key="retrieval_models_custom").set_value(model).run()
    assert not at.error
    by_label(at.button, "Compare").click().run()
    ok(at)
    by_label(at.selectbox, "Query").set_value("t1").run()
    frame = rank_frame(at)
    cells = list(frame[model].iloc[:4])
    marks = [re.fullmatch(r"[✅❎] (\w+)\.webm @ ([0-5])\.0 s", c) for c in cells]
    assert all(marks), cells  # every result names its file and its best frame's second (1 frame a second)
    assert all(str(v).startswith(PNG) for v in frame[model + IMAGE_COLUMN].iloc[:4])  # the best frames' thumbnails
    players = at.get("video")
    assert len(players) == 3  # the first three of the one model
    starts = [p.proto.start_time for p in players]
    assert starts == [int(float(m.group(2))) for m in marks[:3]]
