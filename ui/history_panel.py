"""The History page's panels: undo of a delete, the filtered run list, one opened run, a comparison.

Reading, statistics, exports and the report live in ``rag.runs.export``, ``evaluators.stats.comparison``,
``evaluators.report.frontier`` and ``evaluators.report.build`` (also used by cli.py); this module only lays them out.

Usage:
    undo_banner(store)
    query_view(store, run)      # a retrieval run's per-query rank table (thumbnails for an image run)
    selected = run_list(runs)
    open_run(store, selected[0]) if len(selected) == 1 else compare_runs(store, selected)
"""

from __future__ import annotations

import streamlit as st

from evaluators.formatting import display_frame
from evaluators.report.build import build_report
from evaluators.report.encoded import ASR_TITLE, asr_frame, encoded_frame
from evaluators.report.frontier import frontier_display, frontier_figure, frontier_table
from evaluators.report.history import filter_runs, runs_frame
from evaluators.stats.run_kinds import kind_of
from rag.i18n import _, ngettext
from rag.runs.export import FORMATS, MIME, export_filename, export_rows, rows_frame
from ui.errors import show_error
from ui.pickers import metric_picker
from ui.stats import page_stats
from ui.tables import RANK_COLUMN, comparison_summary, label_columns


def undo_banner(store) -> None:
    """After a delete: what went, and a button that puts it back."""
    undo = st.session_state.get("history_undo")
    if undo:
        c1, c2 = st.columns([4, 1])
        c1.info(ngettext("Deleted run {id} ({n} row).", "Deleted run {id} ({n} rows).", len(undo["rows"])).format(
            id=undo["run"]["id"], n=len(undo["rows"])))
        if c2.button("↩️ " + _("Undo delete"), key="history_undo_delete"):
            store.restore(undo)
            st.session_state.pop("history_undo")
            st.rerun()


def choose(options) -> str:
    """A multiselect's placeholder in this language (Streamlit's own default is English only)."""
    return _("Choose options") if options else _("No options to select")


def run_list(runs: list) -> list[str]:
    """Filters, the runs they leave, and the pick of runs to open or compare (empty: a count is shown)."""
    c1, c2, c3, c4 = st.columns(4)
    kinds = c1.multiselect(_("Kind"), sorted({r.kind for r in runs}), key="history_kinds", placeholder=choose(runs))
    datasets = c2.multiselect(_("Dataset"), sorted({r.dataset or "" for r in runs}), key="history_datasets",
                              placeholder=choose(runs))
    status = c3.multiselect(_("Status"), sorted({r.status for r in runs}), key="history_status",
                            placeholder=choose(runs))
    text = c4.text_input(_("Search"), placeholder=_("id, model, index, generator…"), key="history_search")
    shown = filter_runs(runs, kinds, datasets, text, status)
    st.dataframe(display_frame(runs_frame(shown)), hide_index=True, width="stretch")
    labels = {r.id: r.label for r in shown}
    selected = st.multiselect(_("Open one run, or pick two or more to compare"), list(labels),
                              format_func=labels.get, key="history_selected", placeholder=choose(labels))
    if not selected:
        st.caption(ngettext("{shown} of {n} run shown.", "{shown} of {n} runs shown.", len(runs)).format(
            shown=len(shown), n=len(runs)))
    return selected


def show_comparison(store, ids: list[str], key: str) -> None:
    metric = metric_picker(store, ids, key)
    if metric is None:
        return
    try:  # one object per tuple of run ids, stored with the runs; recomputed only when their rows change
        with st.spinner(_("Bootstrapping confidence intervals…")):
            cmp = page_stats(store, ids).get(metric)
    except ValueError as e:
        st.warning(str(e))
        return
    comparison_summary(cmp)


def report_download(store, ids: list[str], key: str) -> None:
    if st.button(_("Build stakeholder report"), key=f"{key}_build"):
        try:
            st.session_state[f"{key}_html"] = build_report(store, ids)
        except Exception as e:  # one clear message, the page stays up
            show_error(e, _("Building the report"))
    html = st.session_state.get(f"{key}_html")
    if html:
        st.download_button(  # i18n: internal (the label is the file's name)
            "⬇️ report.html", html, file_name=f"report-{'-'.join(ids)[:60]}.html", mime=MIME["html"], key=f"{key}_dl")


def _export_and_delete(store, run) -> None:
    cols = st.columns(len(FORMATS))
    for col, fmt in zip(cols, FORMATS):
        col.download_button(f"⬇️ {fmt.upper()}", export_rows(store, run.id, fmt),
                            file_name=export_filename(run.id, fmt), mime=MIME[fmt], key=f"dl_{fmt}")
    report_download(store, [run.id], "one_report")
    st.divider()
    n_rows = len(store.rows(run.id))
    sure = st.checkbox(ngettext("Yes, delete run {id} and its {n} row", "Yes, delete run {id} and its {n} rows",
                                n_rows).format(id=run.id, n=n_rows), key="confirm_delete")
    if st.button("🗑️ " + _("Delete run"), disabled=not sure, key="history_delete"):
        st.session_state["history_undo"] = store.snapshot(run.id)
        store.delete(run.id)
        st.session_state.pop("history_selected", None)
        st.rerun()


def open_run(store, run_id: str) -> None:
    """One run: statistics, rows, configuration, and export / report / delete."""
    run = store.get(run_id)
    st.subheader(run.label)
    if run.error:
        st.error(run.error)
    names = [_("Statistics"), _("Rows"), _("Configuration"), _("Export & delete")]
    names += [_("Per query")] if run.kind == "retrieval" else []
    tab_stats, tab_rows, tab_cfg, tab_export, *tab_query = st.tabs(names)
    with tab_stats:
        if not (asr := asr_frame(run)).empty:  # the text these numbers were measured on came from speech
            st.caption(_(ASR_TITLE) + ": " + " · ".join(
                _("{model}: {segments} segments from {sounds} sounds, WER {wer}").format(
                    model=r["model"], segments=r["segments"], sounds=r["sounds"], wer=r["WER"])
                for r in asr.to_dict("records")))
        if kind_of(run).quality:
            show_comparison(store, [run.id], "open_metric")
        else:  # a load run: no per-query scores to compare, its headline and per-model results
            st.dataframe(display_frame(runs_frame([run])[["headline"]]), hide_index=True)
            st.json(run.typed_summary().per_model(), expanded=False)
    with tab_rows:
        st.dataframe(display_frame(rows_frame(store, run.id)), hide_index=True)
    with tab_cfg:
        st.caption(_("Dataset {dataset} · content hash {hash}").format(dataset=run.dataset, hash=run.dataset_hash))
        if not asr.empty:
            st.markdown(f"**{_(ASR_TITLE)}**")
            st.dataframe(display_frame(asr).rename(columns=_), hide_index=True)  # its headers are catalog keys
        if not (encoded := encoded_frame(run)).empty:  # prompts, dims, limits, cuts: as the report shows
            st.markdown("**" + _("Models as encoded") + "**")  # the report's title for it
            st.dataframe(display_frame(encoded), hide_index=True)
        st.json(run.config, expanded=False)
        st.json(run.summary, expanded=False)
    with tab_export:
        _export_and_delete(store, run)
    for tab in tab_query:
        with tab:
            query_view(store, run)


@st.cache_resource(ttl=60, max_entries=4, show_spinner=False)
def _load_source(source: str):
    """``rag.data.loaders.load_dataset`` for a run's ``dataset_source``, kept a minute (a failure is not kept)."""
    from rag.data.loaders import load_dataset

    return load_dataset(source)


def query_view(store, run) -> None:
    """A retrieval run's Rank × model table for one query: ✅/❎ and titles (thumbnails for an image run)
    when its dataset can be re-read unchanged, document ids with a note why when it cannot."""
    from evaluators.report.sections import dataset_for, run_query_frame, unreadable_note
    from evaluators.retrieval.evaluate import LEGEND, THUMB_PX, comparison_styler
    from ui.images import query_label, rank_table, show_query

    with st.spinner(_("Reading the run's dataset…")):
        ds = dataset_for(run, st.session_state.get("dataset"), load=_load_source)
    ids = list(dict.fromkeys(str(r["item_id"]) for r in store.rows(run.id)))
    if not ids:
        st.info(_("This run has no per-query rows."))
        return
    queries = {q.id: q for q in ds.queries} if ds else {}
    shown = {i: f"{i}: {query_label(queries[i])[:120]}" if i in queries else i for i in ids}  # in this language
    qid = st.selectbox(_("Query"), ids, key="history_query", format_func=shown.get)
    image = ds is not None and ds.modality in ("image", "audio", "video")  # thumbnails / waveforms / frames
    if ds is None:
        st.caption(unreadable_note(run))
    elif qid in queries:
        show_query(ds, queries[qid])
    frame = run_query_frame(store, run, qid, ds, thumbs=THUMB_PX if image else 0)
    if image:
        rank_table(frame, int(run.config.get("k") or 10))
    else:
        st.dataframe(comparison_styler(frame), width="stretch", column_config=RANK_COLUMN)
    if ds is not None:
        st.caption(LEGEND)


def compare_runs(store, selected: list[str]) -> None:
    """Two or more runs: the quality runs' statistics, the quality · cost · latency frontier, a report."""
    st.subheader(_("Comparing {n} runs").format(n=len(selected)))
    quality = [i for i in selected if kind_of(store.get(i)).quality]
    if quality:
        show_comparison(store, quality, "cmp_metric")
    try:
        frame = frontier_table(store, selected, st.session_state.get("cmp_metric"))
    except ValueError as e:
        frame = None
        st.warning(str(e))
    if frame is not None and not frame.empty:
        st.markdown(_("**Quality · cost · latency** (★ = Pareto-optimal: nothing else is as good on every axis)"))

        for metric in dict.fromkeys(frame["quality_metric"]):  # one chart per metric: nDCG and a Ragas score
            st.plotly_chart(frontier_figure(frame, metric), width="stretch", key=f"frontier_{metric}")
        shown = frontier_display(frame)
        st.dataframe(shown, hide_index=True, column_config=label_columns(shown, "setup"))
    report_download(store, selected, "cmp_report")
