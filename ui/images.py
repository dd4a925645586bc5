"""Image datasets on the pages: thumbnail frames for the Data page, the per-query rank table with
thumbnails and ✅/❎ (Retrieval and History), an image query shown as its picture.

Frames are built by pure functions (tested without Streamlit): thumbnails are ``data:image/png;base64``
URIs drawn by ``st.column_config.ImageColumn``; a file gone since the dataset was loaded shows a grey
"not found" box (``MISSING_THUMB``), never a traceback. Marks and tints are the text table's
(``evaluators.retrieval.evaluate``).

Usage:
    st.dataframe(image_documents_frame(ds), column_config=image_columns(frame), row_height=ROW_PX)
    show_query(ds, query)                       # its text, or its picture and file name
    rank_table(comparison_table(ds, result, qid, thumbs=THUMB_PX), result.k)
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import streamlit as st

from evaluators.formatting import display_frame
from evaluators.retrieval.evaluate import IMAGE_COLUMN, MISSING_THUMB, THUMB_PX, comparison_styler, thumbnail
from rag.data.dataset import DatasetError
from rag.data.images import thumbnail_bytes
from rag.i18n import _

ROW_PX = THUMB_PX + 8   # a table row that holds a thumbnail
QUERY_PX = 128          # an image query's picture above its rank table
IMAGE = "image"         # the Data page's thumbnail column
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!<>|~$])")


def md(text: str) -> str:
    """``text`` with Markdown's special characters escaped (file names are user text)."""
    return _MD_SPECIAL.sub(r"\\\1", str(text))


def file_name(path: str) -> str:
    return Path(path).name if path else ""


def _title(ds, doc_id: str) -> str:
    try:
        return ds.doc(doc_id).title or doc_id
    except KeyError:
        return doc_id


def query_label(q) -> str:
    """A query in a picker: its text, or 🖼️ / 🔊 and its image's / sound's file name."""
    if getattr(q, "audio", ""):
        return "🔊 " + _("{file} (audio)").format(file=file_name(q.audio))
    return q.text if q.text else "🖼️ " + _("{file} (image)").format(file=file_name(q.image))


def _thumbs(paths: list[str], size: int) -> list[str]:
    return [thumbnail(p, size) or MISSING_THUMB if p else "" for p in paths]


def image_documents_frame(ds, rows: int, size: int = THUMB_PX) -> pd.DataFrame:
    """The first ``rows`` images: thumbnail, id, file name, caption."""
    docs = ds.documents[:rows]
    frame = pd.DataFrame({IMAGE: _thumbs([d.image for d in docs], size), "id": [d.id for d in docs],
                          "file": [d.title for d in docs], "caption": [d.text for d in docs]})
    return display_frame(frame, {"caption": _("no caption")}, formats={IMAGE: _keep})


def image_questions_frame(ds, rows: int, size: int = THUMB_PX) -> pd.DataFrame:
    """The first ``rows`` questions: id, kind, the text (or the image's file name), its thumbnail, relevant."""
    qs = ds.queries[:rows]
    frame = pd.DataFrame({"id": [q.id for q in qs], "kind": [q.kind for q in qs],
                          "question": [q.text or file_name(q.image) for q in qs],
                          IMAGE: _thumbs([q.image for q in qs], size),
                          "relevant": [", ".join(ds.relevant(q.id)) for q in qs]})
    return display_frame(frame, {"relevant": _("no relevance judgments")}, formats={IMAGE: _keep})


def _keep(v, reason=None) -> str:
    """An image cell stays as it is ("" draws nothing: a text query has no picture)."""
    return v or ""


def image_columns(frame: pd.DataFrame) -> dict:
    """``column_config`` drawing the thumbnail columns of ``frame`` as images."""
    cfg = {}
    for col in frame.columns:
        if col == IMAGE:
            cfg[col] = st.column_config.ImageColumn(IMAGE, width="small")
        elif str(col).endswith(IMAGE_COLUMN):
            cfg[col] = st.column_config.ImageColumn(f"🖼️ {str(col).removesuffix(IMAGE_COLUMN)}", width="small")
    return cfg


def image_table(frame: pd.DataFrame, **kw) -> None:
    """A Data-page frame with its thumbnails drawn."""
    st.dataframe(frame, column_config=image_columns(frame), row_height=ROW_PX, hide_index=True, width="stretch", **kw)


def rank_table(frame: pd.DataFrame, k: int) -> None:
    """The per-query table of an image dataset (``comparison_table(..., thumbs=THUMB_PX)``): per model a
    thumbnail column beside its '✅ file' / '❎ file' column, tinted as the text table."""
    st.dataframe(comparison_styler(frame), column_config=image_columns(frame), row_height=ROW_PX,
                 height=ROW_PX * (k + 2) + 40, width="stretch")


def show_query(ds, q) -> None:
    """The query above its rank table: its text, or its picture and file name; and what is relevant."""
    if ds.modality == "audio":
        from ui.audio import show_audio_query

        return show_audio_query(ds, q)
    relevant = ", ".join(md(_title(ds, d)) for d in ds.relevant(q.id))
    if not q.image:
        st.markdown(_("**{query}** · relevant: {relevant}").format(query=md(q.text), relevant=relevant))
        return
    c1, c2 = st.columns([1, 6])
    try:
        c1.image(thumbnail_bytes(q.image, QUERY_PX), width=QUERY_PX)
    except (DatasetError, OSError):
        c1.warning(_("image not found"), icon="🖼️")
    c2.markdown(_("**Image query** {file} · relevant: {relevant}").format(file=md(file_name(q.image)),
                                                                          relevant=relevant))


def text_only(ds, what: str) -> None:
    """On a page that needs text (RAG quality, Load test, Sweep): an image dataset gets a clear note and
    the page stops (``st.stop``), never a traceback."""
    if ds.modality in ("image", "audio", "video"):
        text = {"image": _("**{name}** is an image dataset: image datasets are evaluated on the **Retrieval** page "
                           "only ({why}). Load a text dataset on the Data page to use this page."),
                "audio": _("**{name}** is an audio dataset: audio datasets are evaluated on the **Retrieval** page "
                           "only ({why}). Load a text dataset on the Data page to use this page."),
                "video": _("**{name}** is a video dataset: video datasets are evaluated on the **Retrieval** page "
                           "only ({why}). Load a text dataset on the Data page to use this page.")}[ds.modality]
        st.info(text.format(name=md(ds.name), why=what), icon={"image": "🖼️", "audio": "🔊"}.get(ds.modality, "🎞️"))
        st.stop()
