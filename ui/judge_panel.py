"""The RAG quality page's "how far to trust the judge" panel, shown next to the scores it qualifies.

Why beside the scores: a judged mean is only as good as the judge, and the run already holds the
user's own relevance judgments (qrels) for the same retrieved documents. The numbers come from
``evaluators.judge.reliability`` (the same ones ``cli.py rag --output`` writes and the gate reads).

Usage:
    judge_reliability_panel(rows, summary)    # nothing for a run without a judge
"""

from __future__ import annotations

import streamlit as st

from evaluators.judge.reliability import confusion_frame, health_frame, judge_reliability, noise_frame
from rag.i18n import _


def judge_reliability_panel(rows: list[dict], summary: dict) -> None:
    """The judge's agreement with the qrels (a sentence, the confusion matrix) and its failures per metric."""
    if not summary.get("judge"):
        return
    rel = judge_reliability(rows, summary["judge"], summary["metrics_active"])
    text = rel.sentence()
    with st.expander(_("How far to trust the judge"), expanded=True):
        (st.info if rel.agreement else st.caption)(text[0].upper() + text[1:] + _("."))
        c1, c2 = st.columns(2)
        if rel.agreement:
            c1.caption(_("Context precision verdicts vs your qrels (contexts)"))
            c1.dataframe(confusion_frame(rel), hide_index=True, width="stretch")
        if rel.health:
            c2.caption(_("Judge failures per metric and judge (rows it applied to)") if rel.second_health
                       else _("Judge failures per metric (rows it applied to)"))
            c2.dataframe(health_frame(rel), hide_index=True, width="stretch")
        for line in (rel.second or {}).get("sentences", []):
            st.caption(_("Second judge: {line}.").format(line=line))
        if rel.noise:
            st.caption(_("Judge repeats: the interval with the judge's own noise (questions, then repeats within "
                         "each)"))

            st.dataframe(noise_frame(rel), hide_index=True, width="stretch")
