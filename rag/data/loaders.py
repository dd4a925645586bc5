"""Every way a dataset enters the workbench; each returns a complete ``Dataset`` or raises.

- ``load_sample()``: the built-in programming-languages set (31 documents, 16 judged questions
  with reference answers), small enough to index in seconds and judge by eye.
- ``load_beir(folder)``: a BEIR folder (``corpus.jsonl``, ``queries.jsonl``, ``qrels/<split>.tsv``),
  or a .zip of one (path or upload).
- CSV / TSV / JSONL / Parquet tables with a column mapping: see ``rag.data.tables``.
- ``load_documents(files)``: .txt / .md / .pdf split into chunks, a corpus for Ragas-style runs.
- ``load_dataset(spec)``: what the CLI calls: "sample", "image-sample", a BEIR folder / zip, an
  image folder (``corpus/`` of image files; see ``rag.data.images``), or files separated by commas:
  ``corpus.xlsx,questions.csv`` (two tables) or ``guide.docx,page.html,questions.xlsx`` (documents,
  chunked, and one questions table); ``faq.xlsx#Sheet2`` reads that sheet (default: the first).

Errors are ``DatasetError`` naming file, line and field (``rag.data.validation``). Uploads are passed
as ``(filename, bytes)`` wherever a path is accepted, so Streamlit needs no temporary files.

Usage:
    ds = load_dataset("sample")                          # or load_dataset("../data/scifact")
    ds = load_dataset("docs.xlsx,faq.xlsx#Questions")    # a corpus table and a questions sheet
    ds = load_beir(("scifact.zip", uploaded.getvalue()))
    chunks = load_documents(["guide.md", ("manual.pdf", pdf_bytes)], chunk_size=800)
"""

from __future__ import annotations

from pathlib import Path

from rag.data.beir import BEIR_HINT, load_beir
from rag.data.dataset import Dataset, DatasetError
from rag.data.samples.text import TEXT_SAMPLES, load_sample
from rag.i18n import N_, _


def load_dataset(spec: str, split: str = "test") -> Dataset:
    """The CLI's dataset argument: "sample", "sample-zh", "image-sample", "audio-sample", "video-sample", a BEIR
    folder or .zip, or an image, audio or video folder (one with a ``corpus/`` directory: ``rag.data.images``,
    ``rag.data.audio``, ``rag.data.video``)."""
    from rag.data.audio import is_audio_folder, load_audio_folder  # media: kept within this function
    from rag.data.images import is_image_folder, load_image_folder
    from rag.data.samples.audio import load_audio_sample
    from rag.data.samples.images import load_image_sample
    from rag.data.samples.video import load_video_sample
    from rag.data.video import is_video_folder, load_video_folder

    if spec.strip().lower() in TEXT_SAMPLES:
        return load_sample(spec.strip().lower())
    if spec.strip().lower() == "image-sample":
        return load_image_sample()
    if spec.strip().lower() == "audio-sample":
        return load_audio_sample()
    if spec.strip().lower() == "video-sample":
        return load_video_sample()
    path = Path(spec).expanduser()
    if is_audio_folder(path):
        return load_audio_folder(path, split)
    if is_video_folder(path):
        return load_video_folder(path, split)
    if is_image_folder(path):
        return load_image_folder(path, split)
    if path.is_dir() or (path.is_file() and path.suffix.lower() == ".zip"):
        return load_beir(path, split)
    if "," in spec or path.is_file():
        return load_files(spec)
    raise DatasetError(_("no dataset {spec}: not 'sample' or 'image-sample' and no such folder").format(
                           spec=repr(spec)),
                       hint=_("pass 'sample', 'image-sample' or a path; {beir}; an image folder holds "
                              "corpus/ (image files), queries.jsonl and qrels/<split>.tsv").format(beir=_(BEIR_HINT)))


FILES_HINT = N_("give two tables, corpus then questions, such as docs.xlsx,faq.csv, or documents and a questions "
              "table, such as guide.docx,page.html,faq.xlsx; a sheet is named as faq.xlsx#Sheet2")


def load_files(spec: str) -> Dataset:
    """Files given by path, separated by commas: two tables (corpus, then questions) or documents (chunked
    as on the Data page, 800 characters, 100 overlap) and one questions table. Columns are guessed from
    their names (``rag.data.tables.default_mapping``); ``book.xlsx#Sheet`` picks a sheet. The dataset's
    source is the spec with absolute paths, so a run can be resumed from it."""
    from rag.data.documents import DOCUMENT_EXTENSIONS, load_documents_dataset
    from rag.data.tables import SHEET, TABLE_EXTENSIONS, load_table_dataset

    documents, tables, absolute = [], [], []
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        path, sheet = Path(part).expanduser(), None
        if not path.exists() and "#" in part:
            file, sheet = part.rsplit("#", 1)
            path = Path(file).expanduser()
        ext = path.suffix.lower()
        absolute.append(str(path.resolve()) + (f"#{sheet}" if sheet else ""))
        if ext in TABLE_EXTENSIONS:
            tables.append((path, {SHEET: sheet} if sheet else None))
        elif ext in DOCUMENT_EXTENSIONS:
            if sheet:
                raise DatasetError(_("'#{sheet}': only a workbook has sheets").format(sheet=sheet), file=path.name,
                                   hint=_(FILES_HINT))
            documents.append(path)
        else:
            raise DatasetError(_("not a table or a document ({ext})").format(ext=ext or _("no extension")),
                               file=path.name, hint=_("tables: {tables}; documents: {documents}").format(
                                   tables=", ".join(TABLE_EXTENSIONS), documents=", ".join(DOCUMENT_EXTENSIONS)))
    if documents and len(tables) == 1:
        questions, mapping = tables[0]
        ds = load_documents_dataset(documents, questions, questions_mapping=mapping, name=questions.stem)
    elif not documents and len(tables) == 2:
        (corpus, corpus_mapping), (questions, mapping) = tables
        ds = load_table_dataset(corpus, questions, corpus_mapping=corpus_mapping, questions_mapping=mapping)
    else:
        count = len(documents) + len(tables)
        message = _("a single file is not a dataset") if count == 1 else \
            _("{documents} documents and {tables} tables are not a dataset").format(documents=len(documents),
                                                                                      tables=len(tables))
        raise DatasetError(message, file=Path(spec.split(",")[0].strip()).name, hint=_(FILES_HINT))
    ds.source = ",".join(absolute)
    return ds
