"""``cli.py retrieval --asr asr:FOLDER`` on an audio folder: the text JSON contract with segment ids, on real
Milvus Lite and BM25, metrics equal to pytrec_eval on the rankings returned, and the refusals as one line."""

from __future__ import annotations

import html
import json

import pytest

from rag.data.audio import load_audio_folder
from rag.models.asr import transcribe_dataset
from tests.models.test_asr import talks  # noqa: F401  (the fixture)
from tests.retrieval.test_images_retrieval import K, run_cli, trec_means
from tests.support.tiny_whisper import make_tiny_whisper

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def whisper(tiny_models_dir):
    return make_tiny_whisper(tiny_models_dir / "whisper-cli")


def test_cli_compares_text_models_on_transcribed_segments(milvus, whisper, talks, tmp_path):  # noqa: F811
    out = tmp_path / "asr.json"
    p = run_cli("retrieval", "--dataset", str(talks), "--asr", f"asr:{whisper}", "--models", "bm25",
                "--k", str(K), "--output", str(out))
    assert p.returncode == 0, p.stderr
    text_ds = transcribe_dataset(load_audio_folder(talks), f"asr:{whisper}")
    segments = [d.id for d in text_ds.documents]
    assert segments and all("@" in s for s in segments)
    data = json.loads(out.read_text())
    assert sorted(data["rankings"]["bm25"]) == ["t1"]
    assert {d for d, _ in data["rankings"]["bm25"]["t1"]} <= set(segments)
    for metric, value in trec_means(data["rankings"]["bm25"], text_ds.qrels).items():
        assert data["metrics"]["bm25"][metric] == pytest.approx(value, abs=1e-9)
    assert data["asr"]["segments"] == len(segments) and data["asr"]["dropped_audio_queries"] == 1
    assert data["asr"]["wer"] is None
    from evaluators.report.build import build_report
    from rag.runs import RunStore

    store = RunStore.default()
    run = store.get(data["run_id"])
    assert run.config["asr"] == data["asr"] and run.dataset_hash == text_ds.content_hash()
    page = build_report(store, [data["run_id"]], n_resamples=200)  # re-reads the folder, re-transcribes (cached)
    assert "could not be re-read" not in page
    from rag.models.asr import summary

    assert html.escape(summary(data["asr"])) in page  # the run's manifest: speech to text, WER
    assert data["asr"]["spec"] == f"asr:{whisper}" and data["asr"]["options"]["dtype"] == "float32"
    assert "<h3>Speech to text</h3>" in page  # its own table beside Models as encoded
    top = data["rankings"]["bm25"]["t1"][0][0]
    assert text_ds.doc(top).title in page  # file and time range: 'intro.wav 0.1-18.6 s'
    line = next(x for x in p.stdout.splitlines() if x.startswith("asr:"))
    assert line.startswith(f"asr:{whisper.resolve()}: 2 sounds -> {len(segments)} segments (")  # cache: 0 or 2
    assert line.endswith("; 0 without speech; 1 audio queries left out; WER not measured (no transcripts.jsonl)")


def test_cli_refuses_asr_on_a_text_dataset_and_a_folder_that_is_not_whisper(whisper, tmp_path):
    p = run_cli("retrieval", "--dataset", "sample", "--asr", f"asr:{whisper}", "--models", "bm25")
    assert p.returncode == 2
    from rag.data.loaders import load_dataset

    assert p.stderr.strip().splitlines()[-1] == (
        f"error: {load_dataset('sample').name} is a text dataset: asr:{whisper} transcribes audio and video "
        "datasets only")
    p = run_cli("retrieval", "--dataset", "audio-sample", "--asr", f"asr:{tmp_path}", "--models", "bm25")
    assert p.returncode == 2
    assert p.stderr.strip().splitlines()[-1] == (
        f"error: {tmp_path} has no config.json: save the Whisper model there with save_pretrained (transformers)")
