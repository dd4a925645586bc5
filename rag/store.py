"""One Milvus collection per (dataset, model, chunking), built once and reused until its inputs change.

The collection name is readable and carries a fingerprint of everything that shapes its contents
(corpus hash, model id, index type/metric/params, BM25 settings), e.g. ``wb_sample_minilm_1a2b3c4d``.
Changed inputs give a new name; after a successful build the stale ones of the same
(dataset, model) are dropped. A build embeds everything *before* writing to Milvus, and drops the
collection if an insert fails, so bad input never leaves a half-written collection behind. Inserts
are flushed (unflushed rows are scanned in Python, ignoring indexes) and collections are loaded
before search.

Usage:
    store = MilvusStore(ensure_milvus())
    built = store.ensure_collection(dataset, resolve("minilm"), IndexConfig())
    hits = store.search(built.name, resolve("minilm"), ["auto garbage collection"], k=4)
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from rag.capabilities import Capabilities, detect
from rag.dataset import Dataset
from rag.embedders import ModelSpec
from rag.milvus_server import MilvusInfo, MilvusUnavailable

StageProgress = Callable[[str, int, int], None]  # (stage, done, total); stages "embed", "insert"

# Lucene's English stop-word set (what Pyserini's BM25 baselines use).
ENGLISH_STOP_WORDS = ["a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into",
                      "is", "it", "no", "not", "of", "on", "or", "such", "that", "the", "their", "then",
                      "there", "these", "they", "this", "to", "was", "will", "with"]
BM25_ANALYZER = {"tokenizer": "standard", "filter": ["lowercase", {"type": "stop", "stop_words": ENGLISH_STOP_WORDS}]}
BM25_PARAMS = {"bm25_k1": 0.9, "bm25_b": 0.4}
RRF_K = 60
MAX_TEXT_BYTES = 65_000  # VARCHAR max_length is 65,535 bytes

# index type -> (build params, search params given k); a new index type is one entry
INDEX_TYPES: dict[str, tuple[dict, Callable[[int], dict]]] = {
    "FLAT": ({}, lambda k: {}),
    "HNSW": ({"M": 16, "efConstruction": 200}, lambda k: {"ef": max(64, k)}),
    "IVF_FLAT": ({"nlist": 128}, lambda k: {"nprobe": 16}),
    "IVF_SQ8": ({"nlist": 128}, lambda k: {"nprobe": 16}),
}
METRICS = ("COSINE", "IP", "L2")


@dataclass(frozen=True)
class IndexConfig:
    index_type: str = "FLAT"
    metric: str = "COSINE"
    params: dict = field(default_factory=dict)  # overrides of the build params

    def __post_init__(self):
        if self.index_type not in INDEX_TYPES:
            raise ValueError(f"unknown index type {self.index_type!r}; choose from {', '.join(INDEX_TYPES)}")
        if self.metric not in METRICS:
            raise ValueError(f"unknown metric {self.metric!r}; choose from {', '.join(METRICS)}")

    def build_params(self) -> dict:
        return {**INDEX_TYPES[self.index_type][0], **self.params}

    def search_params(self, k: int) -> dict:
        return {"metric_type": self.metric, "params": INDEX_TYPES[self.index_type][1](k)}


@dataclass
class BuildResult:
    name: str
    model: str
    reused: bool
    n_docs: int
    seconds: float = 0.0
    embed_seconds: float = 0.0
    cache_hits: int = 0

    @property
    def docs_per_s(self) -> float:
        return self.n_docs / self.seconds if self.seconds else float("inf")


def _slug(text: str, n: int = 24) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:n] or "x"


def fingerprint(dataset: Dataset, spec: ModelSpec, cfg: IndexConfig, chunking: str = "") -> str:
    payload = json.dumps([dataset.corpus_hash(), spec.model_id, spec.kind, asdict(cfg), chunking,
                          BM25_ANALYZER if spec.has_sparse else None, BM25_PARAMS if spec.has_sparse else None],
                         sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:8]


def collection_prefix(dataset_name: str, model_name: str, chunking: str = "") -> str:
    parts = (_slug(dataset_name), _slug(model_name), _slug(chunking, 12) if chunking else "")
    return "wb_" + "_".join(p for p in parts if p) + "_"


def _clip(text: str) -> str:
    b = text.encode("utf-8")
    return text if len(b) <= MAX_TEXT_BYTES else b[:MAX_TEXT_BYTES].decode("utf-8", errors="ignore")


def _score(hit: dict, spec: ModelSpec, cfg: IndexConfig) -> float:
    d = float(hit["distance"])
    if spec.kind == "sparse":
        return abs(d)  # Milvus Lite reports BM25 negated (best first); Milvus server positive
    if spec.kind == "dense" and cfg.metric == "L2":
        return -d
    return d


def canonical_order(hits: list[tuple[str, float]]) -> list[tuple[str, float]]:
    """Score descending, ties by doc id descending: exactly the order trec_eval evaluates."""
    return sorted(sorted(hits, key=lambda h: h[0], reverse=True), key=lambda h: -h[1])


class MilvusStore:
    def __init__(self, info: MilvusInfo):
        self.info = info
        self.client = info.client()
        self._caps: Capabilities | None = None

    @property
    def capabilities(self) -> Capabilities:
        """What this server can run (read once): models and index types it cannot are refused up front."""
        if self._caps is None:
            self._caps = detect(self.client)
        return self._caps

    # ---------------------------------------------------------------- build
    def ensure_collection(self, dataset: Dataset, spec: ModelSpec, cfg: IndexConfig | None = None,
                          chunking: str = "", progress: StageProgress | None = None,
                          force: bool = False) -> BuildResult:
        cfg = cfg or IndexConfig()
        self.capabilities.require([spec], cfg)  # before anything is created (MilvusUnsupported)
        prefix = collection_prefix(dataset.name, spec.name, chunking)
        name = prefix + fingerprint(dataset, spec, cfg, chunking)
        n = len(dataset.documents)
        if not force and self.client.has_collection(name) and self.row_count(name) == n:
            self.client.load_collection(name)
            if progress:
                progress("insert", n, n)
            return BuildResult(name, spec.name, reused=True, n_docs=n)

        t0 = time.perf_counter()
        texts = [d.full_text for d in dataset.documents]
        vectors, hits = None, 0
        enc = spec.encoder()
        if enc is not None:  # embed everything before touching Milvus
            vectors = enc.embed(texts, progress=(lambda d, t: progress("embed", d, t)) if progress else None)
            hits = enc.last_cache_hits
        t_embed = time.perf_counter() - t0

        if self.client.has_collection(name):
            self.client.drop_collection(name)
        self._create(name, spec, cfg, dim=None if vectors is None else int(vectors.shape[1]))
        try:
            batch = 256
            for s in range(0, n, batch):
                rows = []
                for i in range(s, min(n, s + batch)):
                    d = dataset.documents[i]
                    row = {"id": d.id, "title": _clip(d.title), "text": _clip(texts[i])}
                    if vectors is not None:
                        row["dense"] = vectors[i].tolist()
                    rows.append(row)
                self.client.insert(name, rows)
                if progress:
                    progress("insert", min(n, s + batch), n)
            self.client.flush(name)
            self.client.load_collection(name)
        except BaseException:
            self._drop_quietly(name)
            raise
        for other in self.client.list_collections():  # stale builds of the same (dataset, model)
            if other[:-8] == prefix and other != name:
                self._drop_quietly(other)
        return BuildResult(name, spec.name, reused=False, n_docs=n, seconds=time.perf_counter() - t0,
                           embed_seconds=t_embed, cache_hits=hits)

    def _create(self, name: str, spec: ModelSpec, cfg: IndexConfig, dim: int | None) -> None:
        from pymilvus import DataType, Function, FunctionType

        schema = self.client.create_schema(auto_id=False)
        schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=512)
        schema.add_field("title", DataType.VARCHAR, max_length=65535)
        if spec.has_sparse:
            schema.add_field("text", DataType.VARCHAR, max_length=65535, enable_analyzer=True,
                             analyzer_params=BM25_ANALYZER)
            schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
            schema.add_function(Function(name="bm25", function_type=FunctionType.BM25,
                                         input_field_names=["text"], output_field_names=["sparse"]))
        else:
            schema.add_field("text", DataType.VARCHAR, max_length=65535)
        if spec.has_dense:
            schema.add_field("dense", DataType.FLOAT_VECTOR, dim=dim)
        ip = self.client.prepare_index_params()
        if spec.has_dense:
            ip.add_index(field_name="dense", index_type=cfg.index_type, metric_type=cfg.metric,
                         params=cfg.build_params())
        if spec.has_sparse:
            ip.add_index(field_name="sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25",
                         params=BM25_PARAMS)
        self.client.create_collection(name, schema=schema, index_params=ip)

    # ---------------------------------------------------------------- read
    def row_count(self, name: str) -> int:
        return int(self.client.get_collection_stats(name).get("row_count", 0))

    def search(self, name: str, spec: ModelSpec, queries: list[str], k: int, cfg: IndexConfig | None = None,
               query_vectors=None, batch: int = 64) -> list[list[tuple[str, float]]]:
        """Top-k (doc id, score) per query, higher score better, in trec_eval order."""
        from pymilvus import AnnSearchRequest, RRFRanker

        cfg = cfg or IndexConfig()
        if spec.has_dense and query_vectors is None:
            query_vectors = spec.encoder().embed(queries)
        out: list[list[tuple[str, float]]] = []
        for s in range(0, len(queries), batch):
            qs = queries[s:s + batch]
            dense = None if query_vectors is None else [v.tolist() for v in query_vectors[s:s + batch]]
            if spec.kind == "hybrid":
                reqs = [AnnSearchRequest(data=dense, anns_field="dense", param=cfg.search_params(k), limit=k),
                        AnnSearchRequest(data=qs, anns_field="sparse", param={"metric_type": "BM25"}, limit=k)]
                res = self.client.hybrid_search(name, reqs, RRFRanker(RRF_K), limit=k, output_fields=["id"])
            elif spec.kind == "sparse":
                res = self.client.search(name, data=qs, anns_field="sparse", limit=k, output_fields=["id"],
                                         search_params={"metric_type": "BM25"})
            else:
                res = self.client.search(name, data=dense, anns_field="dense", limit=k, output_fields=["id"],
                                         search_params=cfg.search_params(k))
            out.extend(canonical_order([(h["id"], _score(h, spec, cfg)) for h in hits]) for hits in res)
        return out

    def fetch(self, name: str, ids: list[str]) -> dict[str, dict]:
        """Title and text of documents by id (the service uses this; the app has the dataset)."""
        if not ids:
            return {}
        # ids may hold quotes, backslashes and newlines: each becomes an escaped string literal
        # (Milvus Lite has no filter templates, so filter_params is not an option here)
        literals = ", ".join(json.dumps(i, ensure_ascii=False) for i in ids)
        rows = self.client.query(name, filter=f"id in [{literals}]", output_fields=["id", "title", "text"])
        return {r["id"]: r for r in rows}

    def collections(self) -> list[dict]:
        out = []
        for c in sorted(self.client.list_collections()):
            if c.startswith("wb_"):
                out.append({"name": c, "rows": self.row_count(c)})
        return out

    def find(self, dataset_name: str, model_name: str, chunking: str = "") -> str | None:
        prefix = collection_prefix(dataset_name, model_name, chunking)
        names = [c for c in self.client.list_collections() if c[:-8] == prefix]
        return names[0] if names else None

    def drop(self, name: str) -> None:
        self.client.drop_collection(name)

    def _drop_quietly(self, name: str) -> None:
        try:
            self.client.drop_collection(name)
        except Exception:
            pass

    def ping(self) -> None:
        try:
            self.client.list_collections(timeout=5)
        except Exception as e:
            raise MilvusUnavailable(f"{self.info.describe()} does not answer: {e}. {self.info.fix_hint()}") from e
