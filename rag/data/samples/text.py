"""The built-in text samples: programming languages in English, and a Chinese sample.

``sample``: 31 programming languages, 16 judged questions with reference answers. Written for this
project (original text, not copied from anywhere) so the workbench runs offline and in seconds, with
judgments a person can check by reading 31 short paragraphs. Questions q1 ("auto garbage collection")
and q2 ("suite for web backend server development") keep the judgments of the article this workbench
reproduces, exactly, although other languages in the corpus would also fit them; the other questions
were judged against the paragraphs.

``sample-zh``: 22 short Chinese paragraphs (animals, tea, festivals, the four great inventions,
cities, rivers, railways), 18 judged questions with reference answers, also written for this project.
The questions paraphrase the paragraphs (熊猫 for 大熊猫, 多少度的水 for 水温), so BM25 finds them only
when its analyzer segments Chinese words, and a model that does not read Chinese shows it.

Both are stored in BEIR shape (``<folder>/corpus.jsonl``, ``queries.jsonl``, ``qrels/test.tsv``) and
loaded by the BEIR loader, so the samples also exercise that path. Grades: 2 = the best answers,
1 = relevant. A new sample is one entry in ``TEXT_SAMPLES``.

Usage:
    from rag.data.samples.text import load_sample
    ds = load_sample()
    ds.relevant("q1")  # {'java': 1, 'python': 1, 'javascript': 1, 'golang': 1}
    load_sample("sample-zh").relevant("q1")  # {'panda': 2, 'bamboo': 1}
"""

from __future__ import annotations

from pathlib import Path

from rag.data.dataset import Dataset
from rag.i18n import _

HERE = Path(__file__).resolve().parent
SAMPLE_DIR = HERE / "languages"
# name -> (folder, one line for the Data page)
TEXT_SAMPLES: dict[str, tuple[Path, str]] = {
    "sample": (SAMPLE_DIR, "31 programming languages, 16 questions (English)"),
    "sample-zh": (HERE / "chinese", "22 paragraphs on China, 18 questions (Chinese, 中文)"),
}


def load_sample(name: str = "sample") -> Dataset:
    """A built-in sample as a Dataset named and sourced ``name`` ("sample", "sample-zh")."""
    from rag.data.beir import load_beir  # here, not at the top: rag.data.loaders imports this module

    if name not in TEXT_SAMPLES:
        raise ValueError(_("no built-in sample {name}; choose from {samples}").format(
            name=repr(name), samples=", ".join(TEXT_SAMPLES)))
    ds = load_beir(TEXT_SAMPLES[name][0], name=name)
    ds.source = name
    return ds
