"""The statistics pages show, cached per server process by run ids and the runs' stamps.

Why: ``evaluators.stats.run_stats.run_stats`` reads the stored object back (JSON of every metric's
bootstrap) and checks it on each call; a page re-runs on every widget change (a metric picked, a
query drilled into). ``st.cache_data`` keyed by the store, the ids and ``RunStore.stamp`` of each run
(which changes whenever a run's rows, status or summary change) returns the same statistics without
touching them until the run changes. Nothing here depends on a session's key.

Usage:
    stats = page_stats(store, run_id)          # or a list of ids: one family
    stats.get("ndcg@10").verdicts()
"""

from __future__ import annotations

import streamlit as st

import evaluators.stats.run_stats as run_stats_module


def stats_key(store, ids: list[str]) -> tuple[str, tuple[str, ...], str]:
    """(store path, ids, stamps): what the cached statistics of ``ids`` depend on. RunNotFound for a deleted run."""
    return str(store.path), tuple(ids), "/".join(store.stamp(i) for i in ids)


@st.cache_data(show_spinner=False, max_entries=64)
def _cached(_store, path: str, ids: tuple[str, ...], stamp: str):
    return run_stats_module.run_stats(_store, list(ids))  # looked up at call time: tests count the calls


def page_stats(store, run_ids: list[str] | str):
    """The run's (or the runs' family) statistics, as ``run_stats`` gives them, computed at most once per stamp."""
    ids = [run_ids] if isinstance(run_ids, str) else list(run_ids)
    return _cached(store, *stats_key(store, ids))
