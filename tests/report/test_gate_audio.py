"""The gate, ``check-regression`` and the CLI JSON on audio runs (issue 28 item 5: the same comparison
everywhere): a CLAP run on sounds and a BM25 run on their transcript (tiny random CLAP and Whisper, real
Milvus Lite), each gated on the run's own statistics; the ASR model's WER gated with ``--metric wer``; a
regression file on the sounds and one on the transcript. Oracles: the retrieval JSON's metrics, the run
store's statistics and the ranking the run recorded."""

from __future__ import annotations

import json

import pytest

import cli
from evaluators.stats.run_stats import run_stats
from rag.runs import RunStore
from tests.models.test_asr import talks  # noqa: F401  (the fixture)
from tests.support.tiny_whisper import make_tiny_whisper

pytestmark = pytest.mark.slow
K = 2


def call(capsys, *args) -> tuple[int, str, str]:
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def whisper(tiny_models_dir):
    return make_tiny_whisper(tiny_models_dir / "whisper-gate")


def test_gate_and_regression_on_a_clap_run_over_sounds(milvus, talks, tiny_clap_dir, tmp_path, capsys):  # noqa: F811
    out = tmp_path / "clap.json"
    model = f"clap:{tiny_clap_dir}"
    code, _, err = call(capsys, "retrieval", "--dataset", str(talks), "--models", model, "--k", str(K),
                        "--output", str(out))
    assert code == 0, err
    data = json.loads(out.read_text())
    mean = run_stats(RunStore.default(), [data["run_id"]]).get(f"ndcg@{K}").result.models[0].mean
    assert mean == pytest.approx(data["metrics"][model][f"ndcg@{K}"], abs=1e-12)
    code, out_, _ = call(capsys, "gate", "--run", data["run_id"], "--metric", f"ndcg@{K}", "--min", "0")
    assert code == 0 and out_.strip() == f"gate passed (run {data['run_id']}): ndcg@{K} >= 0: {model} {mean:.4f}"
    code, _, err = call(capsys, "gate", "--run", data["run_id"], "--metric", f"ndcg@{K}", "--min", "1.01")
    assert code == 1 and err.strip() == (f"GATE FAILED (run {data['run_id']}): {model} ndcg@{K} = {mean:.4f} "
                                         f"< min 1.01")
    top = {q: [d for d, _ in r][:K] for q, r in data["rankings"][model].items()}
    reg = tmp_path / "reg.json"
    reg.write_text(json.dumps({"dataset_source": str(talks), "model": model, "k": K, "questions": [
        {"id": q, "question": q, "expected_top": ids[:1]} for q, ids in top.items()]}))
    code, out_, _ = call(capsys, "check-regression", str(reg))
    assert code == 0 and out_.strip().startswith(f"✅ 2/2 questions keep their expected documents in the top {K} "
                                                 f"of {model} (collection ")


def test_gate_and_regression_on_a_transcript_run(milvus, talks, whisper, tmp_path, capsys):  # noqa: F811
    out = tmp_path / "asr.json"
    code, _, err = call(capsys, "retrieval", "--dataset", str(talks), "--asr", f"asr:{whisper}", "--models", "bm25",
                        "--k", str(K), "--output", str(out))
    assert code == 0, err
    data = json.loads(out.read_text())
    asr = data["asr"]
    assert asr["spec"] == f"asr:{whisper}" and asr["model"] == f"asr:{whisper.resolve()}" and asr["fingerprint"]
    assert asr["options"]["decoding"].startswith("generate(return_timestamps=True)")
    run_id = data["run_id"]
    assert RunStore.default().get(run_id).config["asr"] == asr
    mean = data["metrics"]["bm25"][f"ndcg@{K}"]
    code, out_, _ = call(capsys, "gate", "--run", run_id, "--metric", f"ndcg@{K}", "--min", "0")
    assert code == 0 and out_.strip() == (f"gate passed (run {run_id}): ndcg@{K} >= 0: bm25 {mean:.4f} · text by "
                                          f"ASR {whisper.name}, WER not measured")
    code, _, err = call(capsys, "gate", "--run", run_id, "--metric", "wer", "--max", "0.5")
    assert code == 1 and err.strip() == f"GATE FAILED (run {run_id}): asr:{whisper} has no wer value"
    code, _, err = call(capsys, "gate", "--run", run_id, "--metric", "wer", "--ci-low", "0.5")
    assert code == 2 and "--ci-low does not apply to wer" in err
    top = data["rankings"]["bm25"]["t1"][0][0]
    reg = tmp_path / "reg.json"
    reg.write_text(json.dumps({"dataset_source": str(talks), "asr": f"asr:{whisper}", "model": "bm25", "k": K,
                               "questions": [{"id": "t1", "question": "the end", "expected_top": [top]}]}))
    code, out_, _ = call(capsys, "check-regression", str(reg))
    assert code == 0 and out_.startswith(f"✅ 1/1 questions keep their expected documents in the top {K} of bm25")
