"""Streaming, bounded, resumable indexing against the real Milvus Lite server and the real MiniLM model.

A build embeds and inserts ``CHUNK_DOCS`` documents at a time, marks its collection complete only
after the flush, and a build killed with SIGKILL mid-way is never searched and is resumed from the
embedding cache (nothing embedded twice)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import rag.milvus.store as store_mod
from rag.data.dataset import Document
from rag.milvus.index_config import IndexConfig, build_inputs, collection_name
from rag.milvus.store import COMPLETE_PROPERTY, IncompleteCollection
from rag.models.registry import resolve

ROOT = Path(__file__).resolve().parents[2]


def killable(tag: str):
    """The sample corpus with texts no other test embeds (the cache is shared by the session)."""
    from rag.data.samples.text import load_sample
    from rag.data.validation import build_dataset

    s = load_sample()
    docs = [Document(d.id, d.title, f"{d.text} [{tag}]") for d in s.documents]
    return build_dataset(f"stream-{tag}", docs, s.queries, s.qrels)


@pytest.fixture
def store(retriever):
    yield retriever.store
    for c in retriever.store.collections():
        if c["dataset"].startswith("stream-"):
            retriever.store.drop(c["name"])


def test_build_streams_in_bounded_chunks_and_marks_complete_last(store, monkeypatch):
    from rag.models import text as encoders

    monkeypatch.setattr(store_mod, "CHUNK_DOCS", 8)
    ds, spec = killable("chunks"), resolve("minilm")
    enc = spec.encoder()
    sizes, calls = [], []
    real = enc.embed
    monkeypatch.setattr(enc, "embed", lambda texts, **kw: sizes.append(len(texts)) or real(texts, **kw))

    def progress(stage, done, total):
        calls.append((stage, done, total))
        name = collection_name(build_inputs(ds, spec, IndexConfig()))
        if store.client.has_collection(name):  # during the build: present but never complete
            assert store._properties(name)[COMPLETE_PROPERTY] == "false"
            assert not store.is_complete(name)
        else:
            assert (encoders.minilm_path(), "cpu") in encoders._st_models  # the clock starts after the load

    built = store.ensure_collection(ds, spec, progress=progress)
    assert sizes == [8, 8, 8, 7]  # never the whole corpus at once
    assert calls == [("embed", 0, 31), ("embed", 8, 31), ("insert", 8, 31), ("embed", 16, 31), ("insert", 16, 31),
                     ("embed", 24, 31), ("insert", 24, 31), ("embed", 31, 31), ("insert", 31, 31)]
    assert (built.reused, built.n_docs, built.cache_hits) == (False, 31, 0)
    assert store._properties(built.name)[COMPLETE_PROPERTY] == "true"
    assert store.row_count(built.name) == 31 and store.is_complete(built.name)
    again = store.ensure_collection(ds, spec)
    assert (again.name, again.reused) == (built.name, True)


def test_bm25_build_streams_without_an_encoder(store, monkeypatch):
    monkeypatch.setattr(store_mod, "CHUNK_DOCS", 10)
    calls = []
    built = store.ensure_collection(killable("bm25"), resolve("bm25"), progress=lambda *a: calls.append(a))
    assert calls == [("insert", 0, 31), ("insert", 10, 31), ("insert", 20, 31), ("insert", 30, 31),
                     ("insert", 31, 31)]
    assert store.row_count(built.name) == 31 and store.is_complete(built.name)


KILLED_BUILD = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {root!r})
    import rag.milvus.store as store_mod
    from rag.retrieval import Retriever
    from tests.milvus.test_streaming_index import killable

    store_mod.CHUNK_DOCS = 8

    def hook(done):
        if done == 16:
            print("inserted 16", flush=True)
            time.sleep(600)  # killed here, mid-build

    store_mod._after_chunk = hook
    Retriever().index(killable("kill9"), ["minilm"])
""")


def test_a_build_killed_mid_way_is_never_searched_and_resumes_from_the_cache(store, retriever):
    ds, spec = killable("kill9"), resolve("minilm")
    name = collection_name(build_inputs(ds, spec, IndexConfig()))
    cache = spec.encoder().cache
    cached_before = cache.count(spec.cache_key)
    child = subprocess.Popen([sys.executable, "-c", KILLED_BUILD.format(root=str(ROOT))], stdout=subprocess.PIPE,
                             text=True, env=dict(os.environ), cwd=ROOT)
    try:
        assert child.stdout.readline().strip() == "inserted 16"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(30)
    assert child.returncode == -signal.SIGKILL

    # what the killed build left: 16 rows, the mark still "false", 16 vectors in the cache
    assert store.client.has_collection(name)
    assert store._properties(name)[COMPLETE_PROPERTY] == "false"
    assert store.row_count(name) == 16
    assert cache.count(spec.cache_key) == cached_before + 16
    assert not store.is_complete(name)
    assert next(c for c in store.collections() if c["name"] == name)["complete"] is False
    assert store.builds(ds, "minilm") == []  # the load-test service never picks it
    with pytest.raises(IncompleteCollection) as e:
        store.search(name, spec, ["hello"], k=3)
    assert str(e.value) == (f"collection {name} is not completely built (its build was interrupted or is still "
                            "running); build it again (Index page, or any cli.py run that uses it): the embedding "
                            "cache keeps what was embedded")

    # a new build resumes: the 16 embedded documents come from the cache, only 15 are embedded
    built = retriever.index(ds, ["minilm"])["minilm"]
    assert (built.name, built.reused, built.n_docs, built.cache_hits) == (name, False, 31, 16)
    assert cache.count(spec.cache_key) == cached_before + 31
    assert store.row_count(name) == 31 and store.is_complete(name)
    doc = ds.documents[20]
    assert store.search(name, spec, [doc.full_text], k=1)[0][0][0] == doc.id


def test_a_collection_without_the_mark_is_rebuilt_not_reused(store, monkeypatch):
    ds, spec = killable("unmarked"), resolve("bm25")
    built = store.ensure_collection(ds, spec)
    store.client.alter_collection_properties(built.name, properties={COMPLETE_PROPERTY: "false"})
    store._complete.discard(built.name)
    with pytest.raises(IncompleteCollection):
        store.search(built.name, spec, ["garbage"], k=1)
    again = store.ensure_collection(ds, spec)
    assert (again.name, again.reused) == (built.name, False)
    assert store.is_complete(built.name)
