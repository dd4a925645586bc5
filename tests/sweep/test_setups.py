"""Setups, the grid, document-level scoring, the compact letter display and the cross-encoder reranker.

Real parts: LangChain's splitter, the trec_eval metrics, sentence-transformers' CrossEncoder over a
tiny random BERT saved to a temporary folder (built here, nothing downloaded).
"""

from __future__ import annotations

import math

import pytest

from evaluators.sweep.leaderboard import compact_letters
from evaluators.sweep.run import score_documents
from evaluators.sweep.setups import Setup, grid, parse_reranker, rerank
from rag.data.chunking import chunk_dataset, document_ranking
from rag.data.dataset import Dataset, Document, Query
from rag.milvus.store import parse_fusion

# ---------------------------------------------------------------- setups and the grid


def test_grid_is_the_deduplicated_product():
    setups = grid(["minilm", "hybrid", "bm25"], [None, 200], [0, 20], ["rrf:60", "weighted:0.3"],
                  ["none", "ce:/models/ce"], [5, 10], [20])
    ids = [s.id for s in setups]
    assert len(ids) == len(set(ids))
    # per model: chunkings (whole, c200o0, c200o20) × rerankers 2 × k 2 = 12; hybrid × 2 fusions = 24
    assert len(setups) == 12 + 24 + 12
    assert ids[:3] == ["minilm | whole | k5", "minilm | whole | k10", "minilm | whole | k5 | ce:/models/ce@20"]
    assert {s.fusion for s in setups if s.model != "hybrid"} == {None}          # fusion: hybrid only
    assert {s.depth for s in setups if s.reranker == "none"} == {None}          # a depth only with a reranker
    assert "hybrid | c200o20 | weighted:0.3 | k10" in ids


def test_depth_never_below_k_and_overlap_must_fit():
    [s] = grid(["bm25"], [10], [0, 10, 20], rerankers=["ce:/x"], ks=[30], depths=[20])  # overlaps ≥ size skipped
    assert s.id == "bm25 | c10o0 | k30 | ce:/x@30" and s.fetch == 30
    with pytest.raises(ValueError, match="the grid is empty"):
        grid(["bm25"], [10], [10])


def test_index_key_ignores_query_time_parts():
    a = Setup(model="hybrid", chunk_size=200, chunk_overlap=20, fusion="rrf:60", k=5)
    b = Setup(model="hybrid", chunk_size=200, chunk_overlap=20, fusion="weighted:0.30", k=10,
              reranker="ce:/x", depth=30)
    assert a.index_key == b.index_key == (None, "hybrid", 200, 20)
    assert b.fusion == "weighted:0.3" and b.fetch == 30 and a.fetch == 5


@pytest.mark.parametrize("text,expected", [("rrf:60", ("rrf", 60)), (" RRF:10 ", ("rrf", 10)),
                                           ("weighted:0.3", ("weighted", 0.3)), ("weighted:1", ("weighted", 1.0)),
                                           (None, ("rrf", 60))])
def test_fusion_parses(text, expected):
    assert parse_fusion(text) == expected


@pytest.mark.parametrize("text", ["rrf", "rrf:0", "rrf:2.5", "weighted:1.5", "weighted:-0.1", "max:3"])
def test_bad_fusion_is_refused(text):
    with pytest.raises(ValueError, match="give rrf:K"):
        parse_fusion(text)


def test_rerankers_parse():
    assert parse_reranker(" none ") == "none" and parse_reranker("ce: /m ") == "ce:/m"
    assert parse_reranker("rerank: bge @ http://h:8000/v1") == "rerank:bge@http://h:8000/v1"
    with pytest.raises(ValueError, match="rerank:MODEL@URL"):
        parse_reranker("rerank:bge@h:8000")
    with pytest.raises(ValueError, match="give none, ce:FOLDER"):
        parse_reranker("cohere")


# ---------------------------------------------------------------- chunking and document-level scoring

def test_chunks_keep_their_document():
    ds = Dataset("c", [Document("d#1", "T", "alpha beta gamma delta " * 10), Document("e", "", "short")],
                 [Query("q", "alpha")], {"q": {"d#1": 1}})
    chunked = chunk_dataset(ds, 40, 10)
    ids = [d.id for d in chunked.dataset.documents]
    assert chunked.label == "c40o10" and ids[0] == "d#1#1" and ids[-1] == "e#1"
    assert all(len(d.text) <= 40 for d in chunked.dataset.documents)
    assert {chunked.parents[i] for i in ids} == {"d#1", "e"}  # by the map, never by parsing "#"
    assert all(d.title == "T" for d in chunked.dataset.documents if d.id.startswith("d#1#"))
    assert chunked.dataset.qrels == ds.qrels
    assert chunk_dataset(ds, None).dataset is ds


def test_two_chunks_of_a_relevant_document_count_once_at_the_best_rank():
    parents = {"d1#1": "d1", "d1#2": "d1", "d2#1": "d2", "d3#1": "d3"}
    found = {"q": [("d1#1", 0.9), ("d2#1", 0.8), ("d1#2", 0.7), ("d3#1", 0.6)]}   # d1 at chunk ranks 1 and 3
    rankings, per_query, means = score_documents(found, parents, {"q": {"d1": 1, "d3": 1}}, k=4)
    assert rankings["q"] == [("d1", 0.9), ("d2", 0.8), ("d3", 0.6)]   # d1's later chunk dropped, ranks close up
    pq = per_query["q"]
    assert pq["precision@4"] == 2 / 4
    assert pq["recall@4"] == 1.0
    # DCG = 1/log2(2) + 1/log2(4) (d3 now at rank 3) = 1.5; ideal = 1 + 1/log2(3)
    assert pq["ndcg@4"] == pytest.approx(1.5 / (1 + 1 / math.log2(3)), abs=1e-12)
    assert pq["ndcg@4"] == pytest.approx(0.919720, abs=1e-6)
    assert pq["mrr@4"] == 1.0 and means == pq


def test_unchunked_rankings_pass_through():
    assert document_ranking([("a", 1.0), ("b", 0.5)], {}) == [("a", 1.0), ("b", 0.5)]


# ---------------------------------------------------------------- the compact letter display

def test_letters_of_a_chain_of_overlapping_groups():
    # A > B > C > D; significant: A-C, A-D, B-D (given in either order); not: A-B, B-C, C-D
    p = {("A", "B"): 0.40, ("C", "A"): 0.01, ("A", "D"): 0.001, ("D", "B"): 0.03, ("B", "C"): 0.2,
         ("C", "D"): 0.051}
    assert compact_letters(["A", "B", "C", "D"], p, alpha=0.05) == {"A": "a", "B": "ab", "C": "bc", "D": "c"}


def test_letters_all_tied_all_different_and_nan():
    names = ["A", "B", "C"]
    assert compact_letters(names, {("A", "B"): 0.5, ("A", "C"): math.nan}) == {"A": "a", "B": "a", "C": "a"}
    every = {("A", "B"): 0.01, ("A", "C"): 0.01, ("B", "C"): 0.01}
    assert compact_letters(names, every) == {"A": "a", "B": "b", "C": "c"}


def test_letters_when_one_setup_differs_from_two_tied_groups():
    # E differs from A and B only; A-B differ too: groups {A, C, D}, {B, C, D}, {C, D, E}
    p = {("A", "E"): 0.01, ("B", "E"): 0.02, ("A", "B"): 0.03}
    assert compact_letters(list("ABCDE"), p) == {"A": "a", "B": "b", "C": "abc", "D": "abc", "E": "c"}


# ---------------------------------------------------------------- the cross-encoder reranker

@pytest.fixture(scope="module")
def tiny_cross_encoder(tmp_path_factory) -> str:
    """A random 1-layer BERT cross-encoder (num_labels 1) with MiniLM's tokenizer, saved to a folder."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from rag.models.text import minilm_path

    folder = tmp_path_factory.mktemp("ce")
    torch.manual_seed(0)
    config = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=37, num_labels=1)
    BertForSequenceClassification(config).save_pretrained(folder)
    AutoTokenizer.from_pretrained(str(minilm_path())).save_pretrained(folder)
    return str(folder)


def test_cross_encoder_reorders_candidates_by_its_own_scores(tiny_cross_encoder):
    from sentence_transformers import CrossEncoder

    texts = {"a": "garbage collection in the JVM", "b": "manual memory management", "c": "borrow checker",
             "d": "reference counting"}
    hits = [("a", 3.0), ("b", 2.0), ("c", 1.0), ("d", 0.5)]
    oracle = CrossEncoder(tiny_cross_encoder, device="cpu").predict([("memory", texts[d]) for d, _ in hits])
    expected = sorted(zip(texts, map(float, oracle)), key=lambda h: (-h[1], [-ord(c) for c in h[0]]))[:2]
    got = rerank(f"ce:{tiny_cross_encoder}", "memory", hits, texts, k=2)
    assert [d for d, _ in got] == [d for d, _ in expected]
    assert [s for _, s in got] == pytest.approx([s for _, s in expected], abs=1e-6)
    assert rerank("none", "memory", hits, texts, k=2) == hits[:2]


# ---------------------------------------------------------------- what a setup costs, where it ran

def test_setup_cost_prices_the_embedding_and_a_priced_rerank_endpoint_and_says_why_the_rest_is_free():
    from evaluators.sweep.run import setup_cost

    # text-embedding-3-large: $0.13 per 1M tokens; 12 tokens a query: 12 × 0.13 × 1000 / 1e6 = $0.00156 per 1k
    usd, basis = setup_cost(Setup(model="openai-3-large", k=5), 12.0)
    assert usd == pytest.approx(0.00156, abs=1e-15) and basis == "~12 tokens/query (dataset) × $0.13/1M tokens " \
                                                                 "(API list price)"
    endpoint = Setup(model="openai-3-small:256", k=5, reranker="rerank:rerank-v3.5@https://api.cohere.com/v2", depth=20)
    usd, basis = setup_cost(endpoint, 10.0, {"rerank-v3.5": 2.0})           # $2 per 1,000 calls: one per query
    assert usd == pytest.approx(10 * 0.02 * 1000 / 1e6 + 2.0, abs=1e-12)
    assert basis.endswith("; reranker rerank-v3.5: $2 per 1,000 calls (given)")
    assert setup_cost(endpoint, 10.0, {endpoint.reranker: 0.5})[0] == pytest.approx(0.0002 + 0.5)  # the whole spec
    assert setup_cost(endpoint, 10.0, {"other": 9.0}) == (pytest.approx(0.0002), "~10 tokens/query (dataset) × "
                                                          "$0.02/1M tokens (API list price); reranker rerank-v3.5 at "
                                                          "https://api.cohere.com/v2: not priced ($0 counted)")
    free = {"bm25": "no embedding: Milvus' built-in BM25 (hardware not priced)",
            "st:/models/e5": "local sentence-transformers folder on this machine (hardware not priced)",
            "oai:nomic@http://gpu:8000/v1": "self-hosted endpoint http://gpu:8000/v1 (no per-token price; hardware "
                                            "not priced)"}
    for model, why in free.items():
        assert setup_cost(Setup(model=model, k=5), 10.0) == (0.0, why)
    assert setup_cost(Setup(model="minilm", k=3, reranker="ce:/models/ce", depth=9), 10.0) == (
        0.0, "local model on this machine (hardware not priced); reranker ce:/models/ce: local cross-encoder "
             "(hardware not priced)")


@pytest.mark.parametrize("uri,public", [
    ("http://127.0.0.1:19531", "http://127.0.0.1:19531"),
    ("https://root:Milvus@in03-x.zillizcloud.com:443/db?token=abc#f", "https://in03-x.zillizcloud.com:443/db"),
    ("http://[::1]:19530", "http://[::1]:19530"),
    ("./milvus.db", "./milvus.db"),
    (None, None),
])
def test_the_recorded_milvus_uri_holds_no_credentials(uri, public):
    from evaluators.sweep.run import public_uri

    assert public_uri(uri) == public
