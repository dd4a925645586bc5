"""Audio datasets on the pages: players instead of thumbnails. An audio query is shown with its player;
under the per-query rank table, each model's top results with ✅/❎ and a player beside each
(``st.audio``), so a user can listen to what each model found. A file gone since the dataset was
loaded says so, never a traceback.

Frames are built by pure functions (tested without Streamlit).

Usage:
    show_audio_query(ds, query)                 # its text, or its player and file name
    result_players(ds, result, qid)             # per model: rank, ✅/❎ file name, player
    audio_form(load)                            # the Data page's "Audio folder" source
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd
import streamlit as st

from evaluators.retrieval.evaluate import NOT_RELEVANT, RELEVANT
from rag.i18n import _

PLAYERS_SHOWN = 5  # players per model under the rank table (each is a media element: keep the page light)


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!<>|~$])")


def _md(text: str) -> str:
    """``text`` with Markdown's special characters escaped (file names are user text)."""
    return _MD_SPECIAL.sub(r"\\\1", str(text))


def audio_query_label(q) -> str:
    """A query in a picker: its text, or 🔊 and its file's name."""
    return q.text if q.text else "🔊 " + _("{file} (audio)").format(file=Path(q.audio).name)


def player_rows(ds, result, qid: str, n: int = PLAYERS_SHOWN) -> dict[str, list[dict]]:
    """Per model its first ``n`` results: rank, mark, file name and path (the data behind the players)."""
    rel = ds.relevant(qid)
    out = {}
    for m in result.models:
        hits = result.rankings[m].get(qid, [])[:n]
        out[m] = [{"rank": i, "mark": RELEVANT if d in rel else NOT_RELEVANT, "file": ds.doc(d).title or d,
                   "path": ds.doc(d).audio} for i, (d, _score) in enumerate(hits, 1)]
    return out


def segment_players(ds, result, qid: str, n: int = PLAYERS_SHOWN) -> None:
    """A transcribed dataset (``asr:``): per model its first results as ✅/❎ file and time range, each with
    a player from the segment's start to its end (``st.audio(start_time, end_time)``, whole seconds around it)."""
    from rag.models.asr import segment_media

    rel = ds.relevant(qid)
    cols = st.columns(max(1, len(result.models)))
    for col, m in zip(cols, result.models):
        col.markdown(f"**{_md(m)}**")
        for i, (d, _score) in enumerate(result.rankings[m].get(qid, [])[:n], 1):
            col.markdown(f"{i}. {RELEVANT if d in rel else NOT_RELEVANT} {_md(ds.doc(d).title or d)}")
            media = segment_media(ds, d)
            if media and Path(media[0]).is_file():
                start = math.floor(media[1])  # the player takes whole seconds: the segment is inside
                col.audio(media[0], start_time=start, end_time=max(math.ceil(media[2]), start + 1))
            else:
                col.caption("🔇 " + _("file not found"))


def audio_documents_frame(ds, rows: int) -> pd.DataFrame:
    """The first ``rows`` sounds: id, file name, caption."""
    docs = ds.documents[:rows]
    return pd.DataFrame({"id": [d.id for d in docs], "file": [d.title for d in docs],
                         "caption": [d.text or "—" for d in docs]})


def audio_questions_frame(ds, rows: int) -> pd.DataFrame:
    """The first ``rows`` questions: id, kind, the text (or the sound's file name), relevant."""
    qs = ds.queries[:rows]
    return pd.DataFrame({"id": [q.id for q in qs], "kind": [q.kind for q in qs],
                         "question": [q.text or Path(q.audio).name for q in qs],
                         "relevant": [", ".join(ds.relevant(q.id)) or "—" for q in qs]})


def _play(container, path: str) -> None:
    if path and Path(path).is_file():
        container.audio(path)
    else:
        container.caption("🔇 " + _("file not found"))


def show_audio_query(ds, q) -> None:
    """The query above its rank table: its text, or its player and file name; and what is relevant."""
    relevant = ", ".join(_md(ds.doc(d).title or d) for d in ds.relevant(q.id) if d in {x.id for x in ds.documents})
    if not q.audio:
        st.markdown(_("**{query}** · relevant: {relevant}").format(query=_md(q.text), relevant=relevant))
        return
    st.markdown(_("**Audio query** {file} · relevant: {relevant}").format(file=_md(Path(q.audio).name),
                                                                          relevant=relevant))
    _play(st, q.audio)


def result_players(ds, result, qid: str) -> None:
    """Per model a column: each of its first results as ✅/❎ file name with a player beside it."""
    rows = player_rows(ds, result, qid)
    cols = st.columns(max(1, len(rows)))
    for col, (model, hits) in zip(cols, rows.items()):
        col.markdown(f"**{_md(model)}**")
        for h in hits:
            col.markdown(f"{h['rank']}. {h['mark']} {_md(h['file'])}")
            _play(col, h["path"])


def audio_form(load) -> None:
    """The Data page's audio folder source (``load``: the Data page's load-and-report)."""
    from rag.data.audio import load_audio_folder

    folder = st.text_input(  # i18n: internal (placeholders: a path / spec as typed)
        _("Audio folder (corpus/ of .wav/.flac/.ogg/.mp3/.m4a, queries.jsonl, qrels/test.tsv; "
          "captions.jsonl and transcripts.jsonl optional)"), placeholder="/path/to/my-sounds", key="audio_folder")
    split = st.text_input(_("qrels split"), value="test", key="audio_split")
    st.caption(_('queries.jsonl holds text queries ({"_id": "t1", "text": "a dog barking"}) and audio queries '
                 '({"_id": "a1", "audio": "queries/a1.wav"}); a sound\'s id is its file name without the '
                 'extension.'))
    asr = st.text_input(  # i18n: internal (placeholders: a path / spec as typed)
        _("Speech to text (optional): asr:FOLDER, a Whisper folder"), key="audio_asr",
        placeholder="asr:/models/whisper-small",
        help=_("transcribes every sound into timed text segments (ids file.wav@12.0-15.5) and "
               "loads those as a text dataset: every text model and BM25 then apply"))
    if st.button(_("Load audio folder"), type="primary", disabled=not folder.strip(), key="audio_load"):
        if asr.strip():
            load(transcribed, folder.strip(), split=split, asr=asr.strip())
        else:
            load(load_audio_folder, folder.strip(), split=split)


def transcribed(folder: str, split: str, asr: str, medium: str = "audio"):
    """The audio (or video: ``medium``) folder's speech as a text dataset (``rag.models.asr``), with a progress
    bar and the transcription's line (segments, cache hits, WER), remembered for the run that uses the text; a
    refusal becomes the Data page's one-line error."""
    from rag.data.audio import load_audio_folder
    from rag.data.dataset import DatasetError
    from rag.data.video import load_video_folder
    from rag.models.asr import transcribe
    from rag.models.base import ModelUnavailable

    ds = (load_video_folder if medium == "video" else load_audio_folder)(folder, split)
    starting, going = ((_("Transcribing {n} videos with {model}"), _("Transcribed {done}/{total} videos"))
                       if medium == "video" else
                       (_("Transcribing {n} sounds with {model}"), _("Transcribed {done}/{total} sounds")))
    bar = st.progress(0.0, text=starting.format(n=len(ds.documents), model=asr))
    try:
        text_ds, report = transcribe(ds, asr, progress=lambda done, total: bar.progress(
            done / total, text=going.format(done=done, total=total)))
    except (ModelUnavailable, ValueError) as e:
        raise DatasetError(str(e)) from None
    finally:
        bar.empty()
    st.info(report.line(), icon="🗣️")
    from evaluators.retrieval.asr_record import asr_run_record
    from ui.state import remember_asr

    remember_asr(text_ds, asr_run_record(report, asr))  # the Retrieval page's run records which model made the text
    return text_ds
