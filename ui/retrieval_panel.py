"""The Retrieval page's panels: run the comparison, then metrics with uncertainty and who wins.

Usage:
    kind = query_kind_picker(ds, "retrieval_queries")     # an image dataset: all / text / image queries
    if st.button("Compare"): compare(ds, models, k, kind)
    result, run_id = shown_result(ds, kind)
    metrics_panel(result, run_id)
"""

from __future__ import annotations

import streamlit as st

from rag.i18n import _, fmt_number, ngettext
from rag.runs import RunNotFound, RunStore
from ui.errors import show_error
from ui.model_limits import limits_table
from ui.pickers import index_of
from ui.progress import retrieval_bar
from ui.resources import retriever
from ui.state import asr_record, chunking, index_config
from ui.stats import page_stats
from ui.tables import ci_figure, localized, verdict_section


def compare(ds, models: list[str], k: int, queries: str = "all") -> None:
    """Search every model on ``ds``'s ``queries`` (all, text or image), score, store the run; the page
    shows it from the session."""
    from evaluators.retrieval.evaluate import run_retrieval

    wb = retriever()
    if wb is None:
        return
    progress = retrieval_bar(models)
    try:
        asr = asr_record(ds)  # a transcribed audio folder: the run says which ASR model made the text
        result = run_retrieval(wb, ds.select_queries(queries), models, k=int(k), chunking=chunking(),
                               progress=progress, config={"asr": asr} if asr else None)
        st.session_state["retrieval_result"] = result
        st.session_state["retrieval_run_id"] = result.run_id
        st.session_state["retrieval_queries_run"] = queries
    except Exception as e:
        show_error(e, _("Retrieval"))


def shown_result(ds, queries: str = "all"):
    """(result, run id) of this session's last comparison on ``ds`` with the same ``queries``, or (None, None)."""
    result, run_id = st.session_state.get("retrieval_result"), st.session_state.get("retrieval_run_id")
    if result is None or result.dataset != ds.name or run_id is None:
        return None, None
    if st.session_state.get("retrieval_queries_run", "all") != queries:
        return None, None
    return result, run_id


def metrics_panel(result, run_id: str) -> bool:
    """The run's CI table, its chart and (several models) the verdicts; False when the run was deleted."""
    n = len(next(iter(result.per_query.values())))
    st.caption(_("Run `{run}` · k = {k} · {queries}").format(
        run=run_id, k=result.k, queries=ngettext("{n} judged query", "{n} judged queries", n).format(n=n)))
    try:
        stats = page_stats(RunStore.default(), run_id)  # the run's one set of statistics (also History, report, gate)
    except RunNotFound:
        st.info(_("Run {run} was deleted; press **Compare** to run again.").format(run=run_id))
        return False
    st.subheader(_("Metrics per model (mean, 95% bootstrap CI over queries, {n} resamples)").format(
        n=fmt_number(stats.n_resamples)))
    st.dataframe(localized(stats.ci_table(result.models)), width="stretch",
                 column_config={"_index": st.column_config.TextColumn(_("model"), width="medium")})
    st.plotly_chart(ci_figure(stats.frame()), width="stretch")
    limits_table(result.model_info, index_config())  # the app-wide index the run searched
    if len(result.models) > 1:
        st.subheader(_("Who wins, and how sure we are"))
        metric = st.selectbox(_("Metric"), stats.metrics, index=index_of(stats.metrics, f"ndcg@{result.k}"),
                              key="verdict_metric")
        verdict_section(stats.get(metric))
    return True
