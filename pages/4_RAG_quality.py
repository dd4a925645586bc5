"""RAG quality: answers from each model's top-k contexts, scored with Ragas (judge LLM optional)."""

import pandas as pd
import streamlit as st

from evaluators.formatting import fmt_usd, missing
from rag.generators import DEFAULT_PROMPT, GENERATORS
from rag.llm import PROVIDERS
from rag.question_sets import list_question_sets, questions_from_records, save_question_set
from rag.runs import RunStore
from ui.common import (
    chunking,
    current_dataset,
    dataset_caption,
    index_config,
    model_picker,
    session_settings,
    show_error,
    workbench,
)

st.title("🧠 RAG quality")
with st.spinner("Loading Ragas…"):
    import evaluators.rag_report as report
    from evaluators.cost import PriceTable
    from evaluators.rag_plan import estimate_run
    from evaluators.rag_runner import RagConfig, questions_for, resume_rag, run_rag, run_view
    from evaluators.ragas_eval import JUDGE_HELP, JUDGED, METRICS
    from evaluators.run_stats import run_stats
    from evaluators.testset import generate_testset, why_unavailable
ds, store = current_dataset(), RunStore.default()
dataset_caption(ds)


def llm_picker(role: str, options: list[str], default: str) -> tuple[str, str | None]:
    """Provider + model + base URL → (spec, base_url); 'none'/'extractive' need neither."""
    c1, c2, c3 = st.columns([2, 2, 3])
    kind = c1.selectbox(role, options, index=options.index(default), key=f"{role}_kind",
                        format_func=lambda o: GENERATORS[o].label if o in GENERATORS else "none (no judge)")
    if kind not in PROVIDERS:
        return kind, None
    model = c2.text_input(f"{role} model", PROVIDERS[kind].default_model, key=f"{role}_{kind}_model")
    url = c3.text_input(f"{role} base URL", PROVIDERS[kind].base_url or "", key=f"{role}_{kind}_url",
                        help=PROVIDERS[kind].help) or None
    return f"{kind}:{model}", url


c1, c2 = st.columns([3, 1])
with c1:
    models = model_picker("Embedding models", "rag_models")
k = int(c2.number_input("Top-k contexts", 1, 20, 4))
generator, gen_url = llm_picker("Generator", list(GENERATORS), "extractive")
judge, judge_url = llm_picker("Judge", ["none", *PROVIDERS], "none")
with st.expander("Generation, metrics, run settings and prices"):
    template = st.text_area("Prompt template ({context} and {question} are filled in)", DEFAULT_PROMPT, height=180)
    a, b, c, d, e = st.columns(5)
    temperature = a.number_input("Temperature", 0.0, 2.0, 0.0, 0.1)
    concurrency = int(b.number_input("Concurrency (LLM calls)", 1, 64, 4))
    timeout = c.number_input("Timeout per call (s)", 1.0, 600.0, 60.0)
    retries = int(d.number_input("Retries per call", 0, 10, 2))
    cap = e.number_input("Spend cap (USD, 0 = none)", 0.0, 1000.0, 0.0, 0.5)
    metrics = st.multiselect("Metrics", list(METRICS), default=list(METRICS), format_func=lambda m: METRICS[m].label)
    qsets = ["(dataset questions)", *list_question_sets()]
    qset = st.selectbox("Questions", qsets)
    limit = int(st.number_input("Only the first N questions (0 = all)", 0, 100000, 0))
    prices = st.data_editor(pd.DataFrame(PriceTable.default().rows()), num_rows="dynamic", key="prices")

try:
    cfg = RagConfig(models=models, generator=generator, judge=judge, generator_base_url=gen_url,
                    judge_base_url=judge_url, metrics=metrics, k=k, temperature=temperature, prompt_template=template,
                    concurrency=concurrency, timeout=timeout, max_retries=retries, spend_cap_usd=cap or None,
                    limit=limit or None, question_set=None if qset == qsets[0] else qset, chunking=chunking(),
                    index=index_config().to_json(), prices=PriceTable.from_rows(prices.to_dict("records")).to_json())
    est = estimate_run(questions_for(ds, cfg), ds, cfg).summary(cfg.price_table())
    st.info(f"Estimate: **{est['rows']}** rows · **{est['total_calls']}** LLM calls · ≈{est['total_tokens']:,} tokens"
            f" · ≈**{fmt_usd(est['cost_usd'], 'no price')}**" + (f" (no price for {', '.join(est['unpriced_models'])})"
                                                 if est["unpriced_models"] else ""), icon="🧮")
except ValueError as err:
    cfg = None
    st.warning(str(err))
if generator == "extractive":
    st.caption("The extractive generator is an offline **baseline**: it answers with the retrieved sentences most "
               "similar to the question, no LLM. Choose an LLM generator to evaluate real RAG answers.")
if judge == "none":
    st.caption(f"Without a judge only the non-LLM metrics run; {', '.join(JUDGED)} need one. {JUDGE_HELP}")
on_progress = lambda bar: (lambda p: bar.progress(p.fraction, text=p.text))  # noqa: E731

if st.button("Run", type="primary", disabled=cfg is None or not models):
    wb = workbench()
    if wb is not None:
        bar = st.progress(0.0, text="Retrieving…")
        try:
            st.session_state["rag_run_id"] = run_rag(ds, cfg, workbench=wb, store=store,
                                                     progress=on_progress(bar), settings=session_settings()).run_id
        except Exception as err:
            show_error(err, "RAG run")

with st.expander("Synthetic test set (Ragas TestsetGenerator)"):
    tg, tg_url = llm_picker("Test-set LLM", list(PROVIDERS), "openai")
    why = why_unavailable(tg, tg_url, session_settings())
    if why:
        st.info(why)
    size = int(st.number_input("Questions", 1, 200, 10))
    if st.button("Generate", disabled=why is not None):
        try:
            made = generate_testset(ds, tg, size, tg_url, settings=session_settings())
            st.session_state["synthetic"] = pd.DataFrame([q.to_json() for q in made])
        except Exception as err:
            show_error(err, "Test-set generation")
    if "synthetic" in st.session_state:
        edited = st.data_editor(st.session_state["synthetic"], num_rows="dynamic", key="synthetic_editor")
        name = st.text_input("Save as question set", f"{ds.name}-synthetic")
        if st.button("Save question set"):
            st.success(f"Saved {save_question_set(name, questions_from_records(edited.to_dict('records')))}")

runs = [r for r in store.list(kind="rag", dataset=ds.name) if r.dataset_hash == ds.content_hash()]
if not runs:
    st.info("Choose models, a generator and (optionally) a judge, then press **Run**.")
    st.stop()
ids, current = [r.id for r in runs], st.session_state.get("rag_run_id")
run_id = st.selectbox("Run", ids, index=ids.index(current) if current in ids else 0,
                      format_func=lambda i: next(r.label for r in runs if r.id == i))
run = store.get(run_id)
summary, rows = run_view(run, store, ds)
n_missing, failed = (summary["expected_rows"] or summary["rows"]) - summary["rows"], summary["failed_rows"]
a, b = st.columns(2)
resume = a.button(f"Resume ({n_missing} rows missing)", disabled=n_missing <= 0)
retry = True if b.button(f"Retry failed rows ({failed})", disabled=failed <= 0) else (False if resume else None)
if retry is not None:
    bar = st.progress(0.0, text="Resuming…")
    try:
        resume_rag(run_id, workbench=workbench(), ds=ds, store=store, progress=on_progress(bar),
                   retry_failed=retry, settings=session_settings())
        st.rerun()
    except Exception as err:
        show_error(err, "Retry" if retry else "Resume")

st.caption(report.run_caption(run, summary))
if not rows:
    st.stop()
frame = report.metrics_frame(summary, run_stats(store, run_id))  # the run's one set of statistics
st.subheader("Scores: mean [95% CI] (scored / applicable questions)")
st.dataframe(report.metrics_table(frame), width="stretch")
st.plotly_chart(report.metrics_figure(frame, "Generator: extractive baseline" * summary["generator"]["baseline"]),
                width="stretch")
with st.expander("Which metrics ran, which need a judge, how to enable one", expanded=bool(summary["metrics_skipped"])):
    st.dataframe(report.metric_status(summary), hide_index=True, width="stretch")

st.subheader("Per question")
active = summary["metrics_active"]
st.dataframe(report.question_frame(rows, active), hide_index=True, width="stretch")
labels = {i: f"{r['model']} · {r['question_id']}: {r.get('question', '')[:90]}" for i, r in enumerate(rows)}
row = rows[st.selectbox("Drill down", list(labels), format_func=labels.get)]
ctx, scores, reasons = report.drilldown(row, active)
st.markdown(f"**Question:** {row.get('question') or missing('no question text')}  \n"
            f"**Answer:** {row.get('response') or missing('no answer generated')}  \n"
            f"**Reference:** {row.get('reference') or '— (none: reference-based metrics are n/a)'}")
st.dataframe(ctx, hide_index=True, width="stretch")
st.dataframe(scores, hide_index=True, width="stretch")
if not reasons.empty:
    st.markdown("**The judge's reasons** (statements and verdicts as Ragas parsed them)")
    st.dataframe(reasons, hide_index=True, width="stretch")
