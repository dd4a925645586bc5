"""Vector memory per million documents beside cost (issue 24 item 4): hand-computed bytes per index."""

from __future__ import annotations

import pytest

from rag.milvus.index_config import IndexConfig, vector_memory_gb
from rag.models.limits import limits_row


@pytest.mark.parametrize("cfg,dim,expected", [
    (IndexConfig("FLAT"), 384, 1.536),                       # 384 × 4 B × 1e6
    (IndexConfig("HNSW"), 384, 1.536 + 0.128),               # + 2 × M(16) × 4 B of neighbour ids
    (IndexConfig("HNSW", params={"M": 32}), 256, 1.024 + 0.256),
    (IndexConfig("IVF_SQ8"), 1024, 1.024 + 0.008),           # 1 B per dimension + a list id
    (IndexConfig("IVF_FLAT"), 1536, 6.144 + 0.008),
])
def test_vector_memory_per_million(cfg, dim, expected):
    assert vector_memory_gb(dim, cfg) == pytest.approx(expected)


def test_limits_row_says_what_was_cut():
    info = {"max_tokens": 256, "documents": 5183, "documents_truncated": 3680, "queries_truncated": 0,
            "query_prompt": "query: ", "document_prompt": None, "dim": 384, "counted_with": "model tokenizer"}
    assert limits_row("minilm", info) == {
        "model": "minilm", "dims": "384", "max tokens": "256", "documents cut": "3,680 of 5,183", "queries cut": "0",
        "query prompt": "'query: '", "document prompt": "none", "counted with": "model tokenizer"}
