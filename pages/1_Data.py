"""Data: choose the built-in sample, a BEIR folder, tables with a column mapping, or documents."""

import pandas as pd
import streamlit as st

from pages.common import ROOT, current_dataset, dataset_caption, set_dataset
from rag import loaders
from rag.dataset import DatasetError

st.title("📂 Data")
st.write("Pick what to evaluate on. Every file is validated before anything is indexed; an error names "
         "the file, line and field, and the current dataset stays loaded.")

SOURCES = ["Built-in sample", "BEIR folder", "Tables (CSV / JSONL / Parquet)", "Documents (.txt, .md, .pdf)"]
source = st.radio("Source", SOURCES, horizontal=True)


def _load(fn, *args, chunking: str = "", **kw) -> None:
    try:
        ds = fn(*args, **kw)
    except DatasetError as e:
        st.error(f"Not loaded: {e}", icon="⚠️")
        return
    set_dataset(ds, chunking)
    st.success(f"Loaded **{ds.name}**.", icon="✅")


def _mapping(upload, kind: str, fields: list[str]) -> dict:
    """Column pickers for one uploaded table, pre-filled with guessed names."""
    try:
        cols = loaders.table_columns((upload.name, upload.getvalue()))
    except DatasetError as e:
        st.error(str(e), icon="⚠️")
        return {}
    guess = loaders.default_mapping(cols, kind)
    options = ["—"] + cols
    picks = st.columns(len(fields))
    out = {}
    for col, f in zip(picks, fields):
        g = guess.get(f)
        choice = col.selectbox(f"{kind} · {f}", options, index=options.index(g) if g in options else 0,
                               key=f"map_{kind}_{f}")
        out[f] = None if choice == "—" else choice
    return out


if source == SOURCES[0]:
    if st.button("Load the sample", type="primary"):
        _load(loaders.load_sample)
elif source == SOURCES[1]:
    folder = st.text_input("BEIR folder (corpus.jsonl, queries.jsonl, qrels/<split>.tsv)",
                           value=str((ROOT.parent / "shared" / "datasets" / "scifact").resolve()))
    split = st.text_input("qrels split", value="test")
    if st.button("Load folder", type="primary"):
        _load(loaders.load_beir, folder, split=split)
elif source == SOURCES[2]:
    c1, c2 = st.columns(2)
    corpus = c1.file_uploader("Corpus table", type=["csv", "tsv", "jsonl", "json", "parquet"])
    questions = c2.file_uploader("Questions table", type=["csv", "tsv", "jsonl", "json", "parquet"])
    cmap = _mapping(corpus, "corpus", ["id", "title", "text"]) if corpus else {}
    qmap = _mapping(questions, "questions", ["id", "text", "reference", "relevant"]) if questions else {}
    name = st.text_input("Dataset name", value="my-data")
    if st.button("Load tables", type="primary", disabled=not (corpus and questions)):
        _load(loaders.load_table_dataset, (corpus.name, corpus.getvalue()), (questions.name, questions.getvalue()),
              corpus_mapping=cmap, questions_mapping=qmap, name=name)
else:
    files = st.file_uploader("Documents", type=["txt", "md", "pdf"], accept_multiple_files=True)
    c1, c2 = st.columns(2)
    size = c1.number_input("Chunk size (characters)", 100, 8000, 800, step=100)
    overlap = c2.number_input("Chunk overlap", 0, 2000, 100, step=50)
    questions = st.file_uploader("Questions table (optional; its 'relevant' column names chunk ids "
                                 "like file.md#0)", type=["csv", "jsonl", "parquet"])
    qmap = _mapping(questions, "questions", ["id", "text", "reference", "relevant"]) if questions else {}
    name = st.text_input("Dataset name", value="my-docs")
    if st.button("Split and load", type="primary", disabled=not files):
        _load(loaders.load_documents_dataset, [(f.name, f.getvalue()) for f in files],
              (questions.name, questions.getvalue()) if questions else None, questions_mapping=qmap, name=name,
              chunk_size=int(size), chunk_overlap=int(overlap), chunking=f"c{size}o{overlap}")

st.divider()
ds = current_dataset()
dataset_caption(ds)
tabs = st.tabs(["Documents", "Questions", "Judgments"])
tabs[0].dataframe(pd.DataFrame([{"id": d.id, "title": d.title, "text": d.text[:300]} for d in ds.documents[:500]]),
                  hide_index=True, width="stretch")
tabs[1].dataframe(pd.DataFrame([{"id": q.id, "question": q.text, "reference answer": q.reference,
                                 "relevant": ", ".join(ds.relevant(q.id))} for q in ds.queries[:500]]),
                  hide_index=True, width="stretch")
tabs[2].dataframe(pd.DataFrame([{"query": q, "document": d, "grade": g} for q, docs in list(ds.qrels.items())[:500]
                                for d, g in docs.items()]), hide_index=True, width="stretch")
