"""The RAG quality page's panels: the run's settings with a cost estimate, the synthetic test set, and
a stored run's scores, resume / retry and per-question drill-down.

Imports Ragas (slow): the page imports this module under its "Loading Ragas…" spinner.

Usage:
    cfg = rag_config(ds, models, k, generator, gen_url, judge, judge_url)
    run_button(ds, cfg, models, store)
    run_panel(ds, store, runs)
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

import evaluators.rag.tables as report
from evaluators.formatting import fmt_usd
from evaluators.rag.config import RagConfig, questions_for
from evaluators.rag.cost import PriceTable
from evaluators.rag.estimate import estimate_run
from evaluators.rag.job import resume_rag, run_rag, run_view
from evaluators.rag.metrics import JUDGE_HELP, JUDGED, METRICS
from evaluators.rag.testset import generate_testset, why_unavailable
from rag.data.question_sets import list_question_sets, questions_from_records, save_question_set
from rag.i18n import N_, _, fmt_number, ngettext
from rag.models.generators import DEFAULT_PROMPT
from rag.models.llm import PROVIDERS
from ui.errors import show_error
from ui.judge_panel import judge_reliability_panel
from ui.pickers import llm_picker, run_picker
from ui.progress import fraction_bar
from ui.resources import retriever
from ui.state import chunking, index_config, session_settings
from ui.stats import page_stats
from ui.tables import rag_drilldown

DATASET_QUESTIONS = N_("(dataset questions)")  # an option's value: shown through _() by its format_func


def estimate_text(est: dict) -> str:
    """The estimate line: rows, LLM calls, tokens and the price (and which models have none)."""
    line = _("Estimate: **{rows}** rows · **{calls}** LLM calls · ≈{tokens} tokens · ≈**{cost}**").format(
        rows=est["rows"], calls=est["total_calls"], tokens=fmt_number(est["total_tokens"]),
        cost=fmt_usd(est["cost_usd"], _("no price")))
    if est["unpriced_models"]:
        line += _(" (no price for {models})").format(models=", ".join(est["unpriced_models"]))
    return line


def rag_config(ds, models: list[str], k: int, generator: str, gen_url, judge: str, judge_url):
    """The settings expander and the estimate; the RagConfig, or None (with the reason shown) when invalid."""
    with st.expander(_("Generation, metrics, run settings and prices")):
        template = st.text_area(_("Prompt template ({context} and {question} are filled in)"),
            DEFAULT_PROMPT, height=180, key="rag_prompt_template")
        a, b, c, d, e = st.columns(5)
        temperature = a.number_input(_("Temperature"), 0.0, 2.0, 0.0, 0.1, key="rag_temperature")
        concurrency = int(b.number_input(_("Concurrency (LLM calls)"), 1, 64, 4, key="rag_concurrency"))
        timeout = c.number_input(_("Timeout per call (s)"), 1.0, 600.0, 60.0, key="rag_timeout")
        retries = int(d.number_input(_("Retries per call"), 0, 10, 2, key="rag_retries"))
        cap = e.number_input(_("Spend cap (USD, 0 = none)"), 0.0, 1000.0, 0.0, 0.5, key="rag_spend_cap")
        f, g = st.columns(2)
        repeats = int(f.number_input(_("Judge repeats (each judged metric K times per row)"), 1, 10, 1,
                                     key="rag_judge_repeats"))
        judge_temp = g.number_input(_("Judge temperature (used with repeats)"), 0.0, 2.0, 0.7, 0.1,
                                    key="rag_judge_temperature")
        second, second_url = llm_picker(N_("Second judge"), ["none", *PROVIDERS], "none")   # same rows, another judge
        metrics = st.multiselect(_("Metrics"), list(METRICS), default=list(METRICS),
                                 format_func=lambda m: METRICS[m].label, key="rag_metrics",
                                 placeholder=_("Choose options"))
        shown = _(DATASET_QUESTIONS)  # translated now: a format_func may be called outside this rerun's thread
        qset = st.selectbox(_("Questions"), [DATASET_QUESTIONS, *list_question_sets()], key="rag_question_set",
                            format_func=lambda q: shown if q == DATASET_QUESTIONS else q)
        limit = int(st.number_input(_("Only the first N questions (0 = all)"), 0, 100000, 0, key="rag_limit"))
        prices = st.data_editor(pd.DataFrame(PriceTable.default().rows()), num_rows="dynamic", key="prices",
                                column_config={"model": _("model"), "input_per_1m": _("input_per_1m"),
                                               "output_per_1m": _("output_per_1m")})
    try:
        cfg = RagConfig(models=models, generator=generator, judge=judge, generator_base_url=gen_url,
                        judge_base_url=judge_url, metrics=metrics, k=k, temperature=temperature,
                        prompt_template=template, concurrency=concurrency, timeout=timeout, max_retries=retries,
                        spend_cap_usd=cap or None, limit=limit or None,
                        question_set=None if qset == DATASET_QUESTIONS else qset, chunking=chunking(),
                        index=index_config().to_json(), judge_repeats=repeats,
                        judge_temperature=judge_temp if repeats > 1 else None,
                        second_judge=None if second == "none" else f"{second}@{second_url}" if second_url else second,
                        prices=PriceTable.from_rows(prices.to_dict("records")).to_json())
        st.info(estimate_text(estimate_run(questions_for(ds, cfg), ds, cfg).summary(cfg.price_table())), icon="🧮")
    except ValueError as err:
        cfg = None
        st.warning(str(err))
    if generator == "extractive":
        st.caption(_("The extractive generator is an offline **baseline**: it answers with the retrieved sentences "
                     "most similar to the question, no LLM. Choose an LLM generator to evaluate real RAG answers."))
    if judge == "none":
        st.caption(_("Without a judge only the non-LLM metrics run; {metrics} need one.").format(
            metrics=", ".join(JUDGED)) + f" {_(JUDGE_HELP)}")
    return cfg


def run_button(ds, cfg, models: list[str], store) -> None:
    if st.button(_("Run"), type="primary", disabled=cfg is None or not models, key="rag_run"):
        wb = retriever()
        if wb is not None:
            progress = fraction_bar(_("Retrieving…"))
            try:
                st.session_state["rag_run_id"] = run_rag(ds, cfg, retriever=wb, store=store, progress=progress,
                                                         settings=session_settings()).run_id
            except Exception as err:
                show_error(err, _("RAG run"))


def testset_panel(ds) -> None:
    """Ragas' TestsetGenerator behind an LLM picker; the questions are editable, then saved as a set."""
    with st.expander(_("Synthetic test set (Ragas TestsetGenerator)")):
        tg, tg_url = llm_picker(N_("Test-set LLM"), list(PROVIDERS), "openai")
        why = why_unavailable(tg, tg_url, session_settings())
        if why:
            st.info(why)
        size = int(st.number_input(_("Questions"), 1, 200, 10, key="testset_size"))
        if st.button(_("Generate"), disabled=why is not None, key="testset_generate"):
            try:
                made = generate_testset(ds, tg, size, tg_url, settings=session_settings())
                st.session_state["synthetic"] = pd.DataFrame([q.to_json() for q in made])
            except Exception as err:
                show_error(err, _("Test-set generation"))
        if "synthetic" in st.session_state:
            edited = st.data_editor(st.session_state["synthetic"], num_rows="dynamic", key="synthetic_editor")
            name = st.text_input(_("Save as question set"), f"{ds.name}-synthetic", key="testset_name")
            if st.button(_("Save question set"), key="testset_save"):
                st.success(_("Saved {path}").format(
                    path=save_question_set(name, questions_from_records(edited.to_dict("records")))))


def dataset_runs(store, ds) -> list:
    """RAG runs on this very dataset (same name and content hash), newest first."""
    return [r for r in store.list(kind="rag", dataset=ds.name) if r.dataset_hash == ds.content_hash()]


def missing_and_failed(summary: dict) -> tuple[int, int]:
    """(rows not stored yet, rows that failed) of a run's summary."""
    return (summary["expected_rows"] or summary["rows"]) - summary["rows"], summary["failed_rows"]


def resume_mode(resume: bool, retry: bool) -> bool | None:
    """``retry_failed`` for resume_rag: True (retry failed rows), False (resume missing ones) or None (neither)."""
    return True if retry else (False if resume else None)


def _resume_buttons(ds, store, run_id: str, summary: dict) -> None:
    n_missing, failed = missing_and_failed(summary)
    a, b = st.columns(2)
    resume = a.button(ngettext("Resume ({n} row missing)", "Resume ({n} rows missing)", n_missing).format(
        n=n_missing), disabled=n_missing <= 0, key="rag_resume")
    retry = resume_mode(resume, b.button(_("Retry failed rows ({n})").format(n=failed), disabled=failed <= 0,
                                         key="rag_retry"))
    if retry is not None:
        progress = fraction_bar(_("Resuming…"))
        try:
            resume_rag(run_id, retriever=retriever(), ds=ds, store=store, progress=progress,
                       retry_failed=retry, settings=session_settings())
            st.rerun()
        except Exception as err:
            show_error(err, _("Retry") if retry else _("Resume"))


def run_panel(ds, store, runs: list) -> None:
    """One stored run: resume / retry, its caption, scores with CIs, metric status, per question."""
    run_id = run_picker(_("Run"), runs, st.session_state.get("rag_run_id"))
    run = store.get(run_id)
    summary, rows = run_view(run, store, ds)
    _resume_buttons(ds, store, run_id, summary)
    st.caption(report.run_caption(run, summary))
    if not rows:
        return
    frame = report.metrics_frame(summary, page_stats(store, run_id))  # the run's one set of statistics
    st.subheader(_("Scores: mean [95% CI] (scored / applicable questions)"))
    st.dataframe(report.metrics_table(frame), width="stretch")
    baseline = _("Generator: extractive baseline") if summary["generator"]["baseline"] else ""
    st.plotly_chart(report.metrics_figure(frame, baseline), width="stretch")
    judge_reliability_panel(rows, summary)
    with st.expander(_("Which metrics ran, which need a judge, how to enable one"),
                     expanded=bool(summary["metrics_skipped"])):
        st.dataframe(report.metric_status(summary), hide_index=True, width="stretch")
    st.subheader(_("Per question"))

    active = summary["metrics_active"]
    st.dataframe(report.question_frame(rows, active), hide_index=True, width="stretch")
    rag_drilldown(rows, active)
