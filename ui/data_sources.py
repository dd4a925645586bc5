"""The Data page's sources: the built-in samples (text and image), a BEIR folder, an image folder, tables
with a column mapping, documents.

Every source validates before anything is loaded; a ``DatasetError`` names the file, line and field
and the current dataset stays loaded.

Usage:
    source = st.radio("Source", SOURCES, horizontal=True)
    SOURCE_FORMS[source]()
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from rag.data.beir import load_beir
from rag.data.dataset import DatasetError
from rag.data.documents import load_documents_dataset
from rag.data.samples.text import load_sample
from rag.data.tables import default_mapping, load_table_dataset, table_columns
from ui.demo_panel import demo_panel
from ui.state import set_dataset

ROOT = Path(__file__).resolve().parent.parent
SCIFACT = (ROOT.parent / "shared" / "datasets" / "scifact").resolve()  # the BEIR folder field's default
TABLE_TYPES = ["csv", "tsv", "jsonl", "json", "parquet"]
QUESTION_FIELDS = ["id", "text", "reference", "relevant"]


def shared_app() -> bool:
    """Served beyond 127.0.0.1 (``server.address`` unset means every interface): folder fields are then
    limited to ``WORKBENCH_DATA_ROOTS``."""
    return (st.get_option("server.address") or "0.0.0.0") not in ("127.0.0.1", "localhost", "::1")


def load_folder(fn, folder: str, **kw) -> None:
    """``load`` for a folder typed into a field: on a shared app only under ``WORKBENCH_DATA_ROOTS``."""
    from rag.settings import get_settings

    if shared_app():
        try:
            get_settings().folder_under_roots(folder)
        except ValueError as e:
            st.error(f"Not loaded: {e}", icon="⚠️")
            return
    load(fn, folder, **kw)


def load(fn, *args, chunking: str = "", **kw) -> None:
    """Load with ``fn`` and make it the current dataset, or show why not and keep the current one."""
    try:
        ds = fn(*args, **kw)
    except (DatasetError, OSError) as e:  # OSError: the image sample cannot be written into the data folder
        st.error(f"Not loaded: {e}", icon="⚠️")
        return
    set_dataset(ds, chunking)
    st.success(f"Loaded **{ds.name}**.", icon="✅")


def mapping(upload, kind: str, fields: list[str]) -> dict:
    """Column pickers for one uploaded table, pre-filled with guessed names."""
    try:
        cols = table_columns((upload.name, upload.getvalue()))
    except DatasetError as e:
        st.error(str(e), icon="⚠️")
        return {}
    guess = default_mapping(cols, kind)
    options = ["—"] + cols
    picks = st.columns(len(fields))
    out = {}
    for col, f in zip(picks, fields):
        g = guess.get(f)
        choice = col.selectbox(f"{kind} · {f}", options, index=options.index(g) if g in options else 0,
                               key=f"map_{kind}_{f}")
        out[f] = None if choice == "—" else choice
    return out


def sample_form() -> None:
    c1, c2 = st.columns(2)
    if c1.button("Load the sample", type="primary"):
        load(load_sample)
    if c2.button("Load the image sample", help="30 drawn images (shapes and digits), 10 text and 5 image queries: "
                                                 "evaluated on the Retrieval page with clip:/img: models"):
        from rag.data.samples.images import load_image_sample

        load(load_image_sample)
    demo_panel()


def beir_form() -> None:
    from rag.data.images import is_image_folder, load_image_folder

    folder = st.text_input("BEIR folder (corpus.jsonl, queries.jsonl, qrels/<split>.tsv)", value=str(SCIFACT))
    split = st.text_input("qrels split", value="test")
    if st.button("Load folder", type="primary"):  # a folder with corpus/ is an image folder: load it as one
        load_folder(load_image_folder if is_image_folder(folder) else load_beir, folder, split=split)


def image_form() -> None:
    from rag.data.images import load_image_folder

    folder = st.text_input("Image folder (corpus/ of .png, .jpg or .webp files, queries.jsonl, qrels/<split>.tsv; "
                           "captions.jsonl optional)", placeholder="/path/to/my-images")
    split = st.text_input("qrels split", value="test", key="image_split")
    st.caption('queries.jsonl holds text queries ({"_id": "t1", "text": "a red circle"}) and image queries '
               '({"_id": "i1", "image": "queries/i1.png"}); an image\'s id is its file name without the extension.')
    if st.button("Load image folder", type="primary", disabled=not folder.strip()):
        load_folder(load_image_folder, folder.strip(), split=split)


def tables_form() -> None:
    c1, c2 = st.columns(2)
    corpus = c1.file_uploader("Corpus table", type=TABLE_TYPES)
    questions = c2.file_uploader("Questions table", type=TABLE_TYPES)
    cmap = mapping(corpus, "corpus", ["id", "title", "text"]) if corpus else {}
    qmap = mapping(questions, "questions", QUESTION_FIELDS) if questions else {}
    name = st.text_input("Dataset name", value="my-data")
    if st.button("Load tables", type="primary", disabled=not (corpus and questions)):
        load(load_table_dataset, (corpus.name, corpus.getvalue()), (questions.name, questions.getvalue()),
             corpus_mapping=cmap, questions_mapping=qmap, name=name)


def documents_form() -> None:
    files = st.file_uploader("Documents", type=["txt", "md", "pdf"], accept_multiple_files=True)
    c1, c2 = st.columns(2)
    size = c1.number_input("Chunk size (characters)", 100, 8000, 800, step=100)
    overlap = c2.number_input("Chunk overlap", 0, 2000, 100, step=50)
    questions = st.file_uploader("Questions table (optional; its 'relevant' column names chunk ids "
                                 "like file.md#0)", type=["csv", "jsonl", "parquet"])
    qmap = mapping(questions, "questions", QUESTION_FIELDS) if questions else {}
    name = st.text_input("Dataset name", value="my-docs")
    if st.button("Split and load", type="primary", disabled=not files):
        load(load_documents_dataset, [(f.name, f.getvalue()) for f in files],
             (questions.name, questions.getvalue()) if questions else None, questions_mapping=qmap, name=name,
             chunk_size=int(size), chunk_overlap=int(overlap), chunking=f"c{size}o{overlap}")


SOURCE_FORMS = {  # the radio's options, in order: a new source is one entry
    "Built-in sample": sample_form,
    "BEIR folder": beir_form,
    "Image folder": image_form,
    "Tables (CSV / JSONL / Parquet)": tables_form,
    "Documents (.txt, .md, .pdf)": documents_form,
}
SOURCES = list(SOURCE_FORMS)
