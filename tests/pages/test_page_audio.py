"""AppTest of the audio sample across the pages, in one session over app.py's navigation: load it on
the Data page, compare a tiny CLAP and a tiny AST on the Retrieval page (the AST refused on text
queries with the reason, run on the audio queries), players beside ✅/❎, the text-only pages saying
so. Real Milvus Lite, real tiny models (random weights: only properties are asserted)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT
from tests.pages.test_page_images import TIMEOUT, by_label, dataset_line, ok, rank_frame

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def app(milvus):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    at.switch_page("pages/1_Data.py").run()  # the app lands on Decide
    by_label(at.button, "Load the audio sample").click().run()
    return at


def test_data_page_lists_the_audio_sample(app):
    at = app
    ok(at)
    assert "Loaded **audio-sample**." in at.success[0].value
    assert dataset_line(at).startswith("Dataset **audio-sample**: 20 sounds, 15 judged questions (10 text, 5 audio), ")
    frames = [d.value for d in at.dataframe if list(d.value.columns) != ["side", "language", "share"]]
    docs, questions = frames[0], frames[1]  # after the language profile's table (issue 23)
    assert list(docs.columns) == ["id", "file", "caption"] and len(docs) == 20
    assert docs.set_index("id").loc["tone-440", "file"] == "tone-440.wav"
    q = questions.set_index("id")
    assert q.loc["a1", "kind"] == "audio" and q.loc["a1", "question"] == "tone-440.wav"


def test_retrieval_compares_audio_models_with_players(app, tiny_clap_dir, tiny_ast_dir):
    at = app
    at.switch_page("pages/3_Retrieval.py").run()
    ok(at)
    assert at.radio(key="retrieval_queries").options == ["all (15)", "text (10)", "audio (5)"]
    assert not at.multiselect  # no registry model embeds sounds
    both = f"clap:{tiny_clap_dir}, aud:{tiny_ast_dir}"
    at.text_input(key="retrieval_models_custom").set_value(both).run()
    assert any(e.value.startswith(f"aud:{tiny_ast_dir} is an audio backbone (audio→audio only)") for e in at.error)
    assert by_label(at.button, "Compare").disabled
    at.radio(key="retrieval_queries").set_value("audio").run()
    assert not at.error
    by_label(at.number_input, "k (top documents)").set_value(5).run()
    by_label(at.button, "Compare").click().run()
    ok(at)
    assert list(at.dataframe[0].value.index) == [f"clap:{tiny_clap_dir}", f"aud:{tiny_ast_dir}"]
    qbox = by_label(at.selectbox, "Query")
    qbox.set_value("a1").run()
    frame = rank_frame(at)
    assert frame[f"clap:{tiny_clap_dir}"].iloc[0] == "✅ tone-440.wav"  # the query's own file, first
    assert frame[f"aud:{tiny_ast_dir}"].iloc[0] == "✅ tone-440.wav"
    players = at.get("audio")
    assert len(players) == 1 + 2 * 5  # the query's own player, then five per model
    assert any("**Audio query** tone\\-440\\.wav" in m.value for m in at.markdown)


def test_text_pages_say_audio_datasets_are_evaluated_on_the_retrieval_page(app):
    at = app
    at.switch_page("pages/4_RAG_quality.py").run()
    ok(at)
    assert any("audio\\-sample** is an audio dataset: audio datasets are evaluated on the **Retrieval** page" in i.value
               for i in at.info), [i.value for i in at.info]
