"""Plotly figures and tables for load-test results, so the page only lays them out.

Inputs are plain dicts as stored in the run store (``results.load_run``) or kept live by a
``LoadTestJob``: ``results`` = {model: summary}, ``histories`` = {model: [history rows]},
``slo_steps`` = {model: [{users, rps, p95_ms, failures, ok}]}. Models keep the order given, and
each model has one colour in every figure.

Usage:
    st.plotly_chart(charts.timeline(histories, "rps", "Requests/s"))
    st.dataframe(charts.results_table(results))
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from evaluators.formatting import display_frame, fmt_int, fmt_ms, fmt_rate, missing
from rag.i18n import N_, _

STAGE_LABELS = {"wait_ms": N_("waiting for the model"), "embed_ms": N_("embed"), "search_ms": N_("Milvus search"),
                "generate_ms": N_("generate"), "other_ms": N_("HTTP + queueing")}  # shown through _()
STAGE_COLOURS = {"wait_ms": "#bdbdbd", "embed_ms": "#1f77b4", "search_ms": "#2ca02c", "generate_ms": "#9467bd",
                 "other_ms": "#ff7f0e"}
PCT_DASH = {"p50_ms": "solid", "p95_ms": "dash", "p99_ms": "dot"}
PCT_COLOURS = {"p50_ms": "#9ecae1", "p95_ms": "#4292c6", "p99_ms": "#08519c"}  # not model colours


def _colour(i: int) -> str:
    return qualitative.Plotly[i % len(qualitative.Plotly)]


def _layout(fig: go.Figure, title: str, y: str, height: int = 320) -> go.Figure:
    fig.update_layout(title=title, height=height, margin=dict(t=50, b=40, l=50, r=10), yaxis_title=y,
                      legend=dict(orientation="h", y=-0.2))
    return fig


def timeline(histories: dict[str, list[dict]], y: str, title: str, unit: str = "") -> go.Figure:
    """One line per model over seconds since its phase started (phases run one after another)."""
    fig = go.Figure()
    for i, (model, rows) in enumerate(histories.items()):
        pts = [(r["t"], r[y]) for r in rows if y in r and not (y.endswith("_ms") and not r[y])]
        fig.add_scatter(x=[p[0] for p in pts], y=[p[1] for p in pts], name=model, mode="lines+markers",
                        line=dict(color=_colour(i)))
    fig.update_xaxes(title=_("seconds"))
    return _layout(fig, title, unit)


def percentiles(histories: dict[str, list[dict]]) -> go.Figure:
    """p50/p95/p99 over time, one panel per model side by side (Locust's rolling window)."""
    models = list(histories) or ["-"]
    fig = make_subplots(rows=1, cols=len(models), shared_yaxes=True, subplot_titles=models)
    for i, model in enumerate(models):
        rows = [r for r in histories.get(model, []) if r.get("p50_ms")]
        for key, dash in PCT_DASH.items():
            fig.add_scatter(x=[r["t"] for r in rows], y=[r[key] for r in rows], row=1, col=i + 1,
                            name=f"{model} {key[:3]}", line=dict(color=_colour(i), dash=dash))
    fig.update_xaxes(title=_("seconds"))
    return _layout(fig, _("Latency percentiles over time (p50 solid, p95 dashed, p99 dotted)"), "ms", 340)


def results_table(results: dict[str, dict]) -> pd.DataFrame:
    """One line per model as display text: counts, req/s with 1 decimal, percentiles as integer ms
    (a model without successful requests has no latency, and says so)."""
    no_lat, no = _("no successful requests"), _("not recorded")
    rows = [{_("model"): m, _("users"): fmt_int(r.get("users"), no), _("requests"): fmt_int(r["requests"]),
             _("failures"): fmt_int(r["failures"]), _("req/s"): fmt_rate(r["rps"]),
             _("p50 ms"): fmt_ms(r["p50_ms"] or None, no_lat), _("p95 ms"): fmt_ms(r["p95_ms"] or None, no_lat),
             _("p99 ms"): fmt_ms(r["p99_ms"] or None, no_lat), _("seconds"): fmt_int(r.get("seconds"), no)}
            for m, r in results.items()]
    return pd.DataFrame(rows).set_index(_("model")).astype(object) if rows else pd.DataFrame()


def summary_bars(results: dict[str, dict]) -> go.Figure:
    """Requests/s and p50/p95/p99 per model, side by side."""
    models = list(results)
    fig = make_subplots(rows=1, cols=2, subplot_titles=[_("Requests/s"), _("Latency (ms)")])
    fig.add_bar(x=models, y=[results[m]["rps"] for m in models], marker_color=[_colour(i) for i in range(len(models))],
                name="req/s", row=1, col=1, showlegend=False)
    for key, colour in PCT_COLOURS.items():
        fig.add_bar(x=models, y=[results[m][key] for m in models], name=key[:3], marker_color=colour, row=1, col=2)
    fig.update_layout(barmode="group")
    return _layout(fig, _("Per model"), "", 320)


def split_bars(results: dict[str, dict]) -> go.Figure:
    """Mean time per stage per model, stacked: where the latency goes (server-side timings)."""
    fig = go.Figure()
    models = list(results)
    for stage, label in STAGE_LABELS.items():
        vals = [(results[m].get("split") or {}).get(stage, 0.0) for m in models]
        if any(vals):
            fig.add_bar(y=models, x=vals, name=_(label), orientation="h", marker_color=STAGE_COLOURS[stage])
    fig.update_xaxes(title=_("mean ms per request"))
    _layout(fig, _("Latency split (embed / search / generate / HTTP + queueing)"), "", 200 + 50 * len(models))
    fig.update_layout(barmode="stack", legend=dict(orientation="h", y=1.02, yanchor="bottom", x=0))
    fig.update_layout(margin=dict(t=90))
    return fig


def failures_table(results: dict[str, dict]) -> pd.DataFrame:
    rows = [{"model": m, **f} for m, r in results.items() for f in r.get("top_failures", [])]
    return display_frame(pd.DataFrame(rows), {"error": _("no message")})


def slo_table(slo: dict[str, dict]) -> pd.DataFrame:
    none_met = _("none met the target")
    rows = [{_("model"): m, _("max users meeting target"): fmt_int(s["max_users"] or None, none_met),
             _("req/s at that load"): fmt_rate(s["rps"] if s["max_users"] else None, none_met),
             _("stopped by"): s.get("stopped_by") or missing(_("not recorded"))} for m, s in slo.items()]
    return pd.DataFrame(rows).set_index(_("model")).astype(object) if rows else pd.DataFrame()


def slo_figure(slo_steps: dict[str, list[dict]], target_ms: float | None) -> go.Figure:
    """p95 and requests/s against users (1, 2, 4, …), the target as a line, failed steps marked ✕."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=[_("p95 (ms) by users"), _("Requests/s by users")])
    for i, (model, steps) in enumerate(slo_steps.items()):
        users = [s["users"] for s in steps]
        symbols = ["circle" if s["ok"] else "x" for s in steps]
        for col, key in ((1, "p95_ms"), (2, "rps")):
            fig.add_scatter(x=users, y=[s[key] for s in steps], name=model, legendgroup=model, showlegend=col == 1,
                            mode="lines+markers", marker=dict(symbol=symbols, size=9), line=dict(color=_colour(i)),
                            row=1, col=col)
    if target_ms:
        fig.add_hline(y=target_ms, line_dash="dash", line_color="red", row=1, col=1,
                      annotation_text=_("target {ms} ms").format(ms=f"{target_ms:g}"))
    fig.update_xaxes(type="log", dtick=0.30103, title=_("users"))
    return _layout(fig, _("SLO finder"), "", 340)

