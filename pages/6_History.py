"""History: every stored run. List, filter, open, delete (with undo), compare, export, report.

Thin by design: reading, statistics, exports and the report live in ``rag.export``,
``evaluators.comparison``, ``evaluators.frontier`` and ``evaluators.report`` (also used by cli.py).
"""

import streamlit as st

from evaluators.comparison import default_metric, run_metrics
from evaluators.formatting import CI_REASONS, display_frame
from evaluators.frontier import frontier_display, frontier_figure, frontier_table
from evaluators.history import filter_runs, runs_frame
from evaluators.report import build_report
from evaluators.run_stats import run_stats
from rag.export import FORMATS, MIME, export_filename, export_rows, rows_frame
from rag.runs import RunStore
from ui.common import show_error

st.title("🗂️ History")
store = RunStore.default()


undo = st.session_state.get("history_undo")
if undo:
    c1, c2 = st.columns([4, 1])
    c1.info(f"Deleted run {undo['run']['id']} ({len(undo['rows'])} rows).")
    if c2.button("↩️ Undo delete"):
        store.restore(undo)
        st.session_state.pop("history_undo")
        st.rerun()

runs = store.list(limit=2000)
if not runs:
    st.info("No runs yet. Retrieval, RAG quality and load-test runs appear here (also `python cli.py runs`).")
    st.stop()

c1, c2, c3, c4 = st.columns(4)
kinds = c1.multiselect("Kind", sorted({r.kind for r in runs}))
datasets = c2.multiselect("Dataset", sorted({r.dataset or "" for r in runs}))
status = c3.multiselect("Status", sorted({r.status for r in runs}))
text = c4.text_input("Search", placeholder="id, model, index, generator…")
shown = filter_runs(runs, kinds, datasets, text, status)
st.dataframe(display_frame(runs_frame(shown)), hide_index=True, width="stretch")
labels = {r.id: r.label for r in shown}
selected = st.multiselect("Open one run, or pick two or more to compare", list(labels), format_func=labels.get,
                          key="history_selected")
if not selected:
    st.caption(f"{len(shown)} of {len(runs)} runs shown.")
    st.stop()


def metric_picker(ids: list[str], key: str) -> str | None:
    names = list(dict.fromkeys(n for i in ids for n in run_metrics(store, store.get(i))))
    main = default_metric(store, store.get(ids[0]))
    return st.selectbox("Metric", names, index=names.index(main) if main in names else 0, key=key) if names else None


def show_comparison(ids: list[str], key: str) -> None:
    metric = metric_picker(ids, key)
    if metric is None:
        return
    try:  # one object per tuple of run ids, stored with the runs; recomputed only when their rows change
        with st.spinner("Bootstrapping confidence intervals…"):
            cmp = run_stats(store, ids).get(metric)
    except ValueError as e:
        st.warning(str(e))
        return
    st.markdown("\n".join(f"- {sentence}" for sentence in cmp.verdicts()))
    st.dataframe(display_frame(cmp.table(), CI_REASONS), hide_index=True)
    if len(cmp.scores) > 1:
        st.caption("Paired differences (A − B) on the same queries; p Holm-corrected; mdd = smallest "
                   "difference these queries detect with 80% power.")
        st.dataframe(display_frame(cmp.pairs(), CI_REASONS), hide_index=True)


def report_download(ids: list[str], key: str) -> None:
    if st.button("Build stakeholder report", key=f"{key}_build"):
        try:
            st.session_state[f"{key}_html"] = build_report(store, ids)
        except Exception as e:  # one clear message, the page stays up
            show_error(e, "Building the report")
    html = st.session_state.get(f"{key}_html")
    if html:
        st.download_button("⬇️ report.html", html, file_name=f"report-{'-'.join(ids)[:60]}.html",
                           mime=MIME["html"], key=f"{key}_dl")


if len(selected) == 1:
    run = store.get(selected[0])
    st.subheader(run.label)
    if run.error:
        st.error(run.error)
    tab_stats, tab_rows, tab_cfg, tab_export = st.tabs(["Statistics", "Rows", "Configuration", "Export & delete"])
    with tab_stats:
        if run.kind == "load":
            st.dataframe(display_frame(runs_frame([run])[["headline"]]), hide_index=True)
            st.json(run.summary.get("results", {}), expanded=False)
        else:
            show_comparison([run.id], "open_metric")
    with tab_rows:
        st.dataframe(display_frame(rows_frame(store, run.id)), hide_index=True)
    with tab_cfg:
        st.caption(f"Dataset {run.dataset} · content hash {run.dataset_hash}")
        st.json(run.config, expanded=False)
        st.json(run.summary, expanded=False)
    with tab_export:
        cols = st.columns(len(FORMATS))
        for col, fmt in zip(cols, FORMATS):
            col.download_button(f"⬇️ {fmt.upper()}", export_rows(store, run.id, fmt),
                                file_name=export_filename(run.id, fmt), mime=MIME[fmt], key=f"dl_{fmt}")
        report_download([run.id], "one_report")
        st.divider()
        sure = st.checkbox(f"Yes, delete run {run.id} and its {len(store.rows(run.id))} rows", key="confirm_delete")
        if st.button("🗑️ Delete run", disabled=not sure):
            st.session_state["history_undo"] = store.snapshot(run.id)
            store.delete(run.id)
            st.session_state.pop("history_selected", None)
            st.rerun()
else:
    st.subheader(f"Comparing {len(selected)} runs")
    quality = [i for i in selected if store.get(i).kind != "load"]
    if quality:
        show_comparison(quality, "cmp_metric")
    try:
        frame = frontier_table(store, selected, st.session_state.get("cmp_metric"))
    except ValueError as e:
        frame = None
        st.warning(str(e))
    if frame is not None and not frame.empty:
        st.markdown("**Quality · cost · latency** (★ = Pareto-optimal: nothing else is as good on every axis)")
        st.plotly_chart(frontier_figure(frame), width="stretch")
        st.dataframe(frontier_display(frame), hide_index=True)
    report_download(selected, "cmp_report")
