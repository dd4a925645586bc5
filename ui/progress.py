"""Progress bars for the job callbacks: ``progress(model, stage, done, total)`` of indexing and
retrieval, ``progress(p)`` (``p.fraction``, ``p.text``) of the RAG runner.

The texts are pure functions (tested without Streamlit); the adapters only move a bar.

Usage:
    wb.index(ds, names, chunking(), index_bars(names))
    evaluate_retrieval(wb, ds, models, progress=retrieval_bar(models))
    run_rag(ds, cfg, progress=fraction_bar("Retrieving…"), ...)
"""

from __future__ import annotations

import math
import time

import streamlit as st

from rag.i18n import N_, _, fmt_number

STAGES = (N_("embed"), N_("insert"))  # the jobs' stage words, shown translated


def index_text(model: str, stage: str, done: int, total: int, elapsed: float) -> str:
    """One model's indexing line; the speed and time left once it has run for half a second."""
    if stage == "download":  # a hub model's files, in bytes
        return _("{model}: downloading {done}/{total} MB").format(model=model, done=f"{done / 1e6:,.1f}",
                                                                  total=f"{total / 1e6:,.1f}")
    elapsed = max(elapsed, 1e-6)
    rate = done / elapsed if done else 0.0
    eta = (total - done) / rate if rate else math.nan
    speed = _(" · {rate} docs/s · {eta} s left").format(rate=f"{rate:,.0f}", eta=f"{eta:,.0f}") \
        if rate and elapsed > 0.5 else ""
    return _("{model}: {stage} {done}/{total} docs{speed}").format(model=model, stage=_(stage), done=f"{done:,}",
                                                                   total=f"{total:,}", speed=speed)


def index_bars(names: list[str]):
    """One bar per model (its spec string as typed), timed from its first callback."""
    bars = {n: st.progress(0.0, text=_("{model}: waiting").format(model=n)) for n in names}
    started: dict[str, float] = {}

    def progress(model, stage, done, total):
        t0 = started.setdefault(model, time.perf_counter())
        bars[model].progress(done / max(total, 1), text=index_text(model, stage, done, total, time.perf_counter() - t0))

    return progress


def retrieval_step(steps: int, model: str, stage: str, done: int, total: int) -> tuple[int, str]:
    """(models searched so far, the bar's text) after one callback of the retrieval comparison."""
    if stage == "search":
        return steps + 1, _("{model}: searched {n} queries").format(model=model, n=total)
    return steps, f"{model}: {_(stage)} {fmt_number(done)}/{fmt_number(total)}"


def retrieval_bar(models: list[str]):
    """One bar over the models: a step per model searched."""
    bar = st.progress(0.0, text=_("Preparing collections…"))
    steps = {"n": 0}

    def progress(model, stage, done, total):
        steps["n"], text = retrieval_step(steps["n"], model, stage, done, total)
        bar.progress(steps["n"] / len(models), text=text)

    return progress


def fraction_bar(text: str):
    """A bar for callbacks that report a fraction and a text (the RAG runner's ``Progress``)."""
    bar = st.progress(0.0, text=text)
    return lambda p: bar.progress(p.fraction, text=p.text)
