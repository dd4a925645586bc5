"""Sweeps over audio and speech-to-text models on an audio folder written here: real Milvus Lite, BM25, the
packaged MiniLM, a tiny random CLAP and two tiny random Whisper folders (tests/support).

Oracles: the Retrieval comparison (``evaluate_retrieval``) for the CLAP setup; for an ASR setup the retrieval
path on the same transcript (``transcribe_dataset`` then ``evaluate_retrieval``), its segment rankings
collapsed to sounds here (a sound takes its best segment's place) and scored by pytrec_eval on the folder's
qrels; the word error rate by jiwer on the segments joined here; the exported script run in a subprocess.
The queries are words the tiny Whisper said about the sounds (its transcript is read first), so BM25 has
something to find and the numbers are not all zero (random weights say the same words for every sound, so
ties are broken by id, as trec_eval does: the collapse and pytrec_eval must agree on them).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from evaluators.retrieval.evaluate import evaluate_retrieval
from evaluators.sweep.run import plan_sweep, run_sweep
from evaluators.sweep.setups import grid
from rag.data.audio import load_audio_folder
from rag.models.asr import transcribe_dataset
from tests.support.tiny_whisper import make_tiny_whisper

pytestmark = pytest.mark.slow
K = 3
RATE = 16_000


@pytest.fixture(scope="module")
def whispers(tiny_models_dir):
    return tuple(make_tiny_whisper(tiny_models_dir / f"whisper-sweep-{x}") for x in "ab")


@pytest.fixture(scope="module")
def folder(tmp_path_factory, whispers) -> Path:
    """Two sounds (the bytes of tests/models/test_asr.py's ``talks``: their transcripts are in the session's
    cache when that file ran first), transcripts.jsonl, two text queries made of what Whisper A said and one
    audio query."""
    from tests.models.test_asr import tone

    root = tmp_path_factory.mktemp("audio-sweep") / "sounds"
    (root / "corpus").mkdir(parents=True)
    (root / "qrels").mkdir()
    (root / "queries").mkdir()
    sf.write(root / "corpus" / "hum.wav", tone(300, 2.0), RATE)
    sf.write(root / "corpus" / "whistle.flac", np.stack([tone(500, 1.5, 22_050)] * 2, axis=1), 22_050)
    sf.write(root / "queries" / "q.wav", tone(300, 1.0), RATE)
    (root / "transcripts.jsonl").write_text('{"_id": "hum", "text": "a low hum"}\n'
                                            '{"_id": "whistle", "text": "Whistle, whistle!"}\n')
    (root / "queries.jsonl").write_text('{"_id": "a1", "audio": "queries/q.wav"}\n')
    (root / "qrels" / "test.tsv").write_text("a1\thum\t1\n")
    text = transcribe_dataset(load_audio_folder(root), f"asr:{whispers[0]}")
    said: dict[str, list[str]] = {}
    for d in text.documents:  # the words Whisper A said in each sound (random weights: the same in each)
        said.setdefault(Path(d.id.rpartition("@")[0]).stem, []).append(d.text)
    assert {"hum", "whistle"} <= set(said), said
    queries = [{"_id": "t1", "text": " ".join(sorted(set(said["hum"])))}, {"_id": "t2", "text": said["whistle"][-1]},
               {"_id": "a1", "audio": "queries/q.wav"}]
    (root / "queries.jsonl").write_text("".join(json.dumps(q) + "\n" for q in queries))
    (root / "qrels" / "test.tsv").write_text("t1\thum\t2\nt1\twhistle\t1\nt2\twhistle\t1\na1\thum\t1\n")
    return root


@pytest.fixture(scope="module")
def swept(retriever, folder, whispers, tiny_clap_dir):
    ds = load_audio_folder(folder)
    setups = grid([f"asr:{whispers[0]}+bm25", f"asr:{whispers[1]}+minilm", f"clap:{tiny_clap_dir}"], ks=[K])
    return ds, run_sweep(retriever, ds, setups, n_resamples=1000, latency_sample_size=2)


def to_sounds(ranking, title_to_id) -> list[tuple[str, float]]:
    """Segments (FILE@START-END) best first as sounds, each at its best segment's place (written here)."""
    out, seen = [], set()
    for seg, score in ranking:
        sound = title_to_id[seg.rpartition("@")[0]]
        if sound not in seen:
            seen.add(sound)
            out.append((sound, score))
    return out


def trec_means(rankings: dict[str, list], qrels: dict[str, dict[str, int]]) -> dict[str, float]:
    """pytrec_eval's means at K over the judged queries, on exactly the rankings given."""
    import pytrec_eval

    run = {q: {d: float(s) for d, s in hits} for q, hits in rankings.items()}
    per = pytrec_eval.RelevanceEvaluator(qrels, {f"P.{K}", f"recall.{K}", f"ndcg_cut.{K}", "recip_rank"}).evaluate(run)
    return {m: sum(per.get(q, {}).get(key, 0.0) for q in qrels) / len(qrels)
            for m, key in ((f"precision@{K}", f"P_{K}"), (f"recall@{K}", f"recall_{K}"),
                           (f"ndcg@{K}", f"ndcg_cut_{K}"), (f"mrr@{K}", "recip_rank"))}


def test_each_setup_scores_like_the_retrieval_path(retriever, swept, whispers, tiny_clap_dir):
    ds, result = swept
    text_queries = ds.select_queries("text")
    by_id = {r.setup.id: r for r in result.setups}
    assert list(by_id) == [f"asr:{whispers[0]}+bm25 | whole | k3", f"asr:{whispers[1]}+minilm | whole | k3",
                           f"clap:{tiny_clap_dir} | whole | k3"]
    clap = evaluate_retrieval(retriever, text_queries, [f"clap:{tiny_clap_dir}"], k=K)
    got = by_id[f"clap:{tiny_clap_dir} | whole | k3"]
    assert got.rankings == clap.rankings[f"clap:{tiny_clap_dir}"] and got.asr is None
    assert got.metrics == pytest.approx(clap.metrics[f"clap:{tiny_clap_dir}"], abs=1e-12)
    titles = {d.title: d.id for d in ds.documents}
    qrels = {q.id: ds.qrels[q.id] for q in text_queries.judged_queries}
    for whisper, model in ((whispers[0], "bm25"), (whispers[1], "minilm")):
        text = transcribe_dataset(ds, f"asr:{whisper}")
        oracle = evaluate_retrieval(retriever, text, [model], k=K)
        sounds = {q: to_sounds(r, titles) for q, r in oracle.rankings[model].items()}
        got = by_id[f"asr:{whisper}+{model} | whole | k3"]
        assert set(sounds) == set(qrels) and got.rankings == sounds
        for metric, value in trec_means(sounds, qrels).items():
            assert got.metrics[metric] == pytest.approx(value, abs=1e-9), metric
    assert by_id[f"asr:{whispers[0]}+bm25 | whole | k3"].metrics["recall@3"] > 0  # its own words found


def test_wer_is_recorded_beside_the_score_and_on_the_leaderboard(swept, whispers, tiny_clap_dir):
    import jiwer

    from evaluators.report.encoded import asr_frame
    from evaluators.sweep.leaderboard import Leaderboard
    from rag.runs import RunStore

    ds, result = swept
    norm = lambda t: " ".join(re.sub(r"[^\w\s']", " ", t.lower()).split())  # noqa: E731
    text = transcribe_dataset(ds, f"asr:{whispers[0]}")
    joined = {s: " ".join(d.text for d in text.documents if d.id.startswith(f"{s}@"))
              for s in ("hum.wav", "whistle.flac")}
    want = jiwer.wer([norm("a low hum"), norm("Whistle, whistle!")], [norm(joined["hum.wav"]),
                                                                      norm(joined["whistle.flac"])])
    asr_a = next(r for r in result.setups if r.setup.asr == f"asr:{whispers[0]}")
    assert asr_a.asr["wer"] == pytest.approx(want) and asr_a.asr["wer_files"] == 2
    assert asr_a.asr["spec"] == f"asr:{whispers[0]}" and asr_a.asr["options"]["device"] == "cpu"
    board = Leaderboard(**result.leaderboard)
    shown = board.display().set_index("setup")
    assert list(shown.columns[:6]) == ["rank", "letters", "mean", "ci_low", "ci_high", "wer"]
    assert shown.loc[asr_a.setup.id, "wer"] == f"{want:.1%}"
    assert shown.loc[f"clap:{tiny_clap_dir} | whole | k3", "wer"] == "— no speech to text"
    run = RunStore.default().get(result.run_id)
    assert run.summary["asr"][asr_a.setup.id] == asr_a.asr and run.config["grid"]["asrs"] == sorted(
        {f"asr:{w}" for w in whispers})
    frame = asr_frame(run)
    assert list(frame["setup"]) == [r.setup.id for r in result.setups if r.asr]
    assert frame.loc[0, "WER"] == f"{want:.1%} over 2 sounds"


def test_the_winner_exported_as_code_reproduces_it(swept, milvus, tmp_path, monkeypatch, whispers, tiny_clap_dir):
    """The pymilvus script of the BM25-over-transcript setup and of the CLAP one (the MiniLM recipe is tested in
    test_setup_export.py), each run as a user's code imports it, against what the sweep recorded."""
    import runpy

    from evaluators.sweep.export import export_setup, script_name
    from rag.runs import RunStore

    ds, result = swept
    recorded = {}
    for row in RunStore.default().typed_rows(result.run_id):
        recorded.setdefault(row.model, {})[row.item_id] = row.ranking
    questions = {q.id: q.text for q in ds.select_queries("text").judged_queries}
    monkeypatch.setenv("MILVUS_URI", milvus.uri)
    for setup_id in (f"asr:{whispers[0]}+bm25 | whole | k3", f"clap:{tiny_clap_dir} | whole | k3"):
        script = tmp_path / script_name(setup_id, "pymilvus")
        script.write_text(export_setup(result.run_id, setup_id, "pymilvus"))
        top_k = runpy.run_path(str(script))["top_k"]
        for q, text in questions.items():
            got, want = top_k(text), recorded[setup_id][q]
            assert [d for d, _ in got] == [d for d, _ in want], (setup_id, q)
            assert [sc for _, sc in got] == pytest.approx([sc for _, sc in want], abs=1e-4), (setup_id, q)
    assert {d for r in recorded[f"asr:{whispers[0]}+bm25 | whole | k3"].values() for d, _ in r} <= {"hum", "whistle"}


def test_cli_sweeps_an_audio_folder_and_refuses_a_text_model_without_asr(milvus, folder, whispers, tiny_clap_dir,
                                                                          tmp_path, capsys):
    import cli

    out = tmp_path / "sweep.json"
    code = cli.main(["sweep", "--dataset", str(folder), "--models", f"bm25,clap:{tiny_clap_dir}", "--asr",
                     f"asr:{whispers[0]}", "--k", str(K), "--latency-sample", "2", "--output", str(out)])
    stdout, stderr = capsys.readouterr()
    assert code == 0, stderr
    data = json.loads(out.read_text())
    assert [s["id"] for s in data["setups"]] == [f"asr:{whispers[0]}+bm25 | whole | k3",
                                                 f"clap:{tiny_clap_dir} | whole | k3"]
    record = data["setups"][0]["asr"]
    assert record["spec"] == f"asr:{whispers[0]}" and data["setups"][1]["asr"] is None
    assert f"{record['model']}: 2 sounds -> {record['segments']} segments" in stdout
    header = next(line for line in stdout.splitlines() if line.split()[:3] == ["rank", "letters", "setup"])
    assert header.split()[3:7] == ["mean", "ci_low", "ci_high", "wer"]  # WER beside the score
    code = cli.main(["sweep", "--dataset", str(folder), "--models", "bm25", "--k", str(K)])
    assert code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f"error: bm25 embeds text and {load_audio_folder(folder).name} is an audio dataset: give it a "
        "speech-to-text model (asr:FOLDER+bm25, or the ASR models list) or use a clap:/aud: model")


def test_plan_counts_the_transcripts_segments(retriever, folder, whispers):
    ds = load_audio_folder(folder)
    plan = plan_sweep(retriever, ds, grid(["bm25"], asrs=[f"asr:{whispers[0]}"], ks=[K]), timed=False)
    segments = len(transcribe_dataset(ds, f"asr:{whispers[0]}").documents)
    assert plan.searches == 2 and plan.collections == 1 and plan.units_to_index in (0, segments)
