"""Video folders: real video files written here with PyAV (tests/support/video_files.py), decoded on load
with the shared media-folder rules, every refusal with its exact message (file, line, field), nothing
half-loaded; frames sampled at a rate, cached by the bytes' hash and rate; the built-in video sample."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from rag.data.dataset import DatasetError
from rag.data.frames import fold_frames, frame_dataset
from rag.data.loaders import load_dataset
from rag.data.video import is_video_folder, load_video_folder, sample_frames, video_info
from tests.support.video_files import solid, write_video

SAMPLE_DIGEST = "94840df2b59a17df79fc5f173206cb84ce903e19fca06e32314e2f87bcc19351"
RED, BLUE, GREEN, WHITE, YELLOW = (230, 20, 20), (20, 40, 230), (20, 200, 40), (255, 255, 255), (240, 200, 20)


def make_folder(root: Path, queries: list[dict] | None = None, qrels: str | None = None) -> Path:
    """Three videos at 4 frames a second: 'target' shows blue for 2 s then red for 1 s (red from second 2),
    'green' green for 2 s, 'white' white then yellow (1 s each)."""
    write_video(root / "corpus" / "target.mp4", [solid(BLUE)] * 8 + [solid(RED)] * 4)
    write_video(root / "corpus" / "green.webm", [solid(GREEN)] * 8)
    write_video(root / "corpus" / "white.mkv", [solid(WHITE)] * 4 + [solid(YELLOW)] * 4)
    (root / "qrels").mkdir()
    (root / "queries").mkdir()
    from PIL import Image

    Image.fromarray(solid(RED)).save(root / "queries" / "red.png")
    queries = queries if queries is not None else [{"_id": "t1", "text": "something red"},
                                                   {"_id": "i1", "image": "queries/red.png"}]
    (root / "queries.jsonl").write_text("".join(json.dumps(q) + "\n" for q in queries))
    (root / "qrels" / "test.tsv").write_text(qrels or "query-id\tcorpus-id\tscore\nt1\ttarget\t2\ni1\ttarget\t2\n"
                                                      "i1\twhite\t1\n")
    return root


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return make_folder(tmp_path_factory.mktemp("videos") / "clips")


def error(folder: Path, **kw) -> str:
    with pytest.raises(DatasetError) as e:
        load_video_folder(folder, **kw)
    return str(e.value)


def test_a_folder_of_real_videos_loads_decoded_and_hashed(folder):
    assert is_video_folder(folder)
    ds = load_dataset(str(folder))  # the CLI's loader finds it by its corpus
    assert ds.modality == "video" and ds.name == "clips"
    assert [d.id for d in ds.documents] == ["green", "target", "white"]
    for d in ds.documents:
        assert d.title == Path(d.video).name and d.video_sha == hashlib.sha256(Path(d.video).read_bytes()).hexdigest()
    assert ds.query_kinds() == {"text": 1, "image": 1}
    assert ds.relevant("i1") == {"target": 2, "white": 1}
    info = video_info(ds.doc("target").video)
    assert (info.width, info.height, info.frames, info.seconds, info.has_audio) == (32, 32, 12, 3.0, False)


def test_frames_are_sampled_at_the_rate_from_the_first_frame(folder):
    frames = sample_frames(folder / "corpus" / "target.mp4", 1.0)
    assert [t for t, _ in frames] == [0.0, 1.0, 2.0]
    colours = [tuple(int(c) for c in rgb[16, 16]) for _, rgb in frames]
    assert [np.argmax(c) for c in colours] == [2, 2, 0]  # blue, blue, red (lossy: the channel, not the value)
    assert [t for t, _ in sample_frames(folder / "corpus" / "target.mp4", 0.5)] == [0.0, 2.0]
    assert [t for t, _ in sample_frames(folder / "corpus" / "target.mp4", 4)] == [i / 4 for i in range(12)]


def test_frame_documents_are_cached_by_the_bytes_and_the_rate(folder, tmp_path, monkeypatch):
    ds = load_video_folder(folder)
    framed = frame_dataset(ds, 1.0, data_root=tmp_path)
    assert framed.dataset.modality == "image"
    assert [d.id for d in framed.dataset.documents] == [
        "green.webm@0.0", "green.webm@1.0", "target.mp4@0.0", "target.mp4@1.0", "target.mp4@2.0",
        "white.mkv@0.0", "white.mkv@1.0"]
    red = framed.dataset.doc("target.mp4@2.0")
    assert red.title == "target.mp4 2.0 s" and framed.parents[red.id] == "target" and framed.times[red.id] == 2.0
    assert Path(red.image).parent == tmp_path / "cache" / "frames" / ds.doc("target").video_sha / "fps1"
    assert red.image_sha == hashlib.sha256(Path(red.image).read_bytes()).hexdigest()
    assert framed.most_per_video == 3
    # the same bytes at the same rate are never decoded again; another rate is
    import rag.data.video as video

    monkeypatch.setattr(video, "sample_frames", lambda *a: (_ for _ in ()).throw(AssertionError("decoded")))
    assert [d.image_sha for d in frame_dataset(ds, 1.0, data_root=tmp_path).dataset.documents] == [
        d.image_sha for d in framed.dataset.documents]
    with pytest.raises(AssertionError, match="decoded"):
        frame_dataset(ds, 0.5, data_root=tmp_path)


def test_a_video_takes_its_best_frames_place_score_and_second(folder, tmp_path):
    framed = frame_dataset(load_video_folder(folder), 1.0, data_root=tmp_path)
    hits = [("target.mp4@2.0", 0.9), ("white.mkv@1.0", 0.8), ("target.mp4@0.0", 0.7), ("green.webm@0.0", 0.1)]
    assert fold_frames(hits, framed, 2) == ([("target", 0.9), ("white", 0.8)], {"target": 2.0, "white": 1.0})


@pytest.mark.parametrize("queries, expected", [
    ([{"_id": "i1", "image": "../red.png"}],
     "queries.jsonl, line 1, field 'image': image path '../red.png' leaves the dataset folder ('..') "
     "(give a path inside the dataset folder)"),
    ([{"_id": "i1", "image": "/etc/passwd.png"}],
     "queries.jsonl, line 1, field 'image': absolute image path '/etc/passwd.png' "
     "(give a path relative to the dataset folder)"),
    ([{"_id": "i1", "image": "queries/red.png", "text": "red"}],
     "queries.jsonl, line 1, field 'image': a query has text or an image, not both"),
    ([{"_id": "i1"}], "queries.jsonl, line 1, field 'text': a query needs a text or an image"),
])
def test_bad_queries_are_refused_with_line_and_field(tmp_path, queries, expected):
    root = make_folder(tmp_path / "v", queries=queries, qrels="i1\ttarget\t1\n")
    assert error(root) == expected


def test_bad_files_are_refused_naming_the_file(tmp_path):
    root = make_folder(tmp_path / "v")
    (root / "corpus" / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 not really a video")
    assert error(root).startswith("corpus/broken.mp4: corrupt or not a video file (FFmpeg: ")
    (root / "corpus" / "broken.mp4").write_bytes(b"")
    assert error(root) == "corpus/broken.mp4: empty file"
    (root / "corpus" / "broken.mp4").unlink()
    from tests.data.test_audio_data import write_m4a

    write_m4a(root / "corpus" / "voice.mkv", np.zeros(1600, np.float32))  # AAC in an MP4 box named .mkv
    assert error(root) == ("corpus/voice.mkv: no video stream in the file (a sound-only file belongs in an "
                           "audio folder)")
    (root / "corpus" / "voice.mkv").unlink()
    (root / "corpus" / "old.avi").write_bytes(b"RIFF")
    assert error(root) == "corpus/old.avi: unsupported format '.avi' (accepted: .mp4, .webm, .mkv)"
    (root / "corpus" / "old.avi").unlink()
    (root / "corpus" / "sub").mkdir()
    assert error(root) == ("corpus/sub/: a folder inside corpus/ (subfolders are not read) (put the video files "
                           "directly in corpus/)")


def test_size_duration_and_resolution_limits(tmp_path):
    root = make_folder(tmp_path / "v")
    size = (root / "corpus" / "green.webm").stat().st_size
    assert error(root, max_bytes=size - 1).startswith("corpus/green.webm: video file is ")
    assert error(root, max_seconds=2.5) == ("corpus/target.mp4: video is 3.0 s long, over the 2.5 s limit (raise "
                                            "WORKBENCH_MAX_VIDEO_S or cut the video)")
    import rag.data.video as video

    video._checked.cache_clear()
    old, video.MAX_FRAME_PIXELS = video.MAX_FRAME_PIXELS, 32 * 32 - 1
    try:
        assert error(root) == ("corpus/green.webm: video frames are 32x32 = 0.0 MP, over the 0.0 MP limit "
                               "(scale the video down)")
    finally:
        video.MAX_FRAME_PIXELS = old
        video._checked.cache_clear()


def test_judgments_and_captions_are_checked(tmp_path):
    root = make_folder(tmp_path / "v", qrels="t1\tmissing\t1\n")
    assert error(root) == ("qrels/test.tsv, line 1, field 'corpus-id': unknown video 'missing' (no such file in "
                           "corpus/)")
    root = make_folder(tmp_path / "w")
    (root / "captions.jsonl").write_text('{"_id": "nope", "caption": "x"}\n')
    assert error(root) == "captions.jsonl, line 1, field '_id': unknown video 'nope' (no such file in corpus/)"
    (root / "captions.jsonl").write_text('{"_id": "target", "caption": "blue then red"}\n')
    assert load_video_folder(root).doc("target").text == "blue then red"
    import shutil

    shutil.rmtree(root / "corpus")
    assert error(root).startswith("corpus/: missing corpus/ (in ")


def test_the_video_sample_is_deterministic_and_graded(data_dir):
    from rag.data.samples import video as sample

    first = {k: hashlib.sha256(v).hexdigest() for k, v in sample.sample_files().items()}
    sample._files.cache_clear()
    assert {k: hashlib.sha256(v).hexdigest() for k, v in sample.sample_files().items()} == first
    digest = hashlib.sha256(b"".join(k.encode() + bytes.fromhex(v) for k, v in sorted(first.items()))).hexdigest()
    assert digest == SAMPLE_DIGEST  # pinned: the same bytes with the pinned PyAV (libvpx, bitexact)
    ds = load_dataset("video-sample")
    assert ds.name == ds.source == "video-sample" and ds.modality == "video"
    assert len(ds.documents) == 6 and ds.query_kinds() == {"text": 6, "image": 2}
    assert ds.relevant("t1") == {"street": 2, "ocean": 1, "garden": 1, "sunset": 1}
    assert ds.relevant("i2") == {"night": 2, "street": 1, "sunset": 1, "festival": 1}
    assert ds.doc("street").text == "a red circle, then a yellow star, then a green triangle"
    assert video_info(ds.doc("street").video).seconds == 6.0
    # each scene is where the sample says: the frame at its second is drawn in its colour
    rgb = dict(sample_frames(ds.doc("sunset").video, 1.0))[4.0]  # sunset: purple circle from second 4
    assert tuple(int(c) for c in rgb[32, 32]) == pytest.approx((140, 50, 170), abs=24)
    assert sample.scene_second("sunset", ("circle", "purple")) == 4.0
