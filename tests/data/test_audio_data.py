"""Audio folders: real sound files written here (numpy + soundfile, PyAV for m4a), decoded on load, and
every refusal with its exact message (file, line, field), nothing half-loaded."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from rag.data.audio import is_audio_folder, load_audio, load_audio_folder, resample, waveform_png
from rag.data.dataset import DatasetError
from rag.data.loaders import load_dataset

RATE = 16_000


def tone(freq: float, seconds: float = 0.5, rate: int = RATE) -> np.ndarray:
    return (0.4 * np.sin(2 * np.pi * freq * np.arange(int(seconds * rate)) / rate)).astype(np.float32)


def write_m4a(path: Path, samples: np.ndarray, rate: int = RATE) -> None:
    import av

    with av.open(str(path), "w", format="ipod") as c:
        stream = c.add_stream("aac", rate=rate)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(samples[None, :], format="fltp", layout="mono")
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            c.mux(packet)
        for packet in stream.encode(None):
            c.mux(packet)


def make_folder(root: Path, queries: list[dict] | None = None, qrels: str | None = None) -> Path:
    (root / "corpus").mkdir(parents=True)
    (root / "queries").mkdir()
    (root / "qrels").mkdir()
    sf.write(root / "corpus" / "low.wav", tone(220), RATE)
    sf.write(root / "corpus" / "mid.flac", tone(440), RATE)
    sf.write(root / "corpus" / "high.ogg", tone(880), RATE, format="OGG", subtype="VORBIS")
    sf.write(root / "corpus" / "stereo.wav", np.stack([tone(330, 0.5, 44_100), tone(660, 0.5, 44_100)], axis=1), 44_100)
    write_m4a(root / "corpus" / "voice.m4a", tone(550, 1.0))
    sf.write(root / "queries" / "q.wav", tone(220, 0.3), 8_000)
    queries = queries if queries is not None else [{"_id": "t1", "text": "a low tone"},
                                                   {"_id": "a1", "audio": "queries/q.wav"}]
    (root / "queries.jsonl").write_text("".join(json.dumps(q) + "\n" for q in queries))
    (root / "qrels" / "test.tsv").write_text(qrels or "query-id\tcorpus-id\tscore\nt1\tlow\t1\na1\tlow\t2\n")
    return root


def error(folder: Path, **kw) -> str:
    with pytest.raises(DatasetError) as e:
        load_audio_folder(folder, **kw)
    return str(e.value)


def test_a_folder_of_real_files_loads_decoded_and_hashed(tmp_path):
    import hashlib

    root = make_folder(tmp_path / "sounds")
    assert is_audio_folder(root) and load_dataset(str(root)).modality == "audio"
    ds = load_audio_folder(root)
    assert [d.id for d in ds.documents] == ["high", "low", "mid", "stereo", "voice"]
    assert ds.modality == "audio" and ds.query_kinds() == {"text": 1, "audio": 1}
    low = ds.doc("low")
    assert low.title == "low.wav" and low.audio == str(root / "corpus" / "low.wav")
    assert low.audio_sha == hashlib.sha256((root / "corpus" / "low.wav").read_bytes()).hexdigest()
    q = next(q for q in ds.queries if q.id == "a1")
    assert q.kind == "audio" and q.audio == str(root / "queries" / "q.wav")
    # the audio path's hash is part of the dataset's identity
    assert ds.content_hash() != load_audio_folder(root).select_queries("text").content_hash()


def test_load_audio_is_mono_resampled_and_keeps_the_pitch(tmp_path):
    root = make_folder(tmp_path / "s")
    stereo = load_audio(root / "corpus" / "stereo.wav")
    assert stereo.shape == (22_050,)
    assert np.allclose(stereo, (tone(330, 0.5, 44_100) + tone(660, 0.5, 44_100)) / 2, atol=1e-4)
    x = load_audio(root / "corpus" / "low.wav", 48_000)
    assert x.shape == (24_000,)
    peak = np.argmax(np.abs(np.fft.rfft(x))) * 48_000 / len(x)
    assert peak == pytest.approx(220, abs=2)
    y = load_audio(root / "corpus" / "voice.m4a", 16_000)  # AAC through PyAV
    assert np.argmax(np.abs(np.fft.rfft(y))) * 16_000 / len(y) == pytest.approx(550, abs=2)
    assert resample(tone(100), RATE, RATE).dtype == np.float32
    assert load_audio(root / "corpus" / "low.wav", None, 0.1, 0.2).shape == (1600,)
    png = waveform_png(root / "corpus" / "low.wav")
    assert png.startswith(b"\x89PNG")


@pytest.mark.parametrize("queries, expected", [
    ([{"_id": "t1", "text": "x", "audio": "queries/q.wav"}],
     "queries.jsonl, line 1, field 'audio': a query has text or audio, not both"),
    ([{"_id": "t1"}], "queries.jsonl, line 1, field 'text': a query needs a text or an audio file"),
    ([{"_id": "t1", "audio": "/etc/passwd.wav"}],
     "queries.jsonl, line 1, field 'audio': absolute audio path '/etc/passwd.wav' "
     "(give a path relative to the dataset folder)"),
    ([{"_id": "t1", "audio": "../x.wav"}],
     "queries.jsonl, line 1, field 'audio': audio path '../x.wav' leaves the dataset folder ('..') "
     "(give a path inside the dataset folder)"),
    ([{"_id": "t1", "audio": "queries/none.wav"}], "queries.jsonl, line 1, field 'audio': audio file not found: "
     "queries/none.wav (paths are relative to {root})"),
    ([{"_id": "t1", "audio": "queries/q.txt"}], "queries.jsonl, line 1, field 'audio': unsupported format '.txt' "
     "(queries/q.txt) (accepted: .wav, .flac, .ogg, .mp3, .m4a)"),
    ([{"_id": "t1", "audio": 3}], "queries.jsonl, line 1, field 'audio': audio path must be a string, got int"),
])
def test_bad_queries_are_refused_with_line_and_field(tmp_path, queries, expected):
    root = make_folder(tmp_path / "s", queries, "t1\tlow\t1\n")
    assert error(root) == expected.format(root=root.resolve())


def test_a_query_audio_through_a_link_out_of_the_folder_is_refused(tmp_path):
    outside = tmp_path / "outside.wav"
    sf.write(outside, tone(100), RATE)
    root = make_folder(tmp_path / "s", [{"_id": "t1", "audio": "queries/link.wav"}], "t1\tlow\t1\n")
    (root / "queries" / "link.wav").symlink_to(outside)
    assert error(root) == ("queries.jsonl, line 1, field 'audio': audio path 'queries/link.wav' leaves the dataset "
                           "folder (through a link)")


def test_bad_files_are_refused_naming_the_file(tmp_path):
    root = make_folder(tmp_path / "s")
    (root / "corpus" / "broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk" * 4)
    assert error(root).startswith("corpus/broken.wav: corrupt or not a sound file (libsndfile: ")
    (root / "corpus" / "broken.wav").write_bytes(b"")
    assert error(root) == "corpus/broken.wav: empty file"
    (root / "corpus" / "broken.wav").unlink()
    (root / "corpus" / "fake.m4a").write_bytes(b"not an mp4 file at all" * 10)
    assert error(root).startswith("corpus/fake.m4a: corrupt or not a sound file (FFmpeg: ")
    (root / "corpus" / "fake.m4a").unlink()
    sf.write(root / "corpus" / "slow.wav", tone(100, 0.5, 2_000), 2_000)
    assert error(root) == "corpus/slow.wav: sample rate 2,000 Hz is outside 4,000-384,000 Hz"
    (root / "corpus" / "slow.wav").unlink()
    sf.write(root / "corpus" / "silent.wav", np.zeros(0, np.float32), RATE)
    assert error(root) == "corpus/silent.wav: no audio samples (a zero-length recording)"
    (root / "corpus" / "silent.wav").unlink()
    (root / "corpus" / "notes.txt").write_text("hi")
    assert error(root) == ("corpus/notes.txt: unsupported format '.txt' (accepted: .wav, .flac, .ogg, .mp3, "
                           ".m4a)")
    (root / "corpus" / "notes.txt").unlink()
    sf.write(root / "corpus" / "low.flac", tone(220), RATE)
    assert error(root) == ("corpus/low.wav: duplicate id 'low': corpus/low.flac has the same name (a sound's id "
                           "is its file name without the extension)")


def test_size_and_duration_limits(tmp_path):
    root = make_folder(tmp_path / "s")
    size = (root / "corpus" / "stereo.wav").stat().st_size
    assert error(root, max_bytes=size - 1) == (
        f"corpus/stereo.wav: audio file is {size - 1:,} bytes, over the {size - 1:,} bytes limit"
        .replace(f"is {size - 1:,}", f"is {size:,}") + " (raise WORKBENCH_MAX_AUDIO_MB or cut the recording)")
    assert error(root, max_seconds=0.45) == ("corpus/high.ogg: recording is 0.5 s long, over the 0.45 s limit "
                                             "(raise WORKBENCH_MAX_AUDIO_S or cut the recording)")


def test_judgments_captions_and_transcripts_are_checked(tmp_path):
    root = make_folder(tmp_path / "s", qrels="t1\tnope\t1\n")
    assert error(root) == ("qrels/test.tsv, line 1, field 'corpus-id': unknown sound 'nope' (no such file in "
                           "corpus/)")
    root = make_folder(tmp_path / "s2")
    (root / "captions.jsonl").write_text('{"_id": "low", "caption": "a low tone"}\n{"_id": "x", "caption": "?"}\n')
    assert error(root) == "captions.jsonl, line 2, field '_id': unknown sound 'x' (no such file in corpus/)"
    (root / "captions.jsonl").write_text('{"_id": "low", "caption": "a low tone"}\n')
    (root / "transcripts.jsonl").write_text('{"_id": "voice", "text": ""}\n')
    assert error(root).startswith("transcripts.jsonl, line 1, field 'text': ")
    (root / "transcripts.jsonl").write_text('{"_id": "voice", "text": "hello there"}\n')
    ds = load_audio_folder(root)
    assert ds.doc("low").text == "a low tone" and ds.doc("mid").text == ""
    from rag.data.audio import transcripts

    assert transcripts(ds) == {"voice": "hello there"}


def test_missing_parts_and_the_image_folder_stays_an_image_folder(tmp_path):
    assert error(tmp_path / "none") == (f"{tmp_path / 'none'}: folder not found (an audio folder holds corpus/ "
                                        "(.wav, .flac, .ogg, .mp3 or .m4a files), queries.jsonl and "
                                        "qrels/<split>.tsv; captions.jsonl and transcripts.jsonl are optional)")
    root = make_folder(tmp_path / "s")
    (root / "queries.jsonl").unlink()
    assert error(root).startswith("queries.jsonl: missing queries.jsonl (in ")
    images = tmp_path / "imgs" / "corpus"
    images.mkdir(parents=True)
    (images / "a.png").write_bytes(b"")
    assert not is_audio_folder(images.parent)
