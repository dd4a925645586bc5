"""Step 1 on the Decide page: the brief as a form (every constraint of ``flows.decide.brief.Brief``)
and the candidates; the form's submit button is **Decide**.

Why a form: a brief has fourteen fields; as plain widgets each change would rerun the page (and a click
landing in a rerun is lost). The last brief is kept in ``st.session_state["decide_brief"]`` and seeds
the form's widgets (keyed, ``_seed``), so it survives a page switch and stays editable.
"""

from __future__ import annotations

import streamlit as st
from pydantic import ValidationError

from flows.decide.brief import METRICS, TASKS, Brief, first_error
from rag.i18n import N_, _
from rag.models.registry import REGISTRY
from ui.interface_language import keep_on_switch

DEFAULT_MODELS = ["minilm", "bm25", "hybrid"]
TASK_NAMES = {"retrieval": N_("retrieval"), "rag": N_("RAG"), "image": N_("image search")}  # shown; the value stays


def metric_name(m: str) -> str:
    """A brief's metric as the reader's language writes it: English the field value (today's text), Chinese the
    abbreviation with its gloss ("nDCG（归一化折损累计增益）")."""
    from evaluators.stats.labels import glossed, metric_label
    from rag.i18n import DEFAULT, current_language

    return m if current_language() == DEFAULT else glossed(metric_label("hit" if m == "hit_rate" else m))


def _none(v: float) -> float | None:
    return v or None  # 0 in a limit field means "no limit"


def _seed(b: Brief) -> None:
    """Each field's widget takes its value from session state, seeded from the last brief. Why: a widget
    whose default changes gets a new identity, so the first edit after a run would be lost; keyed widgets
    without a default keep theirs (and a page switch, which drops widget keys, re-seeds them)."""
    values = {**b.to_json(), **{f: b.to_json()[f] or 0.0 for f in LIMITS}}
    for field, value in values.items():
        st.session_state.setdefault(f"decide_{field}", value)
    st.session_state.setdefault("decide_candidates", st.session_state.get("decide_models_kept", DEFAULT_MODELS))


LIMITS = ("p95_ms", "budget_one_off_usd", "budget_month_usd", "memory_mb")


def brief_form() -> tuple[Brief, list[str]] | None:
    """The brief and the candidates when Decide is pressed and the brief is valid; else None (one error line)."""
    _seed(Brief(**st.session_state.get("decide_brief", {})))
    with st.form("decide_brief_form", border=True):
        st.markdown(_("**1 · Brief: what you need** (0 in a limit means no limit)"))
        c1, c2, c3, c4 = st.columns(4)
        vals = {
            "task": c1.selectbox(_("Task"), TASKS, key=keep_on_switch("decide_task"),
                                 format_func=lambda t: _(TASK_NAMES.get(t, t))),
            "metric": c1.selectbox(_("Quality metric"), METRICS, key=keep_on_switch("decide_metric"),
                                   format_func=metric_name),
            "k": c1.number_input(_("at k"), 1, 100, key="decide_k"),
            "min_quality": c1.number_input(_("Minimum acceptable"), 0.0, 1.0, step=0.05, key="decide_min_quality"),
            "p95_ms": _none(c2.number_input(_("Latency SLO: p95 ≤ (ms)"), 0.0, 60_000.0, step=10.0,
                                            key="decide_p95_ms")),
            "users": c2.number_input(_("at concurrent users"), 1, 500, key="decide_users"),
            "load_seconds": c2.number_input(_("Load test seconds per model"), 1, 900, key="decide_load_seconds"),
            "budget_one_off_usd": _none(c3.number_input(_("One-off budget: corpus embedding (USD)"), 0.0, 1e7,
                                                        key="decide_budget_one_off_usd")),
            "budget_month_usd": _none(c3.number_input(_("Monthly budget (USD)"), 0.0, 1e7,
                                                       key="decide_budget_month_usd")),
            "queries_per_day": c3.number_input(_("at queries per day"), 0, 10**9, step=1000,
                                               key="decide_queries_per_day"),
            "where": c4.radio(_("Models may run"), ["api", "local"], key=keep_on_switch("decide_where"),
                              format_func=lambda w: _("local or APIs") if w == "api" else _("local only")),
            "commercial": c4.checkbox(_("License must allow commercial use"), key="decide_commercial"),
            "memory_mb": _none(c4.number_input(_("Memory limit (MB)"), 0.0, 1e7, key="decide_memory_mb")),
            "spend_cap_usd": c4.number_input(_("Spend cap of the evaluation (USD)"), 0.01, 1000.0, step=0.1,
                                             key="decide_spend_cap_usd"),
        }
        models = st.multiselect(_("Candidates (empty: every model in the registry)"), list(REGISTRY),
                                key="decide_candidates")
        pressed = st.form_submit_button(_("Decide"), type="primary")
    if not pressed:
        return None
    try:  # not Brief.of: a None here is "no limit", not "keep the default"
        brief = Brief(**{**st.session_state.get("decide_brief", {}), **vals})
    except ValidationError as e:
        st.error(_("brief: {error}").format(error=first_error(e)))
        return None
    st.session_state["decide_brief"], st.session_state["decide_models_kept"] = brief.to_json(), models
    return brief, models
