"""The Sweep page's panels: the grid's fields, the plan before it runs, a progress bar, the leaderboard.

Usage:
    setups = grid_fields(models)               # None (with the reason shown) when a field is invalid
    if setups and plan_panel(ds, setups) and st.button("Run sweep"): run(ds, setups)
    leaderboard_panel(st.session_state.get("sweep_result"))    # ... and a download of the chosen setup
"""

from __future__ import annotations

import streamlit as st

from rag.i18n import N_, _
from ui.errors import show_error
from ui.resources import retriever
from ui.sign_in import refused_models

FIELDS = [  # (key, label, default, help): comma-separated lists, as the CLI's options; shown through _()
    ("chunk_sizes", N_("Chunk sizes"), "none", N_("characters per chunk; none = whole documents")),
    ("overlaps", N_("Overlaps"), "0", N_("characters shared by neighbouring chunks")),
    ("fusion", N_("Fusion (hybrid)"), "rrf:60,weighted:0.3", N_("rrf:K or weighted:A (dense weight)")),
    ("rerankers", N_("Rerankers"), "none", N_("none, ce:FOLDER (a local cross-encoder) or rerank:MODEL@URL (a "
                                              "Cohere-style /rerank endpoint)")),
    ("ks", "k", "4,10", N_("top-k values")),
    ("depths", N_("Reranker depth"), "20", N_("candidates a reranker rescores")),
    ("asrs", N_("Speech to text (audio folders)"), "none", N_("none or asr:FOLDER Whisper models, each crossed with "
                                                              "every text model; clap:/aud: models embed the sounds "
                                                              "themselves")),
]
PRICES_HELP = N_("USD per 1,000 calls of a rerank endpoint, e.g. rerank-v3.5=2.0 (Cohere's list price); an "
                 "unpriced endpoint counts $0 and says 'not priced'")


def grid_fields(models: list[str]):
    """The grid's text fields in two rows; the setups they make, or None with the reason shown."""
    from evaluators.sweep.setups import grid_from_text

    cols = st.columns(3) + st.columns(3) + st.columns(3)
    texts = {key: col.text_input(_(label), default, help=_(help), key=f"sweep_{key}")
             for col, (key, label, default, help) in zip(cols, FIELDS)}
    if not models or refused_models([r.strip() for r in texts["rerankers"].split(",")]):  # ce:FOLDER on a shared app
        return None
    try:
        return grid_from_text(models, **texts)
    except Exception as e:
        st.error(str(e))
        return None


def plan_panel(ds, setups) -> bool:
    """The count and the time estimate before anything runs; False (reason shown) when it cannot run here."""
    from evaluators.sweep.run import plan_sweep

    wb = retriever()
    if wb is None:
        return False
    try:
        plan = plan_sweep(wb, ds, setups)
    except Exception as e:
        show_error(e, "Sweep")
        return False
    st.info(_("Plan: {counts}.").format(counts=plan.counts()))
    if plan.estimate:
        st.caption(_("Time: {estimate}.").format(estimate=plan.estimate.describe()))
    return True


def rerank_prices():
    """The reranker prices field (only when a setup uses an endpoint reranker): a dict, or None (reason shown)."""
    from evaluators.sweep.run import parse_rerank_prices

    rerankers = str(st.session_state.get("sweep_rerankers", "")).split(",")
    if not any(r.strip().startswith("rerank:") for r in rerankers):
        return {}
    text = st.text_input(_("Rerank endpoint prices"), "", help=_(PRICES_HELP), key="sweep_rerank_prices",
                         placeholder=_("MODEL=USD per 1,000 calls, …"))
    try:
        return parse_rerank_prices(text)
    except ValueError as e:
        st.error(_("Rerank endpoint prices: {error}").format(error=e))
        return None


def run(ds, setups, rank_by: str = "ndcg", prices: dict | None = None) -> None:
    """Run the sweep with a progress bar and keep its result in the session."""
    from evaluators.sweep.run import run_sweep

    bar = st.progress(0.0, text=_("Preparing collections…"))

    def progress(stage, done, total, what):
        if stage == "index":
            bar.progress(0.0, text=_("Collection {i}/{n}: {what}").format(i=done + 1, n=total, what=what))
        else:
            bar.progress(done / max(total, 1), text=_("Searched {i}/{n} · {what}").format(i=done, n=total, what=what))
    try:
        st.session_state["sweep_result"] = run_sweep(retriever(), ds, setups, progress, metric=rank_by,
                                                   rerank_prices=prices)
    except Exception as e:
        show_error(e, _("Sweep"))


def leaderboard_panel(result) -> None:
    """Letters (setups sharing one are not distinguishable), wins/losses against the best, cost per 1,000
    queries, the quality–latency–cost frontier (★)."""
    from evaluators.sweep.leaderboard import Leaderboard

    board = Leaderboard(**result.leaderboard)
    st.caption(_("Run `{run}` · {n} setups · {seconds} s").format(run=result.run_id, n=len(result.setups),
                                                                  seconds=f"{result.seconds:.1f}"))
    for line in board.sentences():
        st.markdown(line)
    st.dataframe(board.display(), hide_index=True, width="stretch")
    for note in board.cost_lines() + board.notes:
        st.caption(note)
    st.caption(_("Chunked setups are scored at document level: a document's rank is its best chunk's rank."))
    if result.run_id:
        st.caption(_("The run is in History; `cli.py report --runs ID` adds its leaderboard to a report."))
        download_panel(result.run_id, [r["setup"] for r in board.rows] or [r.setup.id for r in result.setups])


def download_panel(run_id: str, setup_ids: list[str]) -> None:
    """The chosen setup (the leaderboard's best first) as a standalone script, as ``cli.py export-setup``."""
    from evaluators.sweep.export import FORMATS, export_setup, script_name

    st.markdown("**" + _("Hand back the winner as code") + "**")
    left, right = st.columns([3, 1])
    setup = left.selectbox(_("Setup"), setup_ids, key="sweep_export_setup")
    fmt = right.radio(_("Format"), FORMATS, horizontal=True, key="sweep_export_format")
    try:
        script = export_setup(run_id, setup, fmt)
    except ValueError as e:
        st.caption(str(e))
        return
    st.download_button(_("Download {file}").format(file=script_name(setup, fmt)), script,
                       file_name=script_name(setup, fmt), mime="text/x-python", key="sweep_export_download")
    st.caption(_("Run it with `MILVUS_URI=… python winner.py \"some question\"`: it prints the top-k as "
                 "`[[doc_id, score], …]`; its docstring says what else it needs."))

