"""``asr:`` on a video folder: the audio track is demuxed by PyAV to the same 16 kHz waveform a sound file
with the same samples gives, so the tiny Whisper (tests/support/tiny_whisper.py) transcribes a video exactly
as it transcribes that sound; segment ids name the video (``talk.mkv@0.0-1.2``); a silent video has none."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from rag.data.audio import load_audio, load_audio_folder
from rag.data.video import load_video_folder
from rag.models.asr import segment_media, transcribe
from tests.support.tiny_whisper import make_tiny_whisper
from tests.support.video_files import solid, write_video

RATE = 16_000


@pytest.fixture(scope="module")
def whisper_dir(tiny_models_dir) -> Path:
    folder = tiny_models_dir / "whisper"
    return folder if (folder / "config.json").is_file() else make_tiny_whisper(folder)


def speech() -> np.ndarray:
    """1.5 s of two tones, quantised to 16-bit values (both containers then hold the very same samples)."""
    t = np.arange(int(1.5 * RATE)) / RATE
    x = 0.3 * np.sin(2 * np.pi * 300 * t) + 0.2 * np.sin(2 * np.pi * 750 * t)
    return (np.round(x * 32767) / 32767).astype(np.float32)


def folder(root: Path, corpus: dict[str, callable]) -> Path:
    (root / "corpus").mkdir(parents=True)
    (root / "qrels").mkdir()
    for name, write in corpus.items():
        write(root / "corpus" / name)
    (root / "queries.jsonl").write_text(json.dumps({"_id": "t1", "text": "the talk"}) + "\n")
    (root / "qrels" / "test.tsv").write_text("t1\ttalk\t2\n")
    return root


@pytest.fixture(scope="module")
def pair(tmp_path_factory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("asrv")
    frames = [solid((200, 30, 30))] * 6
    pcm = np.round(speech() * 32767).astype(np.int16)  # written as these integers: no float conversion between
    audio = folder(tmp / "sounds", {"talk.wav": lambda p: sf.write(p, pcm, RATE, subtype="PCM_16")})
    video = folder(tmp / "videos", {"talk.mkv": lambda p: write_video(p, frames, audio=speech(), rate=RATE),
                                    "silent.mp4": lambda p: write_video(p, frames)})
    return audio, video


def test_a_videos_audio_track_is_the_same_waveform_as_the_sound(pair):
    audio, video = pair
    np.testing.assert_allclose(load_audio(video / "corpus" / "talk.mkv", RATE),
                               load_audio(audio / "corpus" / "talk.wav", RATE), atol=1e-6)
    # another rate: the same polyphase resampling as a sound file's
    np.testing.assert_allclose(load_audio(video / "corpus" / "talk.mkv", 8_000),
                               load_audio(audio / "corpus" / "talk.wav", 8_000), atol=1e-6)


@pytest.mark.slow
def test_asr_transcribes_a_video_folder_as_it_does_the_sound(pair, whisper_dir, data_dir):
    audio, video = pair
    said, audio_report = transcribe(load_audio_folder(audio), f"asr:{whisper_dir}")
    shown, report = transcribe(load_video_folder(video), f"asr:{whisper_dir}")
    assert said.documents, "the tiny Whisper found no segment: nothing to compare"
    assert [(d.id.replace("talk.wav", "talk.mkv"), d.text) for d in said.documents] == [
        (d.id, d.text) for d in shown.documents]
    assert all(d.id.startswith("talk.mkv@") for d in shown.documents)
    assert report.empty == ["silent.mp4"] and report.sounds == 2 and report.segments == len(shown.documents)
    assert shown.qrels == {"t1": {d.id: 2 for d in shown.documents}}
    path, start, end = segment_media(shown, shown.documents[0].id)
    assert Path(path) == video / "corpus" / "talk.mkv" and start < end
    # cached by the bytes: the same track again is read from the cache
    _, again = transcribe(load_video_folder(video), f"asr:{whisper_dir}")
    assert again.cached == 1
