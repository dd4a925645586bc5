"""The Sweep page's panels: the grid's fields, the plan before it runs, a progress bar, the leaderboard.

Usage:
    setups = grid_fields(models)               # None (with the reason shown) when a field is invalid
    if setups and plan_panel(ds, setups) and st.button("Run sweep"): run(ds, setups)
    leaderboard_panel(st.session_state.get("sweep_result"))    # ... and a download of the chosen setup
"""

from __future__ import annotations

import streamlit as st

from ui.errors import show_error
from ui.resources import retriever

FIELDS = [  # (key, label, default, help): comma-separated lists, as the CLI's options
    ("chunk_sizes", "Chunk sizes", "none", "characters per chunk; none = whole documents"),
    ("overlaps", "Overlaps", "0", "characters shared by neighbouring chunks"),
    ("fusion", "Fusion (hybrid)", "rrf:60,weighted:0.3", "rrf:K or weighted:A (dense weight)"),
    ("rerankers", "Rerankers", "none", "none, ce:FOLDER (a local cross-encoder) or rerank:MODEL@URL (a Cohere-style "
                                       "/rerank endpoint)"),
    ("ks", "k", "4,10", "top-k values"),
    ("depths", "Reranker depth", "20", "candidates a reranker rescores"),
    ("asrs", "Speech to text (audio folders)", "none", "none or asr:FOLDER Whisper models, each crossed with every "
                                                       "text model; clap:/aud: models embed the sounds themselves"),
]
PRICES_HELP = ("USD per 1,000 calls of a rerank endpoint, e.g. rerank-v3.5=2.0 (Cohere's list price); an unpriced "
               "endpoint counts $0 and says 'not priced'")


def grid_fields(models: list[str]):
    """The grid's text fields in two rows; the setups they make, or None with the reason shown."""
    from evaluators.sweep.setups import grid_from_text

    cols = st.columns(3) + st.columns(3) + st.columns(3)
    texts = {key: col.text_input(label, default, help=help, key=f"sweep_{key}")
             for col, (key, label, default, help) in zip(cols, FIELDS)}
    if not models:
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
    st.info(f"Plan: {plan.counts()}.")
    if plan.estimate:
        st.caption(f"Time: {plan.estimate.describe()}.")
    return True


def rerank_prices():
    """The reranker prices field (only when a setup uses an endpoint reranker): a dict, or None (reason shown)."""
    from evaluators.sweep.run import parse_rerank_prices

    rerankers = str(st.session_state.get("sweep_rerankers", "")).split(",")
    if not any(r.strip().startswith("rerank:") for r in rerankers):
        return {}
    text = st.text_input("Rerank endpoint prices", "", help=PRICES_HELP, key="sweep_rerank_prices",
                         placeholder="MODEL=USD per 1,000 calls, …")
    try:
        return parse_rerank_prices(text)
    except ValueError as e:
        st.error(f"Rerank endpoint prices: {e}")
        return None


def run(ds, setups, rank_by: str = "ndcg", prices: dict | None = None) -> None:
    """Run the sweep with a progress bar and keep its result in the session."""
    from evaluators.sweep.run import run_sweep

    bar = st.progress(0.0, text="Preparing collections…")

    def progress(stage, done, total, what):
        if stage == "index":
            bar.progress(0.0, text=f"Collection {done + 1}/{total}: {what}")
        else:
            bar.progress(done / max(total, 1), text=f"Searched {done}/{total} · {what}")
    try:
        st.session_state["sweep_result"] = run_sweep(retriever(), ds, setups, progress, metric=rank_by,
                                                   rerank_prices=prices)
    except Exception as e:
        show_error(e, "Sweep")


def leaderboard_panel(result) -> None:
    """Letters (setups sharing one are not distinguishable), wins/losses against the best, cost per 1,000
    queries, the quality–latency–cost frontier (★)."""
    from evaluators.sweep.leaderboard import Leaderboard

    board = Leaderboard(**result.leaderboard)
    st.caption(f"Run `{result.run_id}` · {len(result.setups)} setups · {result.seconds:.1f} s")
    for line in board.sentences():
        st.markdown(line)
    st.dataframe(board.display(), hide_index=True, width="stretch")
    for note in board.cost_lines() + board.notes:
        st.caption(note)
    st.caption("Chunked setups are scored at document level: a document's rank is its best chunk's rank.")
    if result.run_id:
        st.caption("The run is in History; `cli.py report --runs ID` adds its leaderboard to a report.")
        download_panel(result.run_id, [r["setup"] for r in board.rows] or [r.setup.id for r in result.setups])


def download_panel(run_id: str, setup_ids: list[str]) -> None:
    """The chosen setup (the leaderboard's best first) as a standalone script, as ``cli.py export-setup``."""
    from evaluators.sweep.export import FORMATS, export_setup, script_name

    st.markdown("**Hand back the winner as code**")
    left, right = st.columns([3, 1])
    setup = left.selectbox("Setup", setup_ids, key="sweep_export_setup")
    fmt = right.radio("Format", FORMATS, horizontal=True, key="sweep_export_format")
    try:
        script = export_setup(run_id, setup, fmt)
    except ValueError as e:
        st.caption(str(e))
        return
    st.download_button(f"Download {script_name(setup, fmt)}", script, file_name=script_name(setup, fmt),
                       mime="text/x-python", key="sweep_export_download")
    st.caption("Run it with `MILVUS_URI=… python winner.py \"some question\"`: it prints the top-k as "
               "`[[doc_id, score], …]`; its docstring says what else it needs.")
