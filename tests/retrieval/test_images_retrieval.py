"""Image retrieval through the whole path on real parts: tiny random CLIP / SigLIP / ResNet folders
(built from configs, tests/support/tiny_models.py), the built-in image sample or a folder made here, real
Milvus Lite, the CLI's JSON contract, and metrics cross-checked with pytrec_eval.

Random weights make quality meaningless, so the tests assert what holds anyway: an image query whose
image is in the corpus ranks that image first (its vector is the same vector), metrics are exactly
trec_eval's on the rankings returned, and models that cannot evaluate a dataset are refused with why.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from rag.data.dataset import DatasetError
from rag.data.samples.images import IMAGE_QUERY_SOURCES, load_image_sample
from rag.models.base import ModelUnavailable
from tests.conftest import ROOT

pytestmark = pytest.mark.slow

K = 5


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "cli.py", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=600, env=os.environ.copy())


def trec_means(rankings: dict[str, list], qrels: dict[str, dict[str, int]]) -> dict[str, float]:
    """pytrec_eval's means over the judged queries, on exactly the rankings given."""
    import pytrec_eval

    run = {q: {d: float(s) for d, s in hits} for q, hits in rankings.items()}
    ev = pytrec_eval.RelevanceEvaluator({q: dict(r) for q, r in qrels.items()},
                                        {f"P.{K}", f"recall.{K}", f"ndcg_cut.{K}", "recip_rank"})
    per = ev.evaluate(run)
    n = len(qrels)
    return {m: sum(per.get(q, {}).get(key, 0.0) for q in qrels) / n
            for m, key in ((f"precision@{K}", f"P_{K}"), (f"recall@{K}", f"recall_{K}"),
                           (f"ndcg@{K}", f"ndcg_cut_{K}"), (f"mrr@{K}", "recip_rank"))}


def in_corpus(ds) -> dict[str, str]:
    """Image queries whose bytes are a corpus image's: query id -> that image's id (i1, i2 in the sample)."""
    by_sha = {d.image_sha: d.id for d in ds.documents}
    return {q.id: by_sha[q.image_sha] for q in ds.queries if q.image_sha in by_sha}


def own_image_first(rankings: dict[str, list]) -> None:
    own = in_corpus(load_image_sample())
    assert own == {"i1": "red-circle", "i2": "green-star"} == {q: IMAGE_QUERY_SOURCES[q] for q in own}
    for qid, doc in own.items():
        assert rankings[qid][0][0] == doc, (qid, rankings[qid][:3])


@pytest.fixture(scope="module")
def sample_json(milvus, tiny_clip_dir, tiny_siglip_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("img") / "images.json"
    models = f"clip:{tiny_clip_dir},clip:{tiny_siglip_dir}"
    p = run_cli("retrieval", "--dataset", "image-sample", "--models", models, "--k", str(K), "--output", str(out))
    assert p.returncode == 0, p.stderr
    return json.loads(out.read_text()), [f"clip:{tiny_clip_dir}", f"clip:{tiny_siglip_dir}"], p.stdout


def test_cli_writes_the_retrieval_contract_for_an_image_sample(sample_json):
    data, models, stdout = sample_json
    assert "image-sample: 30 documents, 15 judged queries" in stdout
    assert data["dataset"] == "image-sample" and data["k"] == K and data["run_id"]
    assert list(data["metrics"]) == models
    for m in models:
        assert len(data["rankings"][m]) == 15  # 10 text queries and 5 image queries
        assert all(len(hits) == K for hits in data["rankings"][m].values())


def test_an_image_query_in_the_corpus_ranks_its_own_image_first(sample_json):
    data, models, _ = sample_json
    for m in models:
        own_image_first(data["rankings"][m])


def test_metrics_equal_pytrec_eval_on_the_returned_rankings(sample_json):
    data, models, _ = sample_json
    ds = load_image_sample()
    for m in models:
        expected = trec_means(data["rankings"][m], ds.qrels)
        for metric, value in expected.items():
            assert data["metrics"][m][metric] == pytest.approx(value, abs=1e-9), (m, metric)


def test_the_run_records_the_image_dataset_and_models(sample_json):
    from rag.runs import RunStore

    data, models, _ = sample_json
    run = RunStore.default().get(data["run_id"])
    assert run.config["dataset_source"] == "image-sample"
    assert run.config["query_kinds"] == {"text": 10, "image": 5}
    assert run.config["model_ids"][models[0]].startswith("clip:")


def test_an_image_backbone_refuses_text_queries_with_the_reason(milvus, tiny_resnet_dir):
    p = run_cli("retrieval", "--dataset", "image-sample", "--models", f"img:{tiny_resnet_dir}", "--k", str(K))
    assert p.returncode == 2, p.stderr
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert lines == [f"error: img:{tiny_resnet_dir} is an image backbone (image→image only): it cannot embed the "
                     "10 text queries of image-sample; keep only the image queries (--queries image, or 'image' "
                     "under Queries on the Retrieval page)"]


def test_image_queries_only_with_a_backbone_and_clip(milvus, tiny_resnet_dir, tiny_clip_dir, tmp_path):
    out = tmp_path / "image-queries.json"
    models = [f"img:{tiny_resnet_dir}", f"clip:{tiny_clip_dir}"]
    p = run_cli("retrieval", "--dataset", "image-sample", "--models", ",".join(models), "--queries", "image",
                "--k", str(K), "--output", str(out))
    assert p.returncode == 0, p.stderr
    data = json.loads(out.read_text())
    ds = load_image_sample().select_queries("image")
    for m in models:
        assert sorted(data["rankings"][m]) == ["i1", "i2", "i3", "i4", "i5"]
        own_image_first(data["rankings"][m])
        for metric, value in trec_means(data["rankings"][m], ds.qrels).items():
            assert data["metrics"][m][metric] == pytest.approx(value, abs=1e-9)


def test_queries_option_refuses_other_values(milvus):
    p = run_cli("retrieval", "--dataset", "image-sample", "--queries", "video")
    assert p.returncode == 2 and "--queries video: give all, text, image or audio" in p.stderr


# ---------------------------------------------------------------- in process: the collection, a user's folder

def make_folder(root, colours=("red", "green", "blue", "white")):
    from PIL import Image

    (root / "corpus").mkdir(parents=True)
    (root / "qrels").mkdir()
    rgb = {"red": (220, 20, 20), "green": (20, 200, 20), "blue": (20, 20, 220), "white": (250, 250, 250)}
    for c in colours:
        Image.new("RGB", (40, 30), rgb[c]).save(root / "corpus" / f"{c}.png")
    (root / "queries.jsonl").write_text('{"_id": "q1", "image": "corpus/red.png"}\n'
                                        '{"_id": "q2", "text": "something green"}\n')
    (root / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\tred\t1\nq2\tgreen\t1\n")
    return root


def test_a_users_folder_is_indexed_with_ids_paths_and_vectors(retriever, tiny_clip_dir, tmp_path):
    from rag.data.images import load_image_folder
    from rag.models.registry import resolve

    ds = load_image_folder(make_folder(tmp_path / "mine"))
    spec = resolve(f"clip:{tiny_clip_dir}")
    built = retriever.index(ds, [spec.ref])[spec.ref]
    assert built.n_docs == 4 and not built.reused
    fields = {f["name"] for f in retriever.store.client.describe_collection(built.name)["fields"]}
    assert {"id", "title", "path", "dense"} <= fields
    rows = retriever.store.client.query(built.name, filter='id in ["red", "blue"]', output_fields=["id", "path"])
    assert {r["id"]: r["path"] for r in rows} == {"red": str(tmp_path / "mine" / "corpus" / "red.png"),
                                                  "blue": str(tmp_path / "mine" / "corpus" / "blue.png")}
    found = retriever.search_all(ds, [spec.ref], k=4)
    assert found.rankings[spec.ref]["q1"][0][0] == "red"
    assert retriever.index(ds, [spec.ref])[spec.ref].reused  # same bytes: the same collection

    # changed bytes under the same name: a new corpus hash, a new build, the stale one dropped
    from PIL import Image

    Image.new("RGB", (40, 30), (0, 0, 0)).save(tmp_path / "mine" / "corpus" / "white.png")
    ds2 = load_image_folder(tmp_path / "mine")
    assert ds2.corpus_hash() != ds.corpus_hash()
    rebuilt = retriever.index(ds2, [spec.ref])[spec.ref]
    assert not rebuilt.reused and rebuilt.name != built.name
    assert not retriever.store.client.has_collection(built.name)


def test_models_that_cannot_evaluate_a_dataset_are_refused_before_any_work(retriever, tiny_clip_dir, sample):
    images = load_image_sample()
    with pytest.raises(ModelUnavailable) as e:
        retriever.search_all(images, ["minilm"], k=3)
    assert str(e.value) == ("minilm embeds text and image-sample is an image dataset: use a clip:FOLDER (text and "
                            "image queries) or img:FOLDER (image queries) model")
    with pytest.raises(ModelUnavailable) as e:
        retriever.search_all(sample, [f"clip:{tiny_clip_dir}"], k=3)
    assert str(e.value) == f"clip:{tiny_clip_dir} embeds images and sample is a text dataset: use a text model"


def test_a_corrupt_image_in_a_users_folder_is_named(milvus, tmp_path):
    root = make_folder(tmp_path / "bad")
    (root / "corpus" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    p = run_cli("retrieval", "--dataset", str(root), "--models", "bm25")
    assert p.returncode == 2
    assert "corpus/broken.png" in p.stderr and "corrupt" in p.stderr and "Traceback" not in p.stderr
    with pytest.raises(DatasetError):
        from rag.data.images import load_image_folder

        load_image_folder(root)


@pytest.mark.parametrize("args,job", [
    (["rag", "--models", "bm25", "--limit", "1"], "a RAG run"),
    (["loadtest", "--models", "bm25", "--users", "1", "--duration", "1"], "a load test"),
    (["sweep", "--models", "bm25", "--k", "3"], "a sweep"),
])
def test_text_only_jobs_refuse_an_image_dataset_in_one_line(milvus, args, job):
    p = run_cli(args[0], "--dataset", "image-sample", *args[1:])
    assert p.returncode == 2
    assert p.stderr.strip().splitlines()[-1] == (
        f"error: image-sample is an image dataset: {job} evaluates text datasets only; compare image retrieval "
        "on the Retrieval page or with cli.py retrieval")
