"""Video datasets on the pages: under the per-query rank table (best-frame thumbnails), each model's top
results with ✅/❎, the file and its best frame's second, and a player from that second (``st.video``), so
a user can watch what each model matched. The Data page's "Video folder" source loads a folder as frames
(for ``clip:`` / ``img:`` models) or, with ``asr:FOLDER``, as the timed text of its speech.

Frames are built by pure functions (tested without Streamlit).

Usage:
    video_player_rows(ds, result, qid)      # per model: rank, mark, file, best frame second, path
    video_players(ds, result, qid)          # the players
    video_form(load)                        # the Data page's "Video folder" source
"""

from __future__ import annotations

import math
from pathlib import Path

import streamlit as st

from evaluators.retrieval.evaluate import NOT_RELEVANT, RELEVANT
from rag.i18n import _
from ui.audio import transcribed

PLAYERS_SHOWN = 3  # players per model (each is a media element: keep the page light)


def video_player_rows(ds, result, qid: str, n: int = PLAYERS_SHOWN) -> dict[str, list[dict]]:
    """Per model its first ``n`` results: rank, mark, file name, best frame's second and path."""
    rel = ds.relevant(qid)
    return {m: [{"rank": i, "mark": RELEVANT if d in rel else NOT_RELEVANT, "file": ds.doc(d).title or d,
                 "seconds": result.frame_time(m, qid, d), "path": ds.doc(d).video}
                for i, (d, _) in enumerate(result.rankings[m].get(qid, [])[:n], 1)]
            for m in result.models}


def video_players(ds, result, qid: str) -> None:
    """Per model a column: each of its first results as ✅/❎ file @ second, with a player from that second."""
    rows = video_player_rows(ds, result, qid)
    cols = st.columns(max(1, len(rows)))
    for col, (model, hits) in zip(cols, rows.items()):
        col.markdown(f"**{model}**")
        for h in hits:
            at = f" @ {h['seconds']:.1f} s" if h["seconds"] is not None else ""
            col.markdown(f"{h['rank']}. {h['mark']} {h['file']}{at}")
            if h["path"] and Path(h["path"]).is_file():
                col.video(h["path"], start_time=math.floor(h["seconds"] or 0))
            else:
                col.caption(_("🎞️ file not found"))


def video_form(load) -> None:
    """The Data page's video folder source (``load``: the Data page's load-and-report)."""
    from rag.data.video import load_video_folder

    folder = st.text_input(  # i18n: internal (placeholders: a path / spec as typed)
        _("Video folder (corpus/ of .mp4/.webm/.mkv, queries.jsonl, qrels/test.tsv; "
          "captions.jsonl and transcripts.jsonl optional)"), placeholder="/path/to/my-videos", key="video_folder")
    split = st.text_input(_("qrels split"), value="test", key="video_split")
    st.caption(_('queries.jsonl holds text queries ({text_example}) and image queries ({image_example}); a video\'s '
                 'id is its file name without the extension. clip:/img: models search its frames (SPEC#fps=0.5 sets '
                 'the rate; default 1 a second).').format(text_example='{"_id": "t1", "text": "a red car"}',
                                                          image_example='{"_id": "i1", "image": "queries/car.png"}'))
    asr = st.text_input(  # i18n: internal (placeholders: a path / spec as typed)
        _("Speech to text (optional): asr:FOLDER, a Whisper folder"), key="video_asr",
        placeholder="asr:/models/whisper-small",
        help=_("transcribes every video's audio track into timed text segments (ids "
               "clip.mp4@12.0-15.5) and loads those as a text dataset"))
    if st.button(_("Load video folder"), type="primary", disabled=not folder.strip()):
        if asr.strip():
            load(transcribed, folder.strip(), split=split, asr=asr.strip(), medium="video")
        else:
            load(load_video_folder, folder.strip(), split=split)
