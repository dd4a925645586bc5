"""Image runs in the report and on History: thumbnails inline as data URIs (the HTML stays standalone),
hostile file names escaped, a run on only the image queries re-read, and a folder gone since the run
leaving ids with a note, never a crash. Real Milvus Lite and a real tiny CLIP (random weights: only
properties asserted); the table builders are also checked on their own, without Milvus."""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from markupsafe import escape
from streamlit.testing.v1 import AppTest

from rag.runs import RunStore
from tests.conftest import ROOT
from tests.support.page_scan import RAW_CELL, raw_cells

HOSTILE = 'a&b "c" <x>.png'               # <, >, &, quotes: all legal in a Linux file name
HOSTILE_ID = HOSTILE.removesuffix(".png")
ESCAPED = html.escape(HOSTILE)            # a&amp;b &quot;c&quot; &lt;x&gt;.png
PNG = "data:image/png;base64,"
CORPUS = ["red-circle", "red-square", "green-star", "blue-square", "yellow-cross", "digit-3"]


def shown_text(page: str) -> str:
    """What a reader sees: tags (and so every data URI inside them) and the raw-JSON ``<details>`` removed."""
    body = re.sub(r"<details>.*?</details>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


@pytest.fixture(scope="module")
def image_sample():
    from rag.data.samples.images import load_image_sample

    return load_image_sample()


@pytest.fixture(scope="module")
def hostile_folder(tmp_path_factory, image_sample) -> Path:
    """Six sample images and a purple circle named ``a&b "c" <x>.png``; a text and two image queries."""
    root = tmp_path_factory.mktemp("images") / "hostile-images"
    (root / "corpus").mkdir(parents=True)
    for doc_id in CORPUS:
        shutil.copy(image_sample.doc(doc_id).image, root / "corpus" / f"{doc_id}.png")
    shutil.copy(image_sample.doc("purple-circle").image, root / "corpus" / HOSTILE)
    queries = [{"_id": "t1", "text": "a purple circle"}, {"_id": "i1", "image": f"corpus/{HOSTILE}"},
               {"_id": "i2", "image": "corpus/red-circle.png"}]
    (root / "queries.jsonl").write_text("".join(json.dumps(q) + "\n" for q in queries))
    (root / "qrels").mkdir()
    (root / "qrels" / "test.tsv").write_text(f"t1\t{HOSTILE_ID}\t1\ni1\t{HOSTILE_ID}\t2\ni2\tred-circle\t2\n")
    return root


@pytest.fixture(scope="module")
def hostile_run(retriever, hostile_folder, tiny_clip_dir):
    """A retrieval run on the hostile folder, recorded in the default store (the History page reads it)."""
    from evaluators.retrieval.evaluate import evaluate_retrieval, save_run
    from rag.data.images import load_image_folder

    ds = load_image_folder(hostile_folder)
    model = f"clip:{tiny_clip_dir}"
    result = evaluate_retrieval(retriever, ds, [model], k=3)
    store = RunStore.default()
    return store, save_run(store, ds, result), model


def test_an_image_run_records_its_folder_and_its_report_embeds_thumbnails_and_escapes_names(hostile_run,
                                                                                          hostile_folder):
    from evaluators.report.build import build_report

    store, run_id, model = hostile_run
    run = store.get(run_id)
    assert run.config["dataset_source"] == str(hostile_folder.resolve())
    page = build_report(store, [run_id], n_resamples=200)
    assert page.count(PNG) >= 3 * 3 + 2  # every example's k = 3 thumbnails, and the two image queries' pictures
    assert ESCAPED in page and f'alt="✅ {ESCAPED}"' in page
    assert HOSTILE not in page and "<x>" not in page and 'a&b' not in page
    assert f"<h3>Query i1 (an image: {escape(HOSTILE)})</h3>" in page  # Jinja's autoescape: &#34; for quotes
    assert f'<p class="query-image"><img class="query-thumb" src="{PNG}' in page
    assert f'<td class="relevant"><img class="thumb" src="{PNG}' in page  # the image query's own image, tinted
    assert "could not be re-read" not in page
    text = shown_text(page)
    assert not RAW_CELL.search(text), RAW_CELL.search(text)
    assert not re.search(r"<script|<link[^>]+href=|https?://(?!www\.w3\.org/2000/svg)", page)  # nothing fetched


def test_the_image_query_ranks_its_own_image_first_in_the_report(hostile_run):
    from evaluators.report.sections import dataset_for, run_query_frame

    store, run_id, model = hostile_run
    run = store.get(run_id)
    ds = dataset_for(run)
    frame = run_query_frame(store, run, "i1", ds, thumbs=64)
    assert frame[model].iloc[0] == f"✅ {HOSTILE}" and frame[f"{model} · image"].iloc[0].startswith(PNG)
    assert frame[model].iloc[-2:].tolist() == ["0.33", "1.00"]  # Precision@3, Recall@3


def test_a_folder_gone_since_the_run_leaves_ids_and_a_note_on_the_report_and_history(hostile_run, hostile_folder):
    from evaluators.report.build import build_report

    store, run_id, model = hostile_run
    gone = hostile_folder.with_name("moved-away")
    hostile_folder.rename(gone)
    try:
        page = build_report(store, [run_id], n_resamples=200)
        assert PNG not in page
        assert (f"The dataset could not be re-read from {html.escape(str(hostile_folder.resolve()))} (moved, deleted "
                "or changed since the run): examples show document ids without relevance marks or thumbnails.") in page
        assert f"<td>{html.escape(HOSTILE_ID, quote=False)}</td>" in page and HOSTILE_ID not in page
        assert not RAW_CELL.search(shown_text(page))

        at = AppTest.from_file(str(ROOT / "pages" / "6_History.py"), default_timeout=120).run()
        at.multiselect(key="history_selected").select(run_id).run()
        at.selectbox(key="history_query").set_value("i1").run()
        assert not at.exception and raw_cells(at) == []
        assert any(c.value.startswith("The dataset could not be re-read from ") for c in at.caption)
        table = next(d.value for d in at.dataframe if list(d.value.index)[-2:] == ["Precision", "Recall"])
        assert table[model].iloc[0] == HOSTILE_ID and list(table.columns) == [model]  # ids only, no thumbnails
    finally:
        gone.rename(hostile_folder)


def test_a_run_on_the_image_queries_only_is_re_read_for_its_report(retriever, image_sample, tiny_clip_dir, tmp_path):
    from evaluators.report.build import build_report
    from evaluators.retrieval.evaluate import evaluate_retrieval, save_run

    store = RunStore(tmp_path / "runs.sqlite")
    images = image_sample.select_queries("image")
    run_id = save_run(store, images, evaluate_retrieval(retriever, images, [f"clip:{tiny_clip_dir}"], k=3))
    assert store.get(run_id).dataset_hash != image_sample.content_hash()  # the selection is what was hashed
    page = build_report(store, [run_id], n_resamples=200)
    assert "could not be re-read" not in page and page.count(PNG) >= 3 * 3 + 3
    assert "<h3>Query i" in page and "<h3>Query t" not in page


# ---------------------------------------------------------------- the builders alone (no Milvus, no models)

def test_image_rank_html_escapes_names_tints_cells_and_keeps_score_rows(image_sample, tmp_path):
    from evaluators.report.sections import image_rank_html
    from evaluators.retrieval.evaluate import MISSING_THUMB, RetrievalResult, comparison_table

    red = image_sample.doc("red-circle")
    gone = tmp_path / "deleted.png"
    shutil.copy(red.image, gone)
    from dataclasses import replace

    from rag.data.dataset import Dataset

    docs = [replace(red, id=HOSTILE_ID, title=HOSTILE), replace(red, id="gone", title="deleted.png", image=str(gone))]
    ds = Dataset("d", docs, [image_sample.queries[10]], {"i1": {HOSTILE_ID: 2}}, "x")
    gone.unlink()
    result = RetrievalResult("d", 3, ["m<1>"], {"m<1>": {"i1": [(HOSTILE_ID, 0.9), ("gone", 0.5)]}},
                             {"m<1>": {"i1": {"precision@3": 1 / 3, "recall@3": 1.0}}}, {})
    frame = comparison_table(ds, result, "i1", thumbs=64)
    assert list(frame.columns) == ["m<1> · image", "m<1>"]
    assert frame["m<1>"].tolist() == [f"✅ {HOSTILE}", "❎ deleted.png", "— (no match)", "0.33", "1.00"]
    assert frame["m<1> · image"].iloc[0].startswith(PNG) and frame["m<1> · image"].iloc[1] == MISSING_THUMB
    assert frame["m<1> · image"].iloc[2:].tolist() == ["", "", ""]
    out = str(image_rank_html(frame))
    assert "<th>m&lt;1&gt;</th>" in out and HOSTILE not in out
    assert f'<td class="relevant"><img class="thumb" src="{PNG}' in out
    assert f'alt="✅ {ESCAPED}">✅ {ESCAPED}</td>' in out
    assert '<td class="not-relevant"><img class="thumb" src="data:image/svg+xml;utf8,%3Csvg' in out
    assert '<td class="no-match">— (no match)</td>' in out and "<tr><th>Precision</th><td>0.33</td></tr>" in out


def test_data_page_frames_and_caption_of_an_image_dataset(image_sample):
    from ui.images import image_documents_frame, image_questions_frame, md, query_label
    from ui.tables import caption_text

    docs = image_documents_frame(image_sample, 3)
    assert docs[["id", "file", "caption"]].values.tolist() == [
        ["blue-circle", "blue-circle.png", "a blue circle"], ["blue-cross", "blue-cross.png", "a blue cross"],
        ["blue-square-small", "blue-square-small.png", "a small blue square"]]
    questions = image_questions_frame(image_sample, 15).set_index("id")
    assert questions.loc["i3", ["kind", "question"]].tolist() == ["image", "blue-square-shifted.png"]
    assert questions.loc["t2", ["kind", "question", "image"]].tolist() == ["text", "something blue", ""]
    assert caption_text(image_sample).startswith("Dataset **image-sample**: 30 images, 15 judged questions "
                                                 "(10 text, 5 image), ")
    assert query_label(image_sample.queries[12]) == "🖼️ blue-square-shifted.png (image)"
    assert md(HOSTILE) == r'a&b "c" \<x\>\.png'
    assert isinstance(docs, pd.DataFrame) and not docs.isna().any().any()
