"""Result tables and drill-downs the pages show: the dataset, statistics with verdicts, per-query
rankings and per-question RAG details. Frames are built by pure functions (tested without Streamlit);
every cell goes through ``evaluators.formatting`` so a missing value says why.

Usage:
    dataset_caption(ds); dataset_tabs(ds)
    comparison_summary(stats.get("ndcg@10"))
"""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from evaluators.formatting import CI_REASONS, display_frame, missing
from rag.i18n import DEFAULT, N_, _, current_language, fmt_number, ngettext

ROWS_SHOWN = 500  # per tab of the Data page: enough to read, cheap to draw
# The rank tables' index ("1" … "k", "Precision", "Recall"): Streamlit sizes an index column by its first
# rows, which cut "Precision" to "Precisio"; a fixed width keeps every row label whole.
RANK_COLUMN = {"_index": st.column_config.TextColumn("Rank", width=110)}
MODEL_COLUMN = {"_index": st.column_config.TextColumn("model", width="medium")}

# The headers and fixed cell words of the frames the Data, Index and Retrieval pages show. The frames are built
# below ui/ in English (their column names are what tests, exports and the report read); ``localized`` shows
# them in the session's language at the last step. Only these exact texts are translated, never data.
HEADERS = frozenset((
    N_("model"), N_("what"), N_("kind"), N_("can run"), N_("why not"), N_("name"), N_("rows"), N_("dataset"),
    N_("index"), N_("chunking"), N_("complete"), N_("id"), N_("title"), N_("text"), N_("question"),
    N_("reference answer"), N_("relevant"), N_("query"), N_("document"), N_("grade"), N_("side"), N_("language"),
    N_("share"), N_("mean"), N_("ci_low"), N_("ci_high"), N_("n"), N_("total"), N_("coverage"), N_("mark"),
    N_("scored"), N_("model_a"), N_("model_b"), N_("diff"), N_("p_value"), N_("p_holm"), N_("significant"),
    N_("mdd"), N_("ci_level"), N_("rank"), N_("doc id"), N_("file"), N_("score"), N_("dims"), N_("max tokens"),
    N_("documents cut"), N_("queries cut"), N_("query prompt"), N_("document prompt"), N_("counted with"),
    N_("cut when sent (API)"), N_("provider"), N_("spec"), N_("price"), N_("input type"), N_("key"), N_("key set"),
    N_("constraint"), N_("limit"), N_("value"), N_("95% CI"), N_("passes"), N_("failed"), N_("why"),
    N_("excluded because"), N_("p95 ms"), N_("$/month"), N_("memory MB"), N_("meaning"), N_("index_type"),
    N_("index_reason"), N_("memory_mb"), N_("memory_basis"), N_("embed_seconds"), N_("one_off_usd"),
    N_("cost_month_usd"), N_("cost_basis"), N_("milvus"), N_("milvus_reason"), N_("Rank"), N_("Precision"),
    N_("Recall")))
CELLS = frozenset((
    N_("🟢 yes"), N_("⚪ no"), N_("yes"), N_("no"), N_("✅ yes"), N_("❌ no"), N_("✅ set"), N_("❎ not set"),
    N_("True"), N_("False"), N_("none"), N_("unknown"), N_("— not recorded"), N_("— not scored"), N_("— no queries"),
    N_("— no shared queries"), N_("— too few queries"), N_("— no title"), N_("— empty"), N_("— no reference"),
    N_("— no relevance judgments"), N_("— unbounded: too few questions"),
    N_("— no collections yet: build one above"), N_("★ best"), N_("≈ tied"), N_("not scored"),
    N_("not ranked: lower coverage"), N_("no signal"), N_("documents"), N_("questions"), N_("— (no vectors)"),
    N_("not measured"), N_("unknown origin"), N_("dense"), N_("sparse"), N_("hybrid"), N_("local"), N_("api")))


DATA_COLUMNS = frozenset(("model", "name", "id", "title", "text", "question", "query", "document", "dataset", "spec",
                          "provider", "file", "doc id", "model_a", "model_b", "reference answer", "relevant", "key"))


def localized(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its known headers (``HEADERS``) and fixed cell words (``CELLS``) in the session's language;
    English: the frame itself, unchanged. Why here: one place for every table of these pages, data untouched."""
    if current_language() == DEFAULT:
        return frame
    out = frame.rename(columns=lambda c: _(c) if c in HEADERS else c)
    if not pd.api.types.is_numeric_dtype(out.index):  # object or pandas' string dtype
        out.index = out.index.map(lambda v: _(v) if v in HEADERS else v)
    if out.index.name in HEADERS:
        out.index = out.index.rename(_(out.index.name))
    for col in frame.columns:  # data columns keep their values: a model named "hybrid" is not 混合
        if col not in DATA_COLUMNS:
            out[_(col) if col in HEADERS else col] = frame[col].map(lambda v: _(v) if isinstance(v, str) and v in CELLS
                                                                   else v).values
    return out


def label_px(texts) -> int:
    """A column width (px) that shows every text whole in the grid's 13 px font: about 7.5 px a character, 14 for
    a wide (CJK) one, plus the grid's padding; capped where a label is better read in the row's details."""
    import unicodedata

    def px(t: str) -> float:
        return sum(14.0 if unicodedata.east_asian_width(c) in "WF" else 7.5 for c in str(t))

    return int(min(max([px(t) for t in texts] or [0.0]) + 28, 720))


def label_columns(frame: pd.DataFrame, *names: str) -> dict:
    """Widths for a table's label columns (model, setup): Streamlit sizes a column from its first ten rows, so a
    longer label further down was cut ("minilm [20261206-125754-d8f…"); these hold every label and the header."""
    return {c: st.column_config.TextColumn(c, width=label_px([c, *frame[c].astype(str)]))
            for c in names if c in frame.columns}


def dataset_caption(ds) -> None:
    st.caption(caption_text(ds))


QUERY_KINDS = {"text": N_("text"), "image": N_("image"), "audio": N_("audio"), "video": N_("video"),
               "all": N_("all")}


def caption_text(ds) -> str:
    """"Dataset **name**: N documents (or images), M judged questions (and their kinds), J judgments."""
    kinds = ds.query_kinds() if ds.modality in ("image", "audio", "video") else {}
    what = _(", ").join(_("{n} {kind}").format(n=fmt_number(n), kind=_(QUERY_KINDS.get(kind, kind)))
                        for kind, n in sorted(kinds.items(), key=lambda kv: kv[0] != "text"))
    n_docs, n_q = len(ds.documents), len(ds.judged_queries)
    n_j = sum(len(v) for v in ds.qrels.values())
    docs = {"image": ngettext("{n} image", "{n} images", n_docs), "audio": ngettext("{n} sound", "{n} sounds", n_docs),
            "video": ngettext("{n} video", "{n} videos", n_docs)}.get(ds.modality) \
        or ngettext("{n} document", "{n} documents", n_docs)
    return _("Dataset **{name}**: {documents}, {questions}{kinds}, {judgments}.").format(
        name=ds.name, documents=docs.format(n=fmt_number(n_docs)),
        questions=ngettext("{n} judged question", "{n} judged questions", n_q).format(n=fmt_number(n_q)),
        kinds=_(" ({what})").format(what=what) if what else "",
        judgments=ngettext("{n} judgment", "{n} judgments", n_j).format(n=fmt_number(n_j)))


def documents_frame(ds) -> pd.DataFrame:
    return display_frame(pd.DataFrame([{"id": d.id, "title": d.title, "text": d.text[:300]}
                                       for d in ds.documents[:ROWS_SHOWN]]), {"title": "no title", "text": "empty"})


def questions_frame(ds) -> pd.DataFrame:
    return display_frame(pd.DataFrame([{"id": q.id, "question": q.text, "reference answer": q.reference,
                                        "relevant": ", ".join(ds.relevant(q.id))} for q in ds.queries[:ROWS_SHOWN]]),
                         {"reference answer": "no reference", "relevant": "no relevance judgments"})


def judgments_frame(ds) -> pd.DataFrame:
    return display_frame(pd.DataFrame([{"query": q, "document": d, "grade": g}
                                       for q, docs in list(ds.qrels.items())[:ROWS_SHOWN] for d, g in docs.items()]))


def dataset_tabs(ds) -> None:
    """The dataset's documents, questions and judgments, the first 500 of each (an image dataset's
    images and image queries as thumbnails)."""
    from ui.images import image_documents_frame, image_questions_frame, image_table

    tabs = st.tabs([_("Documents"), _("Questions"), _("Judgments")])
    if ds.modality == "audio":
        from ui.audio import audio_documents_frame, audio_questions_frame

        tabs[0].dataframe(audio_documents_frame(ds, ROWS_SHOWN), hide_index=True, width="stretch")
        tabs[1].dataframe(audio_questions_frame(ds, ROWS_SHOWN), hide_index=True, width="stretch")
        tabs[2].dataframe(localized(judgments_frame(ds)), hide_index=True, width="stretch")
        return
    if ds.modality == "image":
        with tabs[0]:
            image_table(image_documents_frame(ds, ROWS_SHOWN))
        with tabs[1]:
            image_table(image_questions_frame(ds, ROWS_SHOWN))
        tabs[2].dataframe(localized(judgments_frame(ds)), hide_index=True, width="stretch")
        return
    for tab, frame in zip(tabs, (documents_frame(ds), questions_frame(ds), judgments_frame(ds))):
        tab.dataframe(localized(frame), hide_index=True, width="stretch")


def ci_figure(summary: pd.DataFrame):
    """Grouped bars of each model's mean per metric with its 95% CI as error bars."""
    fig = px.bar(summary, x="metric", y="mean", color="model", barmode="group",
                 error_y=summary["ci_high"] - summary["mean"], error_y_minus=summary["mean"] - summary["ci_low"],
                 labels={"metric": _("metric"), "mean": _("mean"), "model": _("model")})
    fig.update_layout(yaxis_range=[0, 1.05], height=380, margin=dict(t=20))
    return fig


def pairs_frame(cmp) -> pd.DataFrame:
    """The paired differences as display text: an interval no shift of which the test can reject (too few
    questions for the level) reads "unbounded: too few questions", not "-inf"."""
    frame = cmp.pairs()
    for col in ("ci_low", "ci_high"):
        frame[col] = [missing("unbounded: too few questions") if isinstance(v, float) and abs(v) == float("inf")
                      else v for v in frame[col]]
    frame["ci_level"] = [f"{v:.1%}" for v in frame["ci_level"]]
    return display_frame(frame, CI_REASONS)


def verdict_section(cmp) -> None:
    """The Retrieval page's "who wins": the comparison table, its verdicts, the paired differences."""
    table, pairs = localized(display_frame(cmp.table(), CI_REASONS)), localized(pairs_frame(cmp))
    st.dataframe(table, hide_index=True, width="stretch", column_config=label_columns(table, "model", _("model")))
    for sentence in cmp.verdicts():
        st.markdown(f"- {sentence}")
    with st.expander(_("Paired differences (sign-flip test, Holm-corrected; the CI inverts the same test)")):
        st.dataframe(pairs, hide_index=True, width="stretch", column_config=label_columns(
            pairs, "model_a", "model_b", _("model_a"), _("model_b")))


def comparison_summary(cmp) -> None:
    """The History page's comparison of one metric: verdicts, the table, paired differences when several."""
    st.markdown("\n".join(f"- {sentence}" for sentence in cmp.verdicts()))
    table = localized(display_frame(cmp.table(), CI_REASONS))  # headers in the reader's language, as verdict_section
    st.dataframe(table, hide_index=True, column_config=label_columns(table, "model", _("model")))
    if len(cmp.scores) > 1:
        st.caption(_("Paired differences (A − B) on the queries both scored; p Holm-corrected; the CI inverts the "
                     "same test at the pair's Holm level (ci_level), so it excludes 0 exactly when significant; "
                     "mdd = smallest difference these queries detect with 80% power."))
        pairs = localized(pairs_frame(cmp))
        st.dataframe(pairs, hide_index=True, column_config=label_columns(
            pairs, "model_a", "model_b", _("model_a"), _("model_b")))


def query_order(queries: dict) -> list[str]:
    """Query ids with the article's first example ("auto garbage collection") first, else as given."""
    return sorted(queries, key=lambda q: queries[q].text != "auto garbage collection")


def query_drilldown(ds, result) -> None:
    """Per query: the side-by-side rank table (tinted; an image dataset's with thumbnails), its legend,
    and scores and grades. Only the queries the run searched are offered."""
    from evaluators.retrieval.evaluate import THUMB_PX, comparison_table, ranking_detail
    from rag.models.asr import segment_media
    from ui.images import query_label, rank_table, show_query

    searched = result.per_query[result.models[0]] if result.models else {}
    queries = {q.id: q for q in ds.judged_queries if q.id in searched} or {q.id: q for q in ds.judged_queries}
    qid = st.selectbox(_("Query"), query_order(queries), key="drilldown_query",
                       format_func=lambda q: f"{q}: {query_label(queries[q])[:120]}")
    if ds.modality in ("image", "video"):  # a video: its best frame's thumbnail and second, then players
        show_query(ds, queries[qid])
        rank_table(comparison_table(ds, result, qid, thumbs=THUMB_PX), result.k)
        if ds.modality == "video":
            from ui.video import video_players

            with st.expander(_("Watch: each model's top videos (from their best frame)"), expanded=True):
                video_players(ds, result, qid)
    else:
        if ds.modality == "audio":
            show_query(ds, queries[qid])  # its player
        else:
            st.markdown(_("**{query}** · relevant: {documents}").format(
                query=queries[qid].text, documents=", ".join(ds.doc(d).title or d for d in ds.relevant(qid))))
        # Styler tints: ❎ and ✅ look alike in Noto Color Emoji, the green / red cell does not.
        st.dataframe(rank_styler(comparison_table(ds, result, qid)), width="stretch",
                     height=35 * (result.k + 3) + 3, column_config={"_index": st.column_config.TextColumn(
                         _("Rank"), width=110)})
        if ds.modality == "audio":
            from ui.audio import result_players

            with st.expander(_("Listen: each model's top results"), expanded=True):
                result_players(ds, result, qid)
        elif ds.documents and segment_media(ds, ds.documents[0].id):  # an asr: transcript: play the segments
            from ui.audio import segment_players

            with st.expander(_("Listen: each model's top segments (from their start time)"), expanded=True):
                segment_players(ds, result, qid)
    st.caption(legend())
    with st.expander(_("Drill-down: scores and grades")):
        st.dataframe(localized(display_frame(ranking_detail(ds, result, qid),
                                             formats={"score": lambda v, r=None: f"{v:.4f}"})),
                     hide_index=True, width="stretch")
        if queries[qid].reference:
            st.markdown(_("Reference answer: {answer}").format(answer=queries[qid].reference))


NO_MATCH_TEXT = N_("— (no match)")  # evaluators.formatting.NO_MATCH, the rank tables' empty rank


def rank_styler(table: pd.DataFrame):
    """The tinted rank table in the session's language: headers and row labels translated before the tints
    are computed (they read the cells), the "no match" cell translated as displayed only (its tint reads it)."""
    from evaluators.formatting import NO_MATCH
    from evaluators.retrieval.evaluate import comparison_styler

    styler = comparison_styler(localized(table))
    return styler if current_language() == DEFAULT else styler.format(lambda v: _(v) if v == NO_MATCH else v)


def legend() -> str:
    """``evaluators.retrieval.evaluate.LEGEND`` in the session's language (the same text in English)."""
    from evaluators.formatting import NO_MATCH, NOT_RELEVANT, RELEVANT

    return _("Cell colour = relevance: green {relevant} relevant, red {not_relevant} not relevant, grey {no_match} "
             "(the model returned fewer than k).").format(relevant=RELEVANT, not_relevant=NOT_RELEVANT,
                                                          no_match=_(NO_MATCH))


def row_labels(rows: list[dict]) -> dict[int, str]:
    """The RAG drill-down's choices: "model · question id: question" per row."""
    return {i: f"{r['model']} · {r['question_id']}: {r.get('question', '')[:90]}" for i, r in enumerate(rows)}


def rag_drilldown(rows: list[dict], active: list[str]) -> None:
    """One RAG row: question, answer, reference, its contexts, its scores and the judge's reasons."""
    import evaluators.rag.tables as report

    labels = row_labels(rows)
    row = rows[st.selectbox(_("Drill down"), list(labels), format_func=labels.get)]
    ctx, scores, reasons = report.drilldown(row, active)
    st.markdown(_("**Question:** {question}  \n**Answer:** {answer}  \n**Reference:** {reference}").format(
        question=row.get("question") or missing(N_("no question text")),
        answer=row.get("response") or missing(N_("no answer generated")),
        reference=row.get("reference") or "— " + _("(none: reference-based metrics are n/a)")))
    st.dataframe(ctx, hide_index=True, width="stretch")
    st.dataframe(scores, hide_index=True, width="stretch")
    if not reasons.empty:
        st.markdown(_("**The judge's reasons** (statements and verdicts as Ragas parsed them)"))
        st.dataframe(reasons, hide_index=True, width="stretch")
