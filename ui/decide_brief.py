"""Step 1 on the Decide page: the brief as a form (every constraint of ``flows.decide.brief.Brief``)
and the candidates; the form's submit button is **Decide**.

Why a form: a brief has fourteen fields; as plain widgets each change would rerun the page (and a click
landing in a rerun is lost). The last brief is kept in ``st.session_state["decide_brief"]`` and seeds
the form, so it survives a page switch and stays editable.
"""

from __future__ import annotations

import streamlit as st

from flows.decide.brief import METRICS, TASKS, Brief
from rag.models.registry import REGISTRY

DEFAULT_MODELS = ["minilm", "bm25", "hybrid"]


def _none(v: float) -> float | None:
    return v or None  # 0 in a limit field means "no limit"


def brief_form() -> tuple[Brief, list[str]] | None:
    """The brief and the candidates when Decide is pressed and the brief is valid; else None (one error line)."""
    b = Brief(**st.session_state.get("decide_brief", {}))
    with st.form("decide_brief_form", border=True):
        st.markdown("**1 · Brief: what you need** (0 in a limit means no limit)")
        c1, c2, c3, c4 = st.columns(4)
        vals = {
            "task": c1.selectbox("Task", TASKS, index=TASKS.index(b.task)),
            "metric": c1.selectbox("Quality metric", METRICS, index=METRICS.index(b.metric)),
            "k": c1.number_input("at k", 1, 100, b.k),
            "min_quality": c1.number_input("Minimum acceptable", 0.0, 1.0, b.min_quality, 0.05),
            "p95_ms": _none(c2.number_input("Latency SLO: p95 ≤ (ms)", 0.0, 60_000.0, b.p95_ms or 0.0, 10.0)),
            "users": c2.number_input("at concurrent users", 1, 500, b.users),
            "load_seconds": c2.number_input("Load test seconds per model", 1, 900, b.load_seconds),
            "budget_one_off_usd": _none(c3.number_input("One-off budget: corpus embedding (USD)", 0.0, 1e7,
                                                        b.budget_one_off_usd or 0.0)),
            "budget_month_usd": _none(c3.number_input("Monthly budget (USD)", 0.0, 1e7, b.budget_month_usd or 0.0)),
            "queries_per_day": c3.number_input("at queries per day", 0, 10**9, b.queries_per_day, 1000),
            "where": c4.radio("Models may run", ["api", "local"], index=["api", "local"].index(b.where),
                              format_func=lambda w: "local or APIs" if w == "api" else "local only"),
            "commercial": c4.checkbox("License must allow commercial use", b.commercial),
            "memory_mb": _none(c4.number_input("Memory limit (MB)", 0.0, 1e7, b.memory_mb or 0.0)),
            "spend_cap_usd": c4.number_input("Spend cap of the evaluation (USD)", 0.01, 1000.0, b.spend_cap_usd, 0.1),
        }
        models = st.multiselect("Candidates (empty: every model in the registry)", list(REGISTRY),
                                default=st.session_state.get("decide_models_kept", DEFAULT_MODELS))
        pressed = st.form_submit_button("Decide", type="primary")
    if not pressed:
        return None
    try:
        brief = Brief.of(**vals)
    except ValueError as e:
        st.error(str(e))
        return None
    st.session_state["decide_brief"], st.session_state["decide_models_kept"] = brief.to_json(), models
    return brief, models
