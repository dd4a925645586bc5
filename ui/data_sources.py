"""The Data page's sources: the built-in samples (text and image), a BEIR folder, an image folder, tables
with a column mapping, documents.

Every source validates before anything is loaded; a ``DatasetError`` names the file, line and field (for a
workbook the sheet, row and column) and the current dataset stays loaded.

The uploaders take any file (no ``type=``): Streamlit refuses a file of another type in the browser with a
red chip that stays even after a valid file replaces it (its single-file uploader removes only the previous
*accepted* file), and the refusal never reaches Python. Here a wrong file is refused by the loader with one
line saying which types work, and the next upload replaces it.

Usage:
    source = st.radio("Source", SOURCES, horizontal=True)
    SOURCE_FORMS[source]()
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from rag.data.beir import load_beir
from rag.data.dataset import DatasetError
from rag.data.documents import DOCUMENT_EXTENSIONS, load_documents_dataset
from rag.data.office import WORKBOOK_EXTENSIONS, sheet_names
from rag.data.samples.text import load_sample
from rag.data.tables import SHEET, TABLE_EXTENSIONS, default_mapping, load_table_dataset, table_columns
from rag.i18n import N_, _
from ui.audio import audio_form
from ui.demo_panel import demo_panel
from ui.sign_in import refused
from ui.state import set_dataset
from ui.video import video_form

ROOT = Path(__file__).resolve().parent.parent
SCIFACT = (ROOT.parent / "shared" / "datasets" / "scifact").resolve()  # the BEIR folder field's default
TABLE_HELP = N_("One of {extensions}; a workbook's sheet is picked below.")
DOCUMENT_HELP = N_("Any of {extensions}.")
QUESTION_FIELDS = ["id", "text", "reference", "relevant"]


def load_folder(fn, folder: str, **kw) -> None:
    """``load`` for a folder typed into a field: on a shared app only under ``WORKBENCH_DATA_ROOTS``
    (``ui.sign_in.refused``), and so is an ``asr:`` model folder given with it."""
    if refused(folder) or (kw.get("asr") and refused(kw["asr"].removeprefix("asr:").strip())):
        return
    load(fn, folder, **kw)


def load(fn, *args, chunking: str = "", **kw) -> None:
    """Load with ``fn`` and make it the current dataset, or show why not and keep the current one."""
    try:
        ds = fn(*args, **kw)
    except (DatasetError, OSError) as e:  # OSError: the image sample cannot be written into the data folder
        st.error(_("Not loaded: {error}").format(error=e), icon="⚠️")
        return
    set_dataset(ds, chunking)
    st.success(_("Loaded **{name}**.").format(name=ds.name), icon="✅")


def mapping(upload, kind: str, fields: list[str]) -> dict:
    """Column pickers for one uploaded table, pre-filled with guessed names; for a workbook a sheet
    picker first (the first sheet unless another is picked), and the columns are that sheet's."""
    source = (upload.name, upload.getvalue())
    sheet = None
    try:
        if Path(upload.name).suffix.lower() in WORKBOOK_EXTENSIONS:
            sheets = sheet_names(*source)
            sheet = st.selectbox(_("{table} · sheet").format(table=_(kind)), sheets,
                                 key=f"map_{kind}_sheet_{upload.name}",
                                 help=_("{file} has {n} sheet(s); the first is read unless you pick another")
                                 .format(file=upload.name, n=len(sheets)))
        cols = table_columns(source, sheet=sheet)
    except DatasetError as e:
        st.error(str(e), icon="⚠️")
        return {SHEET: sheet} if sheet else {}
    guess = default_mapping(cols, kind)
    options = ["—"] + cols
    picks = st.columns(len(fields))
    out: dict = {SHEET: sheet} if sheet else {}
    for col, f in zip(picks, fields):
        g = guess.get(f)
        choice = col.selectbox(_("{table} · {field}").format(table=_(kind), field=f), options,
                               index=options.index(g) if g in options else 0,
                               key=f"map_{kind}_{f}" + (f"_{sheet}" if sheet else ""))  # a sheet's own columns
        out[f] = None if choice == "—" else choice
    return out


def sample_form() -> None:
    c1, c2, c3 = st.columns(3)
    if c1.button(_("Load the sample"), type="primary"):
        load(load_sample)
    if c2.button(_("Load the Chinese sample"), help=_("sample-zh: 22 Chinese paragraphs, 18 judged questions with "
                                                      "reference answers (中文示例)")):
        load(load_sample, "sample-zh")
    if c3.button(_("Load the image sample"), help=_("30 drawn images (shapes and digits), 10 text and 5 image "
                                                    "queries: evaluated on the Retrieval page with clip:/img: "
                                                    "models")):
        from rag.data.samples.images import load_image_sample

        load(load_image_sample)
    if c3.button(_("Load the audio sample"), help=_("20 synthesised sounds (tones, chirps, noise, clicks, chords), "
                                                    "10 text and 5 audio queries: evaluated on the Retrieval page "
                                                    "with clap:/aud: models")):
        from rag.data.samples.audio import load_audio_sample

        load(load_audio_sample)
    if c3.button(_("Load the video sample"), help=_("6 short videos of coloured-shape scenes, 6 text and 2 image "
                                                    "queries: evaluated on the Retrieval page with clip:/img: models "
                                                    "on frames")):
        from rag.data.samples.video import load_video_sample

        load(load_video_sample)
    demo_panel()


def beir_form() -> None:
    from rag.data.audio import is_audio_folder, load_audio_folder
    from rag.data.images import is_image_folder, load_image_folder
    from rag.data.video import is_video_folder, load_video_folder

    folder = st.text_input(_("BEIR folder (corpus.jsonl, queries.jsonl, qrels/<split>.tsv)"), value=str(SCIFACT),
                           key="beir_folder")
    split = st.text_input(_("qrels split"), value="test", key="beir_split")
    if st.button(_("Load folder"), type="primary") and not refused(folder):  # refused before any look inside it
        # a folder with corpus/ is an image, audio or video folder: load it as one
        fn = (load_audio_folder if is_audio_folder(folder) else load_video_folder if is_video_folder(folder)
              else load_image_folder if is_image_folder(folder) else load_beir)
        load_folder(fn, folder, split=split)


def image_form() -> None:
    from rag.data.images import load_image_folder

    folder = st.text_input(  # i18n: internal (placeholders: a path / spec as typed)
        _("Image folder (corpus/ of .png, .jpg or .webp files, queries.jsonl, qrels/<split>.tsv; "
          "captions.jsonl optional)"), placeholder="/path/to/my-images", key="image_folder")
    split = st.text_input(_("qrels split"), value="test", key="image_split")
    st.caption(_('queries.jsonl holds text queries ({{"_id": "t1", "text": "a red circle"}}) and image queries '
                 '({{"_id": "i1", "image": "queries/i1.png"}}); an image\'s id is its file name without the '
                 'extension.').format())
    if st.button(_("Load image folder"), type="primary", disabled=not folder.strip()):
        load_folder(load_image_folder, folder.strip(), split=split)


def tables_form() -> None:
    c1, c2 = st.columns(2)
    table_help = _(TABLE_HELP).format(extensions=", ".join(TABLE_EXTENSIONS))
    corpus = c1.file_uploader(_("Corpus table"), help=table_help, key="corpus_table")  # no type=: see the docstring
    questions = c2.file_uploader(_("Questions table"), help=table_help, key="questions_table")
    cmap = mapping(corpus, "corpus", ["id", "title", "text"]) if corpus else {}
    qmap = mapping(questions, "questions", QUESTION_FIELDS) if questions else {}
    name = st.text_input(_("Dataset name"), value="my-data", key="tables_name")
    if st.button(_("Load tables"), type="primary", disabled=not (corpus and questions)):
        load(load_table_dataset, (corpus.name, corpus.getvalue()), (questions.name, questions.getvalue()),
             corpus_mapping=cmap, questions_mapping=qmap, name=name)


def documents_form() -> None:
    files = st.file_uploader(_("Documents"), accept_multiple_files=True, key="documents_files",
                             help=_(DOCUMENT_HELP).format(extensions=", ".join(DOCUMENT_EXTENSIONS)))
    c1, c2 = st.columns(2)
    size = c1.number_input(_("Chunk size (characters)"), 100, 8000, 800, step=100, key="chunk_size")
    overlap = c2.number_input(_("Chunk overlap"), 0, 2000, 100, step=50, key="chunk_overlap")
    questions = st.file_uploader(_("Questions table (optional; its 'relevant' column names chunk ids like "
                                   "file.md#1, counted from 1 per file, for the chunk size and overlap above; a "
                                   "'chunking' column such as 800/100 says which)"), key="documents_questions",
                                 help=_(TABLE_HELP).format(extensions=", ".join(TABLE_EXTENSIONS)))
    qmap = mapping(questions, "questions", QUESTION_FIELDS) if questions else {}
    name = st.text_input(_("Dataset name"), value="my-docs", key="documents_name")
    if st.button(_("Split and load"), type="primary", disabled=not files):
        load(load_documents_dataset, [(f.name, f.getvalue()) for f in files],
             (questions.name, questions.getvalue()) if questions else None, questions_mapping=qmap, name=name,
             chunk_size=int(size), chunk_overlap=int(overlap), chunking=f"c{size}o{overlap}")


SOURCE_FORMS = {  # the radio's options, in order: a new source is one entry (shown with _(), the value stays)
    N_("Built-in sample"): sample_form,
    N_("BEIR folder"): beir_form,
    N_("Image folder"): image_form,
    N_("Audio folder"): lambda: audio_form(load_folder),
    N_("Video folder"): lambda: video_form(load_folder),
    N_("Tables (CSV / Excel / JSONL / Parquet)"): tables_form,
    N_("Documents (.txt, .md, .pdf, .docx, .html)"): documents_form,
}
TABLE_KINDS = (N_("corpus"), N_("questions"))  # the mapping pickers' "corpus · id" labels
SOURCES = list(SOURCE_FORMS)
