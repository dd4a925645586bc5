"""The report's section of a sweep run: its leaderboard with significance letters (``RunKind.section``)."""

from __future__ import annotations

from evaluators.report.sections import html_table
from evaluators.sweep.leaderboard import Leaderboard
from rag.i18n import _


def sweep_section(store, group: list, **_options) -> tuple[dict, list]:
    """The report's section of one sweep run (``RunKind.section`` of sweep): its leaderboard with letters."""
    run = group[0]
    summary = run.summary or {}
    rows = summary.get("leaderboard") or []
    board = Leaderboard(summary.get("metric") or "ndcg", rows, rows[0]["setup"] if rows else None,
                        summary.get("n_queries") or 0, summary.get("mdd"), notes=summary.get("notes") or [])
    sents = board.sentences()
    return {"title": _("Sweep · {run}").format(run=run.id), "sentences": sents + board.cost_lines(), "figures": [],
            "examples": [], "tables": [(_("Leaderboard (setups sharing a letter are not distinguishable)"),
                                        html_table(board.display()))],
            "notes": board.notes + [_("Chunked setups are scored at document level: a document's rank is its best "
                                      "chunk's rank.")],
            "headline": sents[0], "intro": _("{n} setups on {dataset}").format(n=len(rows), dataset=run.dataset)}, []
