"""Audio retrieval through the whole path on real parts: tiny random CLAP and AST folders
(tests/support/tiny_audio_models.py), the built-in audio sample, real Milvus Lite, the CLI's JSON
contract, run records, and metrics cross-checked with pytrec_eval.

Random weights make quality meaningless, so the tests assert what holds anyway: an audio query whose
file is in the corpus ranks that file first (the same bytes give the same vector), metrics are exactly
trec_eval's on the rankings returned, and models that cannot evaluate the dataset are refused with why.
"""

from __future__ import annotations

import json

import pytest

from rag.data.samples.audio import load_audio_sample
from rag.models.base import ModelUnavailable
from tests.retrieval.test_images_retrieval import K, run_cli, trec_means

pytestmark = pytest.mark.slow


def own_sound_first(rankings: dict[str, list]) -> None:
    ds = load_audio_sample()
    by_sha = {d.audio_sha: d.id for d in ds.documents}
    own = {q.id: by_sha[q.audio_sha] for q in ds.queries if q.audio_sha in by_sha}
    assert own == {"a1": "tone-440", "a2": "chirp-up-1"}
    for qid, doc in own.items():
        assert rankings[qid][0][0] == doc, (qid, rankings[qid][:3])


def test_cli_compares_audio_models_with_trec_eval_metrics_and_records_the_run(milvus, tiny_clap_dir, tiny_ast_dir,
                                                                              tmp_path):
    out = tmp_path / "audio.json"
    models = [f"clap:{tiny_clap_dir}", f"aud:{tiny_ast_dir}"]
    p = run_cli("retrieval", "--dataset", "audio-sample", "--models", ",".join(models), "--queries", "audio",
                "--k", str(K), "--output", str(out))
    assert p.returncode == 0, p.stderr
    data = json.loads(out.read_text())
    ds = load_audio_sample().select_queries("audio")
    assert data["dataset"] == "audio-sample" and data["k"] == K
    for m in models:
        assert sorted(data["rankings"][m]) == ["a1", "a2", "a3", "a4", "a5"]
        own_sound_first(data["rankings"][m])
        for metric, value in trec_means(data["rankings"][m], ds.qrels).items():
            assert data["metrics"][m][metric] == pytest.approx(value, abs=1e-9)
    from rag.runs import RunStore

    run = RunStore.default().get(data["run_id"])
    assert run.kind == "retrieval" and run.config["query_kinds"] == {"audio": 5}
    assert run.dataset_hash == ds.content_hash()


def test_text_and_audio_queries_together_with_clap(retriever, tiny_clap_dir):
    ds = load_audio_sample()
    ref = f"clap:{tiny_clap_dir}"
    found = retriever.search_all(ds, [ref], k=K)
    assert sorted(found.rankings[ref]) == sorted(q.id for q in ds.judged_queries)
    own_sound_first(found.rankings[ref])
    built = retriever.index(ds, [ref])[ref]
    assert built.reused and built.n_docs == 20
    rows = retriever.store.client.query(built.name, filter='id in ["tone-440"]', output_fields=["id", "path", "text"])
    assert rows[0]["path"] == ds.doc("tone-440").audio and rows[0]["text"].endswith("a pure tone at 440 Hz")


def test_models_that_cannot_evaluate_audio_are_refused_before_any_work(retriever, tiny_ast_dir):
    ds = load_audio_sample()
    with pytest.raises(ModelUnavailable) as e:
        retriever.search_all(ds, ["minilm"], k=3)
    assert str(e.value) == ("minilm embeds text and audio-sample is an audio dataset: use a clap:FOLDER (text and "
                            "audio queries) or aud:FOLDER (audio queries) model")
    with pytest.raises(ModelUnavailable) as e:
        retriever.search_all(ds, [f"aud:{tiny_ast_dir}"], k=3)
    assert str(e.value).startswith(f"aud:{tiny_ast_dir} is an audio backbone (audio→audio only): it cannot embed "
                                   "the 10 text queries of audio-sample")


def test_text_only_jobs_refuse_an_audio_dataset_in_one_line(milvus):
    p = run_cli("rag", "--dataset", "audio-sample", "--models", "bm25", "--limit", "1")
    assert p.returncode == 2
    assert p.stderr.strip().splitlines()[-1] == (
        "error: audio-sample is an audio dataset: a RAG run evaluates text datasets only; compare audio retrieval "
        "on the Retrieval page or with cli.py retrieval")
