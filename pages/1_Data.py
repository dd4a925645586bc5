"""Data: choose the built-in sample, a BEIR folder, tables with a column mapping, or documents."""

import pandas as pd
import streamlit as st

from evaluators import demo
from evaluators.formatting import display_frame
from rag import loaders
from rag.dataset import DatasetError
from ui.common import ROOT, current_dataset, dataset_caption, session_settings, set_dataset, workbench

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


def _md(text: str) -> str:
    return text.replace("$", "\\$")  # "$0.05 … $0.5" would be read as LaTeX


@st.cache_data(show_spinner="Estimating the judged step…")
def _judged_estimate() -> dict:
    return demo.judged_estimate(loaders.load_sample(), demo.DemoOptions())


def _demo_panel() -> None:
    """▶ Run the demo: every step on the sample in one progress view, then a link to each step's page."""
    with st.container(border=True):
        st.subheader("▶ One-click demo")
        st.caption("On the built-in sample, offline: indexes minilm, bm25 and hybrid (reusing what is built), "
                   "compares them, runs the offline RAG quality job, a short load test per model (2 users × 3 s) "
                   "and builds the report. About a minute. A step that fails says why; the others still run.")
        settings = session_settings()
        llm, why = demo.llm_configured(settings)
        cap = 0.5
        if llm:
            cap = st.number_input("Spend cap of the judged step (USD)", 0.01, 100.0, 0.5, 0.1, key="demo_cap")
            est = _judged_estimate()
            st.info(_md(f"An LLM is configured: the demo also writes LLM answers and runs the judged metrics. "
                        f"Estimate: {est['rows']} rows, {est['total_calls']} LLM calls, ≈{est['total_tokens']:,} "
                        f"tokens, ≈${est['cost_usd']:.4f}; it stops at the ${cap:g} cap."), icon="🧮")
        else:
            st.caption(f"Judged metrics: {why}.")
        if st.button("▶ Run the demo", type="primary"):
            sample = loaders.load_sample()
            set_dataset(sample)
            wb = workbench()
            if wb is None:
                return
            with st.status("Running the demo…", expanded=True) as box:
                lines = st.empty()
                result = demo.run_demo(sample, wb, opts=demo.DemoOptions(spend_cap_usd=cap, settings=settings),
                                       progress=lambda steps, _s: lines.markdown(
                                           "\n".join(f"- {_md(s.line())}" for s in steps)))
                failed = [s.title for s in result.steps if s.status == demo.FAILED]
                box.update(label=f"Demo finished: {len(failed)} step(s) failed" if failed else "Demo finished",
                           state="error" if failed else "complete", expanded=False)
            ids = result.run_ids
            ss = st.session_state
            ss["demo_result"] = result
            if "retrieval" in ids:
                ss["retrieval_result"], ss["retrieval_run_id"] = result.retrieval, ids["retrieval"]
            if "rag_judged" in ids or "rag" in ids:
                ss["rag_run_id"] = ids.get("rag_judged", ids.get("rag"))
            if "load" in ids:
                ss["load_run_shown"] = ids["load"]
        result = st.session_state.get("demo_result")
        if result is None:
            return
        for step in result.steps:
            c1, c2 = st.columns([5, 1])
            c1.markdown(_md(step.line()))
            title = step.page.rsplit("/", 1)[-1].removesuffix(".py").split("_", 1)[1].replace("_", " ")
            c2.page_link(step.page, label=f"Open {title}")
        if result.report_html:
            st.download_button("⬇️ Demo report (report.html)", result.report_html, file_name="demo-report.html",
                               mime="text/html", type="primary")


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
    _demo_panel()
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
tabs[0].dataframe(display_frame(pd.DataFrame([{"id": d.id, "title": d.title, "text": d.text[:300]}
                                               for d in ds.documents[:500]]), {"title": "no title", "text": "empty"}),
                  hide_index=True, width="stretch")
tabs[1].dataframe(display_frame(pd.DataFrame([{"id": q.id, "question": q.text, "reference answer": q.reference,
                                               "relevant": ", ".join(ds.relevant(q.id))} for q in ds.queries[:500]]),
                                {"reference answer": "no reference", "relevant": "no relevance judgments"}),
                  hide_index=True, width="stretch")
tabs[2].dataframe(display_frame(pd.DataFrame([{"query": q, "document": d, "grade": g}
                                              for q, docs in list(ds.qrels.items())[:500] for d, g in docs.items()])),
                  hide_index=True, width="stretch")
