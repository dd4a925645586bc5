"""The built-in audio sample: 20 synthesised sounds in 5 classes, 10 text and 5 audio queries.

Generated here, deterministically, so the workbench can evaluate audio retrieval offline and in
seconds, with judgments anyone can check by listening: one-second 16 kHz mono clips of pure tones
(220, 440, 880, 1760 Hz), chirps (two rising, two falling sweeps), noise (white, low rumble, a
1-2 kHz band, high hiss), click trains (4, 8 and 16 clicks a second, and an irregular one) and chords
(C major, A minor, G major, a power chord). Each has a caption ("a pure tone at 440 Hz").

Text queries (``t1``..``t10``) are graded: 2 for what the words name exactly ("a rising chirp": the
rising sweeps), 1 for the same class (the falling sweeps). Audio queries (``a1``..``a5``) judge
their own sound 2 and the rest of its class 1: ``a1`` and ``a2`` are corpus files themselves,
``a3``..``a5`` are variations stored under ``queries/`` (other noise of the same band, clicks
shifted by 30 ms, a chord played softer and shorter).

Samples are computed in float64 with numpy and quantised to 16-bit PCM; the noise comes from an
integer xorshift generator (no library RNG) and the WAV header is written here, so the bytes (and the
sha256s that key the embedding cache) are the same on every run. The folder is written once into the
data folder (``samples/audio-sample-v1``, atomically) and loaded with ``rag.data.audio.load_audio_folder``.

Usage:
    from rag.data.samples.audio import load_audio_sample
    ds = load_audio_sample()          # 20 documents, 15 judged queries, ds.modality == "audio"
    ds.relevant("a1")                 # {'tone-440': 2, 'tone-220': 1, 'tone-880': 1, 'tone-1760': 1}
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import numpy as np

from rag.data.dataset import Dataset
from rag.data.samples.folder import folder_files, load_folder_sample, sample_dir
from rag.i18n import N_

SAMPLE_NAME = "audio-sample"
FOLDER_NAME = "audio-sample-v1"  # bump whenever the sounds, queries or judgments change
RATE, SECONDS, AMPLITUDE = 16_000, 1.0, 0.5

# (id, class, parameters, caption)
SOUNDS: tuple[tuple[str, str, tuple, str], ...] = (
    ("tone-220", "tone", (220.0,), "a low pure tone at 220 Hz"),
    ("tone-440", "tone", (440.0,), "a pure tone at 440 Hz"),
    ("tone-880", "tone", (880.0,), "a pure tone at 880 Hz"),
    ("tone-1760", "tone", (1760.0,), "a high pure tone at 1760 Hz"),
    ("chirp-up-1", "chirp", (200.0, 2000.0), "a rising chirp from 200 to 2000 Hz"),
    ("chirp-up-2", "chirp", (500.0, 4000.0), "a rising chirp from 500 to 4000 Hz"),
    ("chirp-down-1", "chirp", (2000.0, 200.0), "a falling chirp from 2000 to 200 Hz"),
    ("chirp-down-2", "chirp", (4000.0, 500.0), "a falling chirp from 4000 to 500 Hz"),
    ("noise-white", "noise", (0.0, 8000.0, 1), "white noise"),
    ("noise-low", "noise", (0.0, 300.0, 2), "a low rumble of noise below 300 Hz"),
    ("noise-mid", "noise", (1000.0, 2000.0, 3), "noise in the 1-2 kHz band"),
    ("noise-high", "noise", (4000.0, 8000.0, 4), "a high hiss of noise above 4 kHz"),
    ("clicks-4", "clicks", (4,), "four clicks a second"),
    ("clicks-8", "clicks", (8,), "eight clicks a second"),
    ("clicks-16", "clicks", (16,), "fast ticking, sixteen clicks a second"),
    ("clicks-irregular", "clicks", (0,), "irregular clicks"),
    ("chord-c-major", "chord", (261.63, 329.63, 392.0), "a C major chord"),
    ("chord-a-minor", "chord", (220.0, 261.63, 329.63), "an A minor chord"),
    ("chord-g-major", "chord", (196.0, 246.94, 293.66), "a G major chord"),
    ("chord-power", "chord", (110.0, 164.81, 220.0), "a power chord (root, fifth and octave)"),
)
_BY_ID = {s[0]: s for s in SOUNDS}

TEXT_QUERIES: tuple[tuple[str, str, Callable[[str], int]], ...] = (  # (id, text, sound id -> grade)
    ("t1", "a pure tone", lambda i: 1 if i.startswith("tone-") else 0),
    ("t2", "a high-pitched tone", lambda i: {"tone-1760": 2, "tone-880": 1}.get(i, 0)),
    ("t3", "a rising chirp", lambda i: 2 if i.startswith("chirp-up") else 1 if i.startswith("chirp-") else 0),
    ("t4", "a falling sweep", lambda i: 2 if i.startswith("chirp-down") else 1 if i.startswith("chirp-") else 0),
    ("t5", "white noise hiss", lambda i: 2 if i in ("noise-white", "noise-high") else 1 if i.startswith("noise-")
     else 0),
    ("t6", "a low rumble", lambda i: {"noise-low": 2}.get(i, 0)),
    ("t7", "clicking", lambda i: 1 if i.startswith("clicks-") else 0),
    ("t8", "a musical chord", lambda i: 1 if i.startswith("chord-") else 0),
    ("t9", "a minor chord", lambda i: 2 if i == "chord-a-minor" else 1 if i.startswith("chord-") else 0),
    ("t10", "fast ticking", lambda i: {"clicks-16": 2, "clicks-8": 1}.get(i, 0)),
)

# Audio queries: id -> (the corpus sound it is or varies, the variation; None: the corpus file itself)
AUDIO_QUERIES: dict[str, tuple[str, str | None]] = {
    "a1": ("tone-440", None),
    "a2": ("chirp-up-1", None),
    "a3": ("noise-low", "other noise"),   # same band, another stretch of noise
    "a4": ("clicks-8", "shifted"),        # the clicks 30 ms later
    "a5": ("chord-c-major", "softer"),    # at 60 % loudness, 0.8 s long
}
AUDIO_QUERY_SOURCES = {q: src for q, (src, _) in AUDIO_QUERIES.items()}


# --- synthesis ------------------------------------------------------------------------------------

def _xorshift(seed: int, n: int) -> np.ndarray:
    """n uniform values in [-1, 1) from a 32-bit xorshift generator: integer arithmetic, the same everywhere."""
    x, out = (seed * 2654435761 + 1) & 0xFFFFFFFF, np.empty(n, dtype=np.float64)
    for i in range(n):
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        out[i] = x / 2**31 - 1.0
    return out


def _band_noise(low: float, high: float, seed: int, n: int) -> np.ndarray:
    """Noise with only the frequencies in [low, high] Hz (zeroed FFT bins outside the band)."""
    spectrum = np.fft.rfft(_xorshift(seed, n))
    freqs = np.fft.rfftfreq(n, 1 / RATE)
    spectrum[(freqs < low) | (freqs > high)] = 0
    return np.fft.irfft(spectrum, n)


def synthesise(kind: str, params: tuple, n: int = int(RATE * SECONDS), delay: float = 0.0) -> np.ndarray:
    """One sound's samples (float64, peak ``AMPLITUDE``) of ``n`` samples at RATE."""
    t = np.arange(n) / RATE
    if kind == "tone":
        x = np.sin(2 * np.pi * params[0] * t)
    elif kind == "chord":
        x = sum(np.sin(2 * np.pi * f * t) for f in params)
    elif kind == "chirp":  # a linear sweep: phase = 2π (f0 t + (f1 - f0) t² / 2T)
        f0, f1 = params
        x = np.sin(2 * np.pi * (f0 * t + (f1 - f0) * t * t / (2 * SECONDS)))
    elif kind == "noise":
        x = _band_noise(*params, n)
    elif kind == "clicks":
        x = np.zeros(n)
        rate = params[0]
        starts = ([int((k / rate + delay) * RATE) for k in range(rate)] if rate else
                  [int(s * RATE) for s in (0.05, 0.12, 0.31, 0.37, 0.6, 0.83, 0.9)])
        click = np.sin(2 * np.pi * 3000 * np.arange(80) / RATE) * np.exp(-np.arange(80) / 12)
        for s in starts:
            if s < n:
                x[s:s + 80] += click[:n - s]
    else:
        raise ValueError(f"unknown sound class {kind!r}")  # i18n: internal (the built-in sample's own table)
    fade = np.minimum(1.0, np.minimum(np.arange(n), np.arange(n)[::-1]) / (0.01 * RATE))  # 10 ms fades: no pops
    x = x * fade
    return AMPLITUDE * x / (np.abs(x).max() or 1.0)


def wav_bytes(samples: np.ndarray, rate: int = RATE) -> bytes:
    """16-bit PCM mono WAV (RIFF header written here, no metadata chunks)."""
    pcm = np.clip(np.round(samples * 32767), -32768, 32767).astype("<i2").tobytes()
    header = b"RIFF" + struct.pack("<I", 36 + len(pcm)) + b"WAVE"
    fmt = b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
    return header + fmt + b"data" + struct.pack("<I", len(pcm)) + pcm


def _query_sound(src: str, variation: str) -> np.ndarray:
    _, kind, params, _ = _BY_ID[src]
    if variation == "other noise":
        return synthesise(kind, (params[0], params[1], params[2] + 100))
    if variation == "shifted":
        return synthesise(kind, params, delay=0.03)
    if variation == "softer":
        return 0.6 * synthesise(kind, params, n=int(0.8 * RATE))
    raise ValueError(variation)


@lru_cache(maxsize=1)
def _files() -> tuple[tuple[str, bytes], ...]:
    files = [(f"corpus/{i}.wav", wav_bytes(synthesise(kind, params))) for i, kind, params, _ in SOUNDS]
    queries: list[dict] = [{"_id": q, "text": text} for q, text, _ in TEXT_QUERIES]
    qrels = ["query-id\tcorpus-id\tscore"]
    for q, _, grade in TEXT_QUERIES:
        qrels += [f"{q}\t{i}\t{grade(i)}" for i, *_ in SOUNDS if grade(i)]
    for q, (src, variation) in AUDIO_QUERIES.items():
        rel = f"corpus/{src}.wav" if variation is None else f"queries/{q}-{src}.wav"
        if variation is not None:
            files.append((rel, wav_bytes(_query_sound(src, variation))))
        queries.append({"_id": q, "audio": rel})
        kind = _BY_ID[src][1]
        qrels.append(f"{q}\t{src}\t2")
        qrels += [f"{q}\t{i}\t1" for i, k, _, _ in SOUNDS if k == kind and i != src]
    return folder_files(files, [{"_id": i, "caption": cap} for i, _, _, cap in SOUNDS], queries, qrels, _README)


def sample_files() -> dict[str, bytes]:
    """Every file of the sample folder: relative path -> bytes (the same on every run)."""
    return dict(_files())


def audio_sample_dir(data_root: Path | None = None) -> Path:
    """The sample folder in the data folder (``samples/audio-sample-v1``), written if missing or damaged."""
    return sample_dir(FOLDER_NAME, sample_files(), N_("audio sample"), data_root)


def load_audio_sample() -> Dataset:
    """The audio sample as a Dataset named "audio-sample" with source "audio-sample"."""
    from rag.data.audio import load_audio_folder

    return load_folder_sample(load_audio_folder, audio_sample_dir(), SAMPLE_NAME)


_README = """\
# audio-sample (written by rag/data/samples/audio.py; regenerated if changed)

An audio dataset in the workbench's audio folder format:

- corpus/: 20 one-second 16 kHz WAV files (tones, chirps, noise, clicks, chords); an id is the file name
- captions.jsonl: {"_id", "caption"} per sound (optional in the format)
- queries.jsonl: {"_id", "text"} text queries t1..t10, {"_id", "audio"} audio queries a1..a5
  (a1, a2 name corpus files; a3..a5 are variations in queries/)
- qrels/test.tsv: query-id, corpus-id, score (2 = exactly what the query names or its own sound)
"""
