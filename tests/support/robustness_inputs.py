"""Inputs and fixtures shared by the robustness catalogue (tests/test_robustness*.py).

The ``unchanged`` fixture they use (nothing written, nothing lost) is in tests/conftest.py.
"""

from __future__ import annotations

import io
import zipfile

CORPUS = b"id,title,text\njava,Java,Java has a garbage collector.\npython,Python,Python counts references.\n"
QUESTIONS = b"id,question,relevant\nq1,auto garbage collection,java;python\n"
KNOWN_MODELS = ("minilm, bm25, hybrid, openai-3-small, openai-3-large; or hf:ORG/NAME[@REVISION], "
                "ms:ORG/NAME[@REVISION], st:FOLDER, "
                "oai:MODEL@BASE_URL, PROVIDER:MODEL[:DIMS] (cohere, voyage, jina, gemini, dashscope, zhipu, "
                "siliconflow), openai-3-small:DIMS, clip:FOLDER (CLIP/SigLIP: text and image queries on images), "
                "img:FOLDER (image backbone: image queries), clap:FOLDER (CLAP: text and audio queries on sounds), "
                "aud:FOLDER (audio backbone: audio queries)")
NO_SUCH_FOLDER = ("error: no dataset '/no/such/folder': not 'sample' or 'image-sample' and no such folder (pass "
                  "'sample', 'image-sample' or a path; a BEIR folder holds corpus.jsonl, queries.jsonl and "
                  "qrels/<split>.tsv; an image folder holds corpus/ (image files), queries.jsonl and "
                  "qrels/<split>.tsv)")


def tables(corpus: bytes = CORPUS, questions: bytes = QUESTIONS, corpus_name: str = "corpus.csv", **kw):
    """What the Data page does with two uploaded tables."""
    from rag.data.tables import load_table_dataset

    return lambda: load_table_dataset((corpus_name, corpus), ("questions.csv", questions), **kw)


def beir_zip(corpus: str | bytes, queries: str, qrels: str):
    """What the Data page does with an uploaded BEIR .zip."""
    from rag.data.beir import load_beir

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("set/corpus.jsonl", corpus)
        z.writestr("set/queries.jsonl", queries)
        z.writestr("set/qrels/test.tsv", qrels)
    return lambda: load_beir(("set.zip", buf.getvalue()))


CORPUS_JSONL = '{"_id": "java", "title": "Java", "text": "garbage collector"}\n' \
               '{"_id": "c", "title": "C", "text": "manual memory"}\n'
QUERIES_JSONL = '{"_id": "q1", "text": "auto garbage collection"}\n'
QRELS_HEADER = "query-id\tcorpus-id\tscore\n"


def documents(*files):
    from rag.data.documents import load_documents_dataset

    return lambda: load_documents_dataset(list(files), name="docs")


