"""The built-in audio sample: deterministic bytes, graded judgments, audio queries whose own sound is
nearest even by a plain spectrum comparison (an independent check that the sample is sound)."""

from __future__ import annotations

import hashlib

import numpy as np

from rag.data.audio import load_audio
from rag.data.samples import audio as sample


def test_bytes_are_the_same_on_every_build():
    first = {k: hashlib.sha256(v).hexdigest() for k, v in sample.sample_files().items()}
    sample._files.cache_clear()
    assert {k: hashlib.sha256(v).hexdigest() for k, v in sample.sample_files().items()} == first
    assert len([k for k in first if k.startswith("corpus/")]) == 20
    assert sorted(k for k in first if k.startswith("queries/")) == [
        "queries/a3-noise-low.wav", "queries/a4-clicks-8.wav", "queries/a5-chord-c-major.wav"]


def test_the_sample_loads_with_graded_judgments(data_dir):
    ds = sample.load_audio_sample()
    assert ds.name == ds.source == "audio-sample" and ds.modality == "audio"
    assert len(ds.documents) == 20 and ds.query_kinds() == {"text": 10, "audio": 5}
    assert ds.relevant("t3") == {"chirp-up-1": 2, "chirp-up-2": 2, "chirp-down-1": 1, "chirp-down-2": 1}
    assert ds.relevant("t6") == {"noise-low": 2}
    assert ds.relevant("a5") == {"chord-c-major": 2, "chord-a-minor": 1, "chord-g-major": 1, "chord-power": 1}
    assert ds.doc("tone-440").text == "a pure tone at 440 Hz"
    by_sha = {d.audio_sha: d.id for d in ds.documents}
    assert {q.id: by_sha[q.audio_sha] for q in ds.queries if q.audio_sha in by_sha} == {
        "a1": "tone-440", "a2": "chirp-up-1"}
    # written once: a second load reuses the folder, a damaged file is rewritten
    folder = sample.audio_sample_dir()
    (folder / "corpus" / "tone-440.wav").write_bytes(b"damaged")
    assert sample.load_audio_sample().content_hash() == ds.content_hash()


def test_each_audio_query_is_nearest_its_own_sound_by_spectrum(data_dir):
    ds = sample.load_audio_sample()

    def spectrum(path: str) -> np.ndarray:
        x = load_audio(path, 16_000)[:12_800]
        s = np.abs(np.fft.rfft(x, 16_000))
        s = np.add.reduceat(s, np.arange(0, len(s), 50))  # 50-bin bands: the shape of the sound
        return s / np.linalg.norm(s)

    docs = {d.id: spectrum(d.audio) for d in ds.documents}
    for q in ds.select_queries("audio").queries:
        v = spectrum(q.audio)
        nearest = max(docs, key=lambda d: float(docs[d] @ v))
        assert nearest == sample.AUDIO_QUERY_SOURCES[q.id], (q.id, nearest)
