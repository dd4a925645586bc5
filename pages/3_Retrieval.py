"""Retrieval: the article's side-by-side table per query, and metrics with uncertainty per model."""

import plotly.express as px
import streamlit as st

from evaluators.formatting import CI_REASONS, display_frame
from evaluators.retrieval_eval import (
    LEGEND,
    comparison_styler,
    comparison_table,
    evaluate_retrieval,
    ranking_detail,
    save_run,
)
from evaluators.run_stats import run_stats
from rag.runs import RunNotFound, RunStore
from ui.common import chunking, current_dataset, dataset_caption, index_config, model_picker, show_error, workbench

st.title("🔎 Retrieval")
ds = current_dataset()
dataset_caption(ds)
st.caption(f"Index: {index_config().label()} (set on the Index page)")
if not ds.judged_queries:
    st.warning("This dataset has no relevance judgments, so retrieval cannot be scored. Add a 'relevant' column "
               "to the questions on the Data page.")
    st.stop()

c1, c2 = st.columns([3, 1])
with c1:
    models = model_picker("Models", "retrieval_models", prefer_indexed=True)
k = c2.number_input("k (top documents)", 1, 100, 4 if len(ds.documents) <= 100 else 10)

if st.button("Compare", type="primary", disabled=not models):
    wb = workbench()
    if wb is not None:
        bar = st.progress(0.0, text="Preparing collections…")
        steps = {"n": 0}

        def progress(model, stage, done, total):
            if stage == "search":
                steps["n"] += 1
                bar.progress(steps["n"] / len(models), text=f"{model}: searched {total} queries")
            else:
                bar.progress(steps["n"] / len(models), text=f"{model}: {stage} {done:,}/{total:,}")

        try:
            result = evaluate_retrieval(wb, ds, models, k=int(k), chunking=chunking(), progress=progress)
            st.session_state["retrieval_result"] = result
            st.session_state["retrieval_run_id"] = save_run(RunStore.default(), ds, result)
        except Exception as e:
            show_error(e, "Retrieval")

result, run_id = st.session_state.get("retrieval_result"), st.session_state.get("retrieval_run_id")
if result is None or result.dataset != ds.name or run_id is None:
    st.info("Choose models and k, then press **Compare**.")
    st.stop()

st.caption(f"Run `{run_id}` · k = {result.k} · {len(next(iter(result.per_query.values())))} judged queries")
try:
    stats = run_stats(RunStore.default(), run_id)  # the run's one set of statistics (also History, report, gate)
except RunNotFound:
    st.info(f"Run {run_id} was deleted; press **Compare** to run again.")
    st.stop()
summary = stats.frame()
st.subheader(f"Metrics per model (mean, 95% bootstrap CI over queries, {stats.n_resamples:,} resamples)")
st.dataframe(stats.ci_table(result.models), width="stretch")
fig = px.bar(summary, x="metric", y="mean", color="model", barmode="group",
             error_y=summary["ci_high"] - summary["mean"], error_y_minus=summary["mean"] - summary["ci_low"])
fig.update_layout(yaxis_range=[0, 1.05], height=380, margin=dict(t=20))
st.plotly_chart(fig, width="stretch")

if len(result.models) > 1:
    st.subheader("Who wins, and how sure we are")
    main = f"ndcg@{result.k}"
    metric = st.selectbox("Metric", stats.metrics, index=stats.metrics.index(main) if main in stats.metrics else 0,
                          key="verdict_metric")
    cmp = stats.get(metric)
    st.dataframe(display_frame(cmp.table(), CI_REASONS),
                 hide_index=True, width="stretch")
    for sentence in cmp.verdicts():
        st.markdown(f"- {sentence}")
    with st.expander("Paired differences (bootstrap CI, permutation p, Holm-corrected)"):
        st.dataframe(display_frame(cmp.pairs(), CI_REASONS), hide_index=True, width="stretch")

st.subheader("Per query: which documents each model ranks where")
queries = {q.id: q for q in ds.judged_queries}
order = sorted(queries, key=lambda q: queries[q].text != "auto garbage collection")  # the article's first
qid = st.selectbox("Query", order, format_func=lambda q: f"{q}: {queries[q].text[:120]}")
st.markdown(f"**{queries[qid].text}** · relevant: " +
            ", ".join(ds.doc(d).title or d for d in ds.relevant(qid)))
# Styler tints: ❎ and ✅ look alike in Noto Color Emoji, the green / red cell does not.
st.dataframe(comparison_styler(comparison_table(ds, result, qid)), width="stretch", height=35 * (result.k + 3) + 3)
st.caption(LEGEND)
with st.expander("Drill-down: scores and grades"):
    st.dataframe(display_frame(ranking_detail(ds, result, qid), formats={"score": lambda v, r=None: f"{v:.4f}"}),
                 hide_index=True, width="stretch")
    if queries[qid].reference:
        st.markdown(f"Reference answer: {queries[qid].reference}")
