"""The built-in sample: 31 programming languages, 16 judged questions with reference answers.

Written for this project (original text, not copied from anywhere) so the workbench runs offline
and in seconds, with judgments a person can check by reading 31 short paragraphs. It is stored in
BEIR shape (``languages/corpus.jsonl``, ``queries.jsonl``, ``qrels/test.tsv``) and loaded by the
BEIR loader, so the sample also exercises that path. Grades: 2 = the best answers, 1 = relevant.
Questions q1 ("auto garbage collection") and q2 ("suite for web backend server development") keep
the judgments of the article this workbench reproduces, exactly, although other languages in the
corpus would also fit them; the other questions were judged against the paragraphs.

Usage:
    from rag.data.samples.text import load_sample
    ds = load_sample()
    ds.relevant("q1")  # {'java': 1, 'python': 1, 'javascript': 1, 'golang': 1}
"""

from __future__ import annotations

from pathlib import Path

from rag.data.dataset import Dataset

SAMPLE_DIR = Path(__file__).resolve().parent / "languages"


def load_sample() -> Dataset:
    """The sample as a Dataset named "sample" with source "sample"."""
    from rag.data.beir import load_beir  # here, not at the top: rag.data.loaders imports this module

    ds = load_beir(SAMPLE_DIR, name="sample")
    ds.source = "sample"
    return ds
