"""Every way a dataset enters the workbench; each returns a complete ``Dataset`` or raises.

- ``load_sample()``: the built-in programming-languages set (31 documents, 16 judged questions
  with reference answers), small enough to index in seconds and judge by eye.
- ``load_beir(folder)``: a BEIR folder (``corpus.jsonl``, ``queries.jsonl``, ``qrels/<split>.tsv``),
  or a .zip of one (path or upload).
- CSV / TSV / JSONL / Parquet tables with a column mapping: see ``rag.data.tables``.
- ``load_documents(files)``: .txt / .md / .pdf split into chunks, a corpus for Ragas-style runs.
- ``load_dataset(spec)``: what the CLI calls: "sample", "image-sample", a BEIR folder / zip, or an
  image folder (``corpus/`` of image files; see ``rag.data.images``).

Errors are ``DatasetError`` naming file, line and field (``rag.data.validation``). Uploads are passed
as ``(filename, bytes)`` wherever a path is accepted, so Streamlit needs no temporary files.

Usage:
    ds = load_dataset("sample")                          # or load_dataset("../data/scifact")
    ds = load_beir(("scifact.zip", uploaded.getvalue()))
    chunks = load_documents(["guide.md", ("manual.pdf", pdf_bytes)], chunk_size=800)
"""

from __future__ import annotations

from pathlib import Path

from rag.data.beir import BEIR_HINT, load_beir
from rag.data.dataset import Dataset, DatasetError
from rag.data.samples.text import TEXT_SAMPLES, load_sample


def load_dataset(spec: str, split: str = "test") -> Dataset:
    """The CLI's dataset argument: "sample", "sample-zh", "image-sample", a BEIR folder or .zip, or an image folder
    (one with a ``corpus/`` directory: ``rag.data.images``)."""
    from rag.data.images import is_image_folder, load_image_folder  # images: kept within this function
    from rag.data.samples.images import load_image_sample

    if spec.strip().lower() in TEXT_SAMPLES:
        return load_sample(spec.strip().lower())
    if spec.strip().lower() == "image-sample":
        return load_image_sample()
    path = Path(spec).expanduser()
    if is_image_folder(path):
        return load_image_folder(path, split)
    if path.is_dir() or (path.is_file() and path.suffix.lower() == ".zip"):
        return load_beir(path, split)
    if path.is_file():
        raise DatasetError("a single file is not a dataset", file=path.name,
                           hint="tables need a column mapping: use load_table_dataset(corpus, "
                                "questions), or pass 'sample', 'image-sample' or a folder")
    raise DatasetError(f"no dataset {spec!r}: not 'sample' or 'image-sample' and no such folder",
                       hint=f"pass 'sample', 'image-sample' or a path; {BEIR_HINT}; an image folder holds "
                            f"corpus/ (image files), queries.jsonl and qrels/<split>.tsv")


