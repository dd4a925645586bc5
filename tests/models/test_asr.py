"""Speech to text (``asr:FOLDER``) on a tiny random Whisper built in the test (tests/support/tiny_whisper.py).

The oracle is independent of ``rag.models.asr``: the model's own ``generate(return_timestamps=True)`` on
features made here, its token ids walked here (a timestamp token opens or closes a segment; timestamps
begin one id after ``no_timestamps_token_id``, 0.02 s apart) and the text between decoded by the tokenizer.
Random weights make the words meaningless; what is checked is that segments, ids, judgments, the cache
and WER follow from them exactly.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from rag.data.audio import load_audio_folder
from rag.data.dataset import Dataset, Document, Query
from rag.models.asr import asr_problem, transcribe, transcribe_dataset, word_error_rate
from rag.models.base import ModelUnavailable
from tests.support.tiny_whisper import make_tiny_whisper

RATE = 16_000


@pytest.fixture(scope="module")
def whisper_dir(tiny_models_dir) -> Path:
    return make_tiny_whisper(tiny_models_dir / "whisper")


def own_segments(folder: Path, samples: np.ndarray) -> list[tuple[float, float, str]]:
    """(start, end, text) from the model's own generate, token ids walked by hand."""
    from transformers import WhisperForConditionalGeneration, WhisperProcessor

    model = WhisperForConditionalGeneration.from_pretrained(folder).eval()
    proc = WhisperProcessor.from_pretrained(folder)
    with torch.inference_mode():
        ids = model.generate(proc(samples, sampling_rate=RATE, return_tensors="pt").input_features,
                             return_timestamps=True)[0].tolist()
    begin = model.generation_config.no_timestamps_token_id + 1
    out, start, text = [], None, []
    for t in ids:
        if t >= begin:
            if start is None:
                start = (t - begin) * 0.02
            else:
                out.append((round(start, 2), round((t - begin) * 0.02, 2), proc.tokenizer.decode(text).strip()))
                start, text = None, []
        elif start is not None and t < model.generation_config.no_timestamps_token_id - 8:
            text.append(t)
    return out


def tone(freq: float, seconds: float, rate: int = RATE) -> np.ndarray:
    return (0.3 * np.sin(2 * np.pi * freq * np.arange(int(seconds * rate)) / rate)).astype(np.float32)


@pytest.fixture()
def talks(tmp_path) -> Path:
    """An audio folder: two recordings (one at 22.05 kHz stereo), a text and an audio query, graded judgments."""
    root = tmp_path / "talks"
    (root / "corpus").mkdir(parents=True)
    (root / "qrels").mkdir()
    (root / "queries").mkdir()
    sf.write(root / "corpus" / "intro.wav", tone(300, 2.0), RATE)
    sf.write(root / "corpus" / "outro.flac", np.stack([tone(500, 1.5, 22_050)] * 2, axis=1), 22_050)
    sf.write(root / "queries" / "q.wav", tone(300, 1.0), RATE)
    (root / "queries.jsonl").write_text('{"_id": "t1", "text": "the end"}\n{"_id": "a1", "audio": "queries/q.wav"}\n')
    (root / "qrels" / "test.tsv").write_text("t1\tintro\t2\nt1\toutro\t1\na1\tintro\t2\n")
    return root


def test_segments_are_the_models_own_timed_transcript_and_become_text_documents(whisper_dir, talks, data_dir):
    from rag.data.audio import load_audio

    shutil.rmtree(Path(data_dir, "cache", "transcripts"), ignore_errors=True)  # cold: nothing cached

    expected = {f: own_segments(whisper_dir, load_audio(talks / "corpus" / f, RATE))
                for f in ("intro.wav", "outro.flac")}
    assert all(expected.values()), expected
    text_ds, report = transcribe(load_audio_folder(talks), f"asr:{whisper_dir}")
    want = [(f"{f}@{s:.1f}-{e:.1f}", f"{f} {s:.1f}-{e:.1f} s", t) for f, segs in expected.items() for s, e, t in segs
            if t]
    got = [(d.id, d.title, d.text) for d in text_ds.documents]
    assert len(set(i for i, _, _ in want)) == len(want)  # ranges differ here, so no #2 suffixes
    assert got == want
    assert text_ds.modality == "text" and [q.id for q in text_ds.queries] == ["t1"]
    assert text_ds.qrels == {"t1": {**{i: 2 for i, _, _ in want if i.startswith("intro.wav@")},
                                    **{i: 1 for i, _, _ in want if i.startswith("outro.flac@")}}}
    assert (report.sounds, report.segments, report.cached, report.dropped_queries) == (2, len(want), 0, 1)
    assert report.wer is None and report.model == f"asr:{whisper_dir.resolve()}"
    assert transcribe_dataset(load_audio_folder(talks), f"asr:{whisper_dir}").documents == text_ds.documents


def test_wer_is_jiwers_against_transcripts_and_matches_a_hand_count(whisper_dir, talks):
    assert word_error_rate(["the cat sat", "a dog"], ["the cat sit down", "dog"]) == pytest.approx(3 / 5)
    first = transcribe(load_audio_folder(talks), f"asr:{whisper_dir}")[1]
    assert first.wer is None
    said = {}
    for d in transcribe_dataset(load_audio_folder(talks), f"asr:{whisper_dir}").documents:
        said.setdefault(d.id.split("@")[0], []).append(d.text)
    intro, outro = " ".join(said["intro.wav"]), " ".join(said["outro.flac"])
    # intro: the exact words (0 errors); outro: one reference word more than was said (1 deletion)
    (talks / "transcripts.jsonl").write_text(json.dumps({"_id": "intro", "text": intro.upper() + "."}) + "\n" +
                                             json.dumps({"_id": "outro", "text": outro + " goodbye"}) + "\n")
    report = transcribe(load_audio_folder(talks), f"asr:{whisper_dir}")[1]
    n_intro, n_outro = len(intro.split()), len(outro.split()) + 1
    assert report.wer == pytest.approx(1 / (n_intro + n_outro)) and report.wer_files == 2
    assert report.per_file_wer == {"intro": 0.0, "outro": pytest.approx(1 / n_outro)}
    assert report.cached == 2  # the third pass read every transcript from the cache
    assert report.line() == (f"asr:{whisper_dir.resolve()}: 2 sounds -> {report.segments} segments (2 from the "
                             f"cache); 0 without speech; 1 audio queries left out; WER {report.wer:.1%} over 2 "
                             f"transcribed sounds")


def test_cache_is_keyed_by_the_sound_bytes(whisper_dir, talks, data_dir):
    ds = load_audio_folder(talks)
    _, first = transcribe(ds, f"asr:{whisper_dir}")
    sha = ds.doc("intro").audio_sha
    caches = list(Path(data_dir, "cache", "transcripts").glob(f"*/{sha}.json"))
    assert len(caches) == 1
    # the same bytes under another name are not transcribed again: the cached segments are used as they are
    caches[0].write_text(json.dumps([{"start": 1.0, "end": 2.5, "text": "from the cache"}]))
    shutil.copy(talks / "corpus" / "intro.wav", talks / "corpus" / "copy.wav")
    seen = []
    text_ds, report = transcribe(load_audio_folder(talks), f"asr:{whisper_dir}",
                                 progress=lambda done, total: seen.append((done, total)))
    assert seen == [(1, 3), (2, 3), (3, 3)] and report.cached == 3
    assert [(d.id, d.text) for d in text_ds.documents if d.id.startswith(("copy", "intro"))] == [
        ("copy.wav@1.0-2.5", "from the cache"), ("intro.wav@1.0-2.5", "from the cache")]


def test_refusals_say_why(whisper_dir, tiny_clap_dir, tmp_path):
    assert asr_problem(str(tmp_path / "none")) == f"no model folder at {tmp_path / 'none'}"
    (tmp_path / "empty").mkdir()
    assert asr_problem(str(tmp_path / "empty")) == (
        f"{tmp_path / 'empty'} has no config.json: save the Whisper model there with save_pretrained (transformers)")
    assert asr_problem(str(tiny_clap_dir)) == (
        f"{tiny_clap_dir} is a 'clap' model, not Whisper (asr: takes model_type whisper)")
    partial = tmp_path / "partial"
    shutil.copytree(whisper_dir, partial)
    (partial / "generation_config.json").unlink()
    assert asr_problem(str(partial)) == (
        f"{partial} has no generation_config.json with no_timestamps_token_id: Whisper cannot give timestamps "
        f"without it (save the checkpoint's generation config there too)")
    (partial / "preprocessor_config.json").unlink()
    assert asr_problem(str(partial)) == (
        f"{partial} has no preprocessor_config.json: save the WhisperProcessor there too")
    text = Dataset("notes", [Document("d1", "", "hello")], [Query("q1", "hello")], {"q1": {"d1": 1}})
    with pytest.raises(ValueError) as e:
        transcribe_dataset(text, f"asr:{whisper_dir}")
    assert str(e.value) == f"notes is a text dataset: asr:{whisper_dir} transcribes audio and video datasets only"
    audio = Dataset("s", [Document("a", "a.wav", "", audio="/x/a.wav")], [], {})
    with pytest.raises(ModelUnavailable) as e:
        transcribe_dataset(audio, f"asr:{tiny_clap_dir}")
    assert str(e.value) == f"{tiny_clap_dir} is a 'clap' model, not Whisper (asr: takes model_type whisper)"


def test_a_segment_names_its_sound_and_time_range_for_a_player(whisper_dir, talks):
    from rag.models.asr import segment_media

    text_ds = transcribe_dataset(load_audio_folder(talks), f"asr:{whisper_dir}")
    first = text_ds.documents[0]
    file, rng = first.id.split("@")
    start, end = map(float, rng.split("-"))
    assert segment_media(text_ds, first.id) == (str(talks / "corpus" / file), start, end)
    assert segment_media(text_ds, "intro") is None and segment_media(text_ds, "nofile.wav@1.0-2.0") is None
    gone = Dataset("x", text_ds.documents, [], {}, source=str(talks / "moved"))
    assert segment_media(gone, first.id) is None
