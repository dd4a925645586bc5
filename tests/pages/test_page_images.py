"""AppTest of image datasets across the pages, in one browser-like session over app.py's navigation:
load the image sample on the Data page, compare tiny CLIP and SigLIP on the Retrieval page (thumbnails
and marks), an img: backbone refused on text queries with the reason and run on the image queries,
the text-only pages saying so, Index, History's per-query thumbnails. Real Milvus Lite, real tiny
models (random weights: only properties are asserted, e.g. an image query whose image is in the
corpus ranks it first)."""

from __future__ import annotations

import shutil

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT
from tests.support.page_scan import raw_cells

TIMEOUT = 240
PNG = "data:image/png;base64,"


def by_label(widgets, label):
    return next(w for w in widgets if w.label == label)


def dataset_line(at) -> str:
    return next(c.value for c in at.caption if c.value.startswith("Dataset **"))


def rank_frame(at):
    """The per-query rank table (its last rows are Precision and Recall)."""
    return next(d.value for d in at.dataframe if list(d.value.index)[-2:] == ["Precision", "Recall"])


def ok(at) -> None:
    assert not at.exception, at.exception
    assert raw_cells(at) == []


@pytest.fixture(scope="module")
def models(tiny_clip_dir, tiny_siglip_dir, tiny_resnet_dir):
    return {"clip": f"clip:{tiny_clip_dir}", "siglip": f"clip:{tiny_siglip_dir}", "resnet": f"img:{tiny_resnet_dir}"}


@pytest.fixture(scope="module")
def app(milvus):
    """One session: the app, with the image sample loaded on the Data page."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    at.switch_page("pages/1_Data.py").run()  # the app lands on Decide
    by_label(at.button, "Load the image sample").click().run()
    return at


@pytest.fixture(scope="module")
def image_sample():
    from rag.data.samples.images import load_image_sample

    return load_image_sample()


def test_data_page_shows_the_image_sample_as_thumbnails(app, image_sample):
    at = app
    ok(at)
    assert "Loaded **image-sample**." in at.success[0].value
    judgments = sum(len(v) for v in image_sample.qrels.values())
    assert dataset_line(at) == (f"Dataset **image-sample**: 30 images, 15 judged questions (10 text, 5 image), "
                                f"{judgments} judgments.")
    docs, questions = at.dataframe[0].value, at.dataframe[1].value
    assert list(docs.columns) == ["image", "id", "file", "caption"] and len(docs) == 30
    assert all(v.startswith(PNG) for v in docs["image"])
    assert docs.set_index("id").loc["red-circle", "file"] == "red-circle.png"
    assert docs.set_index("id").loc["red-circle", "caption"] == "a red circle"
    q = questions.set_index("id")
    assert list(questions.columns) == ["id", "kind", "question", "image", "relevant"]
    assert q.loc["i1", "kind"] == "image" and q.loc["i1", "question"] == "red-circle.png"
    assert q.loc["i1", "image"].startswith(PNG) and q.loc["i1", "relevant"] == "red-circle, red-circle-small"
    assert q.loc["t1", "kind"] == "text" and q.loc["t1", "image"] == "" and q.loc["t1", "question"]


def test_a_bad_image_folder_names_file_line_and_field_and_keeps_the_dataset(app, tmp_path, image_sample):
    at = app
    (tmp_path / "corpus").mkdir()
    shutil.copy(image_sample.doc("red-circle").image, tmp_path / "corpus" / "red-circle.png")
    (tmp_path / "queries.jsonl").write_text('{"_id": "t1", "text": "red"}\n'
                                            '{"_id": "t2", "text": "red", "image": "corpus/red-circle.png"}\n')
    (tmp_path / "qrels").mkdir()
    (tmp_path / "qrels" / "test.tsv").write_text("t1\tred-circle\t1\nt2\tred-circle\t1\n")
    at.radio[0].set_value("Image folder").run()
    next(t for t in at.text_input if t.label.startswith("Image folder")).set_value(str(tmp_path)).run()
    by_label(at.button, "Load image folder").click().run()
    ok(at)
    assert at.error[0].value == ("Not loaded: queries.jsonl, line 2, field 'image': a query has text or an image, "
                                 "not both")
    assert "30 images" in dataset_line(at)  # the image sample is still loaded

    (tmp_path / "queries.jsonl").write_text('{"_id": "t1", "text": "red"}\n'
                                            '{"_id": "t2", "image": "corpus/red-circle.png"}\n')
    by_label(at.button, "Load image folder").click().run()
    ok(at)
    assert not at.error and at.success[0].value == f"Loaded **{tmp_path.name}**."
    assert "1 image, 2 judged questions (1 text, 1 image), 2 judgments." in dataset_line(at)
    at.radio[0].set_value("Built-in sample").run()
    by_label(at.button, "Load the image sample").click().run()
    assert "30 images" in dataset_line(at)


def test_retrieval_compares_clip_and_siglip_with_thumbnails_and_marks(app, models):
    at = app
    at.switch_page("pages/3_Retrieval.py").run()
    ok(at)
    assert at.radio(key="retrieval_queries").value == "all"
    assert at.radio(key="retrieval_queries").options == ["all (15)", "text (10)", "image (5)"]
    assert not at.multiselect  # no registry model embeds images
    custom = at.text_input(key="retrieval_models_custom")
    assert "clip:FOLDER" in custom.help and "img:FOLDER" in custom.help
    custom.set_value(f"{models['clip']}, {models['siglip']}").run()
    by_label(at.number_input, "k (top documents)").set_value(5).run()
    by_label(at.button, "Compare").click().run()
    ok(at)
    assert not at.error
    pair = [models["clip"], models["siglip"]]
    assert list(at.dataframe[0].value.index) == pair and "ndcg@5" in at.dataframe[0].value.columns
    verdict = next(d.value for d in at.dataframe if "mark" in d.value.columns)
    assert set(verdict["model"]) == set(pair) and (verdict["mark"] == "★ best").sum() == 1
    assert any(m.value.startswith("- ") for m in at.markdown)  # the verdict sentences
    assert any("15 judged queries" in c.value for c in at.caption)
    table = rank_frame(at)
    assert list(table.columns) == [f"{pair[0]} · image", pair[0], f"{pair[1]} · image", pair[1]]
    for m in pair:
        assert all(v.startswith(PNG) for v in table[f"{m} · image"].iloc[:5])
        assert list(table[f"{m} · image"].iloc[5:]) == ["", ""]
        assert all(v[:2] in ("✅ ", "❎ ") and v.endswith(".png") for v in table[m].iloc[:5])

    query = by_label(at.selectbox, "Query")
    assert query.options[0].startswith("t1: ") and "i1: 🖼️ red-circle.png (image)" in query.options
    query.set_value("i1").run()
    ok(at)
    table = rank_frame(at)
    assert [table[m].iloc[0] for m in pair] == ["✅ red-circle.png", "✅ red-circle.png"]
    shown = r"**Image query** red\-circle\.png · relevant: red\-circle\.png, red\-circle\-small\.png"
    assert shown in [m.value for m in at.markdown]
    assert len(at.get("image")) == 1  # the query's own picture


def test_an_img_model_needs_image_queries_and_ranks_them_by_their_own_image(app, models, image_sample):
    from rag.models.registry import resolve
    from rag.models.spec import fit_problem

    at = app
    all3 = f"{models['clip']}, {models['siglip']}, {models['resnet']}"
    at.text_input(key="retrieval_models_custom").set_value(all3).run()
    ok(at)
    assert [e.value for e in at.error] == [fit_problem(resolve(models["resnet"]), image_sample)]
    assert "cannot embed the 10 text queries" in at.error[0].value
    assert by_label(at.button, "Compare").disabled

    at.radio(key="retrieval_queries").set_value("image").run()
    ok(at)
    assert not at.error and not by_label(at.button, "Compare").disabled
    by_label(at.button, "Compare").click().run()
    ok(at)
    assert not at.error
    assert list(at.dataframe[0].value.index) == [models["clip"], models["siglip"], models["resnet"]]
    assert any("5 judged queries" in c.value for c in at.caption)
    query = by_label(at.selectbox, "Query")
    assert [o.split(":")[0] for o in query.options] == ["i1", "i2", "i3", "i4", "i5"]
    for qid, own in (("i1", "red-circle.png"), ("i2", "green-star.png")):
        by_label(at.selectbox, "Query").set_value(qid).run()
        ok(at)
        table = rank_frame(at)
        assert [table[m].iloc[0] for m in models.values()] == [f"✅ {own}"] * 3, qid

    at.radio(key="retrieval_queries").set_value("all").run()  # another selection: that run is not shown as its own
    assert any("press **Compare**" in i.value for i in at.info)
    at.radio(key="retrieval_queries").set_value("image").run()


def test_text_pages_say_image_datasets_are_evaluated_on_the_retrieval_page(app):
    at = app
    for page in ("pages/4_RAG_quality.py", "pages/5_Load_test.py", "pages/7_Sweep.py"):
        at.switch_page(page).run()
        ok(at)
        assert any("image datasets are evaluated on the **Retrieval** page only" in i.value for i in at.info), page


def test_index_page_builds_image_collections_and_refuses_text_models(app, models):
    from rag.models.registry import resolve
    from rag.models.spec import fit_problem

    at = app
    at.switch_page("pages/2_Index.py").run()
    ok(at)
    custom = at.text_input(key="index_models_custom")
    custom.set_value(f"minilm, {models['clip']}").run()
    ds = at.session_state["dataset"]
    assert [e.value for e in at.error] == [fit_problem(resolve("minilm"), ds)]
    assert by_label(at.button, "Build collections").disabled
    at.text_input(key="index_models_custom").set_value(f"{models['clip']}, {models['resnet']}").run()
    assert not at.error
    by_label(at.button, "Build collections").click().run()
    ok(at)
    assert "Ready: " in at.success[0].value and "(reused)" in at.success[0].value


def test_history_shows_the_image_run_per_query_with_thumbnails(app, models):
    from rag.runs import RunStore

    at = app
    run_id = at.session_state["retrieval_run_id"]
    run = RunStore.default().get(run_id)
    assert run.config["dataset_source"] == "image-sample" and run.dataset == "image-sample"
    at.switch_page("pages/6_History.py").run()
    at.multiselect(key="history_selected").select(run_id).run()
    ok(at)
    at.selectbox(key="history_query").set_value("i2").run()
    ok(at)
    table = rank_frame(at)
    assert table[models["resnet"]].iloc[0] == "✅ green-star.png"
    assert table[f"{models['resnet']} · image"].iloc[0].startswith(PNG)


def test_a_clip_model_on_a_text_dataset_is_refused_with_the_reason(app, models, sample):
    from rag.models.registry import resolve
    from rag.models.spec import fit_problem

    at = app
    at.switch_page("pages/1_Data.py").run()
    by_label(at.button, "Load the sample").click().run()
    at.switch_page("pages/3_Retrieval.py").run()
    ok(at)
    assert not any(r.key == "retrieval_queries" for r in at.radio)  # no Queries choice on a text dataset
    at.text_input(key="retrieval_models_custom").set_value(models["clip"]).run()
    assert [e.value for e in at.error] == [fit_problem(resolve(models["clip"]), sample)]
    assert "embeds images and sample is a text dataset" in at.error[0].value
    assert by_label(at.button, "Compare").disabled
