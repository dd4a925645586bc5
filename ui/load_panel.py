"""The Load test page's panels: the load settings, start / stop, the live charts, a stored run's
results (throughput, latency, failures, latency split, SLO) and Locust's own web UI.

The processes live in ``loadtests.runner.APP`` (one per server process, shared by sessions).

Usage:
    models, form = load_form()
    job, running = run_controls(models, form, spec, index)
    live_panel(job, running); results_panel(running)
"""

from __future__ import annotations

import os

import streamlit as st

from evaluators.formatting import fmt_int, fmt_value, missing
from loadtests import charts
from loadtests.config import MAX_DURATION_S, MAX_USERS, SCENARIOS, LoadConfig
from loadtests.results import load_run
from loadtests.runner import APP
from rag.i18n import _
from rag.runs import RunNotFound, RunStore
from rag.runs.models import batching_label
from rag.settings import current_owner
from ui.errors import show_error
from ui.pickers import model_picker, run_picker


def duration_caption(n_models: int, duration: int, slo_on: bool, step_s: int, slo_max: int) -> str:
    """How long the run takes: the load per model, the SLO steps (1, 2, 4 … up to ``slo_max`` users)."""
    slo_s = n_models * int(step_s) * int(slo_max).bit_length()
    return (_("About {s} s of load").format(s=n_models * int(duration))
            + (_(", plus up to {s} s of SLO steps").format(s=slo_s) if slo_on else "")
            + _(", plus ~15 s to start the service the first time."))


def load_form() -> tuple[list[str], dict]:
    """The models and the load settings (endpoint, users, rates, processes, batching, SLO finder)."""
    c1, c2, c3, c4, c5 = st.columns([3, 1.3, 1, 1, 1])
    with c1:
        models = model_picker(_("Models"), "load_models")
    f = {"endpoint": c2.selectbox(_("Endpoint"), list(SCENARIOS), key="load_endpoint",
                                  help=_("search: embed + Milvus · rag: + generate (extractive by default) · milvus: "
                                         "Milvus alone, no model, to separate database time from model time")),
         "users": c3.number_input(_("Users"), 1, MAX_USERS, 10, key="load_users"),
         "rate": c4.number_input(_("Spawn rate /s"), 0.5, 100.0, 5.0, step=0.5, key="load_rate"),
         "duration": c5.number_input(_("Seconds per model"), 3, MAX_DURATION_S, 20, key="load_duration")}
    g1, g2 = st.columns([1, 2])
    f["processes"] = g1.number_input(_("Generator processes"), 1, 2 * (os.cpu_count() or 1), 1, key="load_processes",
                                     help=_("Locust processes sending load (a master and its workers on 127.0.0.1). "
                                            "One drives thousands of requests/s; add more only if Locust itself is "
                                            "the limit."))
    f["batching"] = g2.toggle(_("Micro-batching"), value=True, key="load_batching",
                              help=_("On: the service embeds concurrent queries for a model with one encode() call "
                                     "and searches them as one Milvus request (how a model is served well). Off: "
                                     "one request at a time, to see the difference."))
    with st.expander(_("SLO finder: the most users whose p95 meets a target")):
        f["slo_on"] = st.checkbox(_("Find the SLO after the run (steps 1, 2, 4, 8 … users)"), key="load_slo_on")
        s1, s2, s3 = st.columns(3)
        f["target"] = s1.number_input(_("p95 target (ms)"), 1.0, 60_000.0, 200.0, key="load_slo_target")
        f["slo_max"] = s2.number_input(_("Max users"), 1, MAX_USERS, 32, key="load_slo_max")
        f["step_s"] = s3.number_input(_("Seconds per step"), 2, 120, 8, key="load_slo_step")
    st.caption(duration_caption(len(models), f["duration"], f["slo_on"], f["step_s"], f["slo_max"]))
    return models, f


def load_config(models: list[str], f: dict, spec: str, index) -> LoadConfig:
    """The job's LoadConfig from the form, the dataset spec and the app-wide index."""
    return LoadConfig(models=models, endpoint=f["endpoint"], users=int(f["users"]), spawn_rate=float(f["rate"]),
                      duration=int(f["duration"]), dataset=spec, processes=int(f["processes"]),
                      slo_p95_ms=float(f["target"]) if f["slo_on"] else None, slo_max_users=int(f["slo_max"]),
                      slo_step_seconds=int(f["step_s"]), index_type=index.index_type, metric=index.metric,
                      index_params=index.all_params(), bm25_analyzer=index.bm25_analyzer, batching=f["batching"])


def run_controls(models: list[str], f: dict, spec: str, index):
    """Run / Stop; (this session's job, whether a load test is running) after the click. Another signed-in user's
    job is not shown (their models and numbers are theirs), only that one is running."""
    job = APP.job
    running = job is not None and job.is_alive()
    if job is not None and job.owner != current_owner():
        if running:
            st.info(_("Another user's load test is running on this server (one at a time: two would measure each "
                      "other); **Run load test** comes back when it ends."))
        job = None
    busy, running = running, running and job is not None  # busy: anyone's; running: this user's
    b1, b2, _rest = st.columns([1, 1, 4])
    if b1.button(_("Run load test"), type="primary", disabled=busy or not models, key="load_run"):
        try:
            job = APP.start_job(load_config(models, f, spec, index))
            st.session_state["load_run_shown"] = None
            running = True
        except Exception as e:
            show_error(e, _("Load test"))
    if b2.button(_("Stop"), disabled=not running, key="load_stop"):
        job.stop()
        job.join(30)
        running = False
    return job, running


def live_panel(job, running: bool) -> None:
    """Progress and live charts every second while a job runs; on its end, show its run; then ``job``'s error."""

    mine = current_owner()  # kept for the fragment's reruns, which do not pass through app.py's sign-in gate

    @st.fragment(run_every=1.0 if running else None)
    def live() -> None:
        j = APP.job
        if j is None or j.owner != mine:
            return
        if j.is_alive():
            st.progress(min(1.0, j.fraction), text=f"⏳ {j.phase}")
            rows = {m: r for m, r in j.rows.items() if r}
            if rows:
                l1, l2 = st.columns(2)
                l1.plotly_chart(charts.timeline(rows, "rps", _("Requests/s (live)")), width="stretch", key="live_rps")
                l2.plotly_chart(charts.timeline(rows, "p95_ms", _("p95 ms (live)"), "ms"), width="stretch",
                                key="live_p95")
        elif st.session_state.get("load_job_seen") is not j:
            st.session_state["load_job_seen"] = j
            st.session_state["load_run_shown"] = j.run_id
            st.rerun()

    live()
    if job is not None and not job.is_alive() and job.error:
        (st.warning if job.phase == "stopped" else st.error)(
            _("Load test {phase}: {error}").format(phase=job.phase, error=job.error)
            + (_(" (run `{run}`)").format(run=job.run_id) if job.run_id else ""), icon="⚠️")


def config_caption(run) -> str:
    """Endpoint, users, spawn rate, seconds per model, dataset and batching of a stored load run."""
    cfg, no = run.config, _("not recorded")
    return (_("Endpoint `{endpoint}` · {users} users · spawn {rate}/s · {seconds} s per model · dataset {dataset}")
            .format(endpoint=fmt_value(cfg.get("endpoint"), no), users=fmt_int(cfg.get("users"), no),
                    rate=fmt_value(cfg.get("spawn_rate"), no, floats=1), seconds=fmt_int(cfg.get("duration"), no),
                    dataset=fmt_value(run.dataset, no))
            + f" · {batching_label(cfg, run.summary)}")


def results_panel(running: bool) -> None:
    """A stored load run's table and tabs (the one just finished first), or how to start one."""
    store = RunStore.default()
    runs = [r for r in store.list(kind="load", limit=50) if r.summary.get("results")]
    if not runs or running:
        if not running:
            st.info(_("Choose models and load, then press **Run load test**."))
        return
    run_id = run_picker(_("Results of run"), runs, st.session_state.get("load_run_shown"))
    try:
        data = load_run(store, run_id)
    except RunNotFound as e:
        st.error(str(e))
        st.stop()
    res, hist, run = data["results"], data["histories"], data["run"]
    if run.status != "done":
        st.warning(_("This run is **{status}**: {error}. Shown: the models it finished.").format(
            status=run.status, error=run.error or missing(_("no error recorded"))))
    st.caption(config_caption(run))
    st.dataframe(charts.results_table(res), width="stretch")
    t1, t2, t3, t4, t5 = st.tabs([_("Throughput"), _("Latency"), _("Failures"), _("Latency split"), _("SLO")])
    t1.plotly_chart(charts.timeline(hist, "rps", _("Requests/s over time")), width="stretch")
    t1.plotly_chart(charts.summary_bars(res), width="stretch")
    t2.plotly_chart(charts.percentiles(hist), width="stretch")
    t3.plotly_chart(charts.timeline(hist, "fps", _("Failures/s over time")), width="stretch")
    fails = charts.failures_table(res)
    if fails.empty:
        t3.success(_("No failed requests."))
    else:
        t3.dataframe(fails, width="stretch")
    t4.plotly_chart(charts.split_bars(res), width="stretch")
    t4.caption(_("Server-side means from the service's own timings ('waiting for the model': requests queued for "
                 "the one encoder); 'HTTP + queueing' is what Locust saw beyond them."))
    if data["slo"]:
        t5.dataframe(charts.slo_table(data["slo"]), width="stretch")
        t5.plotly_chart(charts.slo_figure(data["slo_steps"], run.config.get("slo_p95_ms")), width="stretch")
    else:
        t5.info(_("This run did not include the SLO finder."))


def web_ui_panel(models: list[str], f: dict, spec: str, index, running: bool) -> None:
    """Locust's own web UI against the same service, and stop buttons for it and the service."""
    st.subheader(_("Locust web UI"))
    st.caption(_("Locust's own UI against the same service (127.0.0.1 only): pick the model ('all' = round-robin) "
                 "and endpoint in its start form, watch its charts, download its reports."))
    w1, w2, w3, _rest = st.columns([1.2, 1, 1, 3])
    if w1.button(_("Open Locust web UI"), disabled=not models, key="load_web_open"):
        try:
            batching = LoadConfig(models=[], batching=f["batching"]).batching_json()
            with st.spinner(_("Starting the service and Locust…")):
                APP.start_web(spec, models, index.to_json(), batching)
        except Exception as e:
            show_error(e, _("Locust web UI"))
    web = APP.web
    if web is not None and web.alive():
        st.success(_("Locust web UI: [{url}]({url}) → service {service}").format(
            url=web.url, service=APP.service.url if APP.service else "?"))
    if w2.button(_("Stop web UI"), disabled=web is None, key="load_web_stop"):
        APP.stop_web()
        st.rerun()
    if w3.button(_("Stop service"), disabled=APP.service is None or running, key="load_service_stop"):

        APP.stop_all()
        st.rerun()
