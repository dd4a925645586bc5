"""Video retrieval through the whole path on real parts: videos written here with PyAV, frames sampled by
``rag.data.frames``, a tiny random CLIP (tests/support/tiny_models.py), real Milvus Lite, metrics
cross-checked with pytrec_eval.

The oracle is independent of our frame and encoder code: the test decodes the frames itself with PyAV and
scores them with the CLIP model's own forward (``logits_per_text`` / its logit scale = the cosine), and a
video's expected score is the best of its frames'. An image query that is the decoded frame at second 2 of
one video finds that video first, at that second, with cosine 1.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from rag.data.video import load_video_folder
from rag.models.base import ModelUnavailable
from tests.conftest import ROOT
from tests.data.test_video_data import make_folder
from tests.retrieval.test_images_retrieval import trec_means

K = 3


def decoded(path: Path, fps: float = 1.0) -> dict[float, np.ndarray]:
    """Second -> RGB frame, decoded here: at 4 frames a second, every 4/fps-th frame from the first."""
    import av

    with av.open(str(path)) as c:
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    step = int(round(4 / fps))
    return {i / 4: frames[i] for i in range(0, len(frames), step)}


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> Path:
    from PIL import Image

    root = make_folder(tmp_path_factory.mktemp("vr") / "clips")
    Image.fromarray(decoded(root / "corpus" / "target.mp4")[2.0]).save(root / "queries" / "red.png")
    return root


@pytest.fixture(scope="module")
def found(retriever, tiny_clip_dir, clips):
    from evaluators.retrieval.evaluate import evaluate_retrieval

    ds = load_video_folder(clips)
    model = f"clip:{tiny_clip_dir}"
    return ds, model, evaluate_retrieval(retriever, ds, [model], k=K)


def own_cosines(folder: Path, texts: list[str], images: list) -> np.ndarray:
    """texts x images cosines by the model's own forward (its logits over its logit scale)."""
    from transformers import AutoImageProcessor, AutoModel, AutoTokenizer

    model = AutoModel.from_pretrained(folder).eval()
    tokens = AutoTokenizer.from_pretrained(folder)(texts, padding=True, return_tensors="pt")
    pixels = AutoImageProcessor.from_pretrained(folder, backend="pil")(images, return_tensors="pt")
    with torch.inference_mode():
        return model(**tokens, **pixels).logits_per_text.numpy() / model.logit_scale.exp().item()


def test_the_image_query_finds_its_video_first_at_the_frames_second(found):
    ds, model, result = found
    assert result.rankings[model]["i1"][0][0] == "target"
    assert result.rankings[model]["i1"][0][1] == pytest.approx(1.0, abs=1e-5)
    assert result.frames[model]["i1"]["target"] == 2.0
    assert set(result.frames[model]["t1"]) == {d for d, _ in result.rankings[model]["t1"]}
    assert result.to_json()["best_frames"] == result.frames


def test_a_videos_score_is_its_best_frames_by_the_models_own_forward(found, tiny_clip_dir, clips):
    from PIL import Image

    ds, model, result = found
    frames = [(d.id, t, Image.fromarray(rgb)) for d in ds.documents for t, rgb in decoded(Path(d.video)).items()]
    query_image = Image.open(clips / "queries" / "red.png").convert("RGB")
    # a text query by the text tower; the image query's cosines by image-image (both normalised: the dot product)
    text_cos = own_cosines(tiny_clip_dir, ["something red"], [f for _, _, f in frames])[0]
    from rag.models.images import ClipEncoder

    enc = ClipEncoder(str(tiny_clip_dir), "cpu")
    image_cos = enc._encode_pil([f for _, _, f in frames]) @ enc._encode_pil([query_image])[0]
    for qid, cos in (("t1", text_cos), ("i1", image_cos)):
        by_video: dict[str, dict[float, float]] = {}
        for (vid, t, _), c in zip(frames, cos):
            by_video.setdefault(vid, {})[t] = float(c)
        best = {v: max(ts.values()) for v, ts in by_video.items()}
        got = result.rankings[model][qid]
        assert len(got) == K and [s for _, s in got] == sorted((s for _, s in got), reverse=True)
        np.testing.assert_allclose([s for _, s in got], sorted(best.values(), reverse=True)[:K], atol=1e-4)
        for vid, score in got:  # each video at its best frame's score, and that frame's second
            assert score == pytest.approx(best[vid], abs=1e-4), (qid, vid)
            assert by_video[vid][result.frames[model][qid][vid]] == pytest.approx(best[vid], abs=1e-4), (qid, vid)
    assert result.frames[model]["i1"]["target"] == 2.0


def test_metrics_equal_pytrec_eval_on_the_returned_rankings(found):
    import pytrec_eval

    ds, model, result = found

    run = {q: {d: float(s) for d, s in hits} for q, hits in result.rankings[model].items()}
    per = pytrec_eval.RelevanceEvaluator(ds.qrels, {f"ndcg_cut.{K}", f"P.{K}", "recip_rank"}).evaluate(run)
    for metric, key in ((f"ndcg@{K}", f"ndcg_cut_{K}"), (f"precision@{K}", f"P_{K}"), (f"mrr@{K}", "recip_rank")):
        assert result.metrics[model][metric] == pytest.approx(np.mean([per[q][key] for q in ds.qrels]), abs=1e-9)


def test_the_table_and_report_show_the_best_frame_and_its_second(found):
    from PIL import Image

    from evaluators.retrieval.evaluate import IMAGE_COLUMN, THUMB_PX, comparison_table
    from rag.data.video import frame_data_uri, frame_png

    ds, model, result = found
    table = comparison_table(ds, result, "i1", thumbs=THUMB_PX)
    assert table[model].iloc[0] == "✅ target.mp4 @ 2.0 s"
    assert table[model + IMAGE_COLUMN].iloc[0] == frame_data_uri(ds.doc("target").video, 2.0, THUMB_PX)
    import io

    thumb = np.asarray(Image.open(io.BytesIO(frame_png(ds.doc("target").video, 2.0, THUMB_PX))).convert("RGB"))
    assert np.argmax(thumb[thumb.shape[0] // 2, thumb.shape[1] // 2]) == 0  # the red frame, not a blue one
    first = np.asarray(Image.open(io.BytesIO(frame_png(ds.doc("target").video, 0.0, THUMB_PX))).convert("RGB"))
    assert np.argmax(first[first.shape[0] // 2, first.shape[1] // 2]) == 2


def test_models_that_cannot_search_frames_are_refused_with_why(retriever, clips, tiny_clip_dir):
    from rag.data.samples.images import load_image_sample

    ds = load_video_folder(clips)
    with pytest.raises(ModelUnavailable) as e:
        retriever.index(ds, ["minilm"])
    assert str(e.value) == ("minilm embeds text and clips is a video dataset: use a clip:FOLDER (text and image "
                            "queries) or img:FOLDER (image queries) model on its frames, or transcribe its speech "
                            "with asr:FOLDER")
    with pytest.raises(ModelUnavailable) as e:
        retriever.index(ds, ["minilm#fps=2"])
    assert str(e.value) == ("minilm#fps=2: fps applies to clip:FOLDER and img:FOLDER models (the frames of a "
                            "video folder)")
    with pytest.raises(ModelUnavailable) as e:
        retriever.index(ds, [f"clip:{tiny_clip_dir}#fps=0"])
    assert str(e.value) == "option fps='0': give frames a second above 0 and at most 10, e.g. fps=0.5"
    with pytest.raises(ModelUnavailable) as e:
        retriever.index(load_image_sample(), [f"clip:{tiny_clip_dir}#fps=2"])
    assert str(e.value) == (f"clip:{tiny_clip_dir}#fps=2: fps applies to video datasets (frames a second) and "
                            "image-sample is not one")


@pytest.mark.slow
def test_cli_on_the_video_sample_at_half_a_frame_a_second(milvus, tiny_clip_dir, tmp_path):
    from rag.data.loaders import load_dataset

    out = tmp_path / "video.json"
    model = f"clip:{tiny_clip_dir}#fps=0.5"
    p = subprocess.run([sys.executable, "cli.py", "retrieval", "--dataset", "video-sample", "--models", model,
                        "--k", "5", "--output", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=600,
                       env=os.environ.copy())
    assert p.returncode == 0, p.stderr
    assert "video-sample: 6 documents, 8 judged queries" in p.stdout
    data = json.loads(out.read_text())
    ds = load_dataset("video-sample")
    expected = trec_means(data["rankings"][model], ds.qrels)
    for metric, value in expected.items():
        assert data["metrics"][model][metric] == pytest.approx(value, abs=1e-9), metric
    for qid, hits in data["rankings"][model].items():  # every ranked video has its best frame, on the 2 s grid
        assert set(data["best_frames"][model][qid]) == {d for d, _ in hits}
        assert all(t in (0.0, 2.0, 4.0) for t in data["best_frames"][model][qid].values())
