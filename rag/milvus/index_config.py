"""What shapes a Milvus collection, apart from Milvus itself: the index config and the build inputs.

``IndexConfig`` (index type, metric, build/search parameters) is what every run kind records and the
pages and the CLI let a user choose; ``build_inputs`` is everything that shapes a collection's
contents, stored in the collection and hashed into its name (``collection_name``). They live apart
from ``rag.milvus.store`` because choosing and recording an index needs no Milvus client: the CLI's option
parsing and the run records import this module without pymilvus.

Usage:
    cfg = IndexConfig.parse("HNSW", "COSINE", '{"M": 32}')
    name = collection_name(build_inputs(dataset, resolve("minilm"), cfg))   # wb_sample_minilm_1a2b3c4d5e6f
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: this module stays importable without numpy or pymilvus
    from rag.data.dataset import Dataset
    from rag.models.spec import ModelSpec

from rag.i18n import _
from rag.milvus.analyzers import ANALYZERS, AUTO, ENGLISH_STOP_WORDS, check_name  # noqa: F401 (re-exported)

BM25_ANALYZER = ANALYZERS["english"].params  # English corpora (and collections built before analyzers were chosen)
BM25_PARAMS = {"bm25_k1": 0.9, "bm25_b": 0.4}

# index type -> (build params, search params), defaults; a new index type is one entry. Build params
# shape the collection (part of its fingerprint); search params (ef, nprobe) do not, so changing
# them reuses the collection (runs record them). HNSW's ef is raised to k when smaller (ef >= k).
INDEX_TYPES: dict[str, tuple[dict, dict]] = {
    "FLAT": ({}, {}),
    "HNSW": ({"M": 16, "efConstruction": 200}, {"ef": 64}),
    "IVF_FLAT": ({"nlist": 128}, {"nprobe": 16}),
    "IVF_SQ8": ({"nlist": 128}, {"nprobe": 16}),
}
METRICS = ("COSINE", "IP", "L2")
FINGERPRINT_VERSION = 1  # bump when build_inputs changes shape


@dataclass(frozen=True)
class IndexConfig:
    """Index type, metric and parameter overrides (build: M, efConstruction, nlist; search: ef, nprobe).

    Usage:
        IndexConfig("HNSW", "COSINE", {"M": 32, "ef": 128}).to_json()
        # {"index_type": "HNSW", "metric": "COSINE", "params": {"M": 32, "efConstruction": 200, "ef": 128}}
    """
    index_type: str = "FLAT"
    metric: str = "COSINE"
    params: dict = field(default_factory=dict)  # overrides of the default build/search params
    bm25_analyzer: str = AUTO  # BM25/hybrid: "auto" (from the corpus' language) or a name in ANALYZERS

    def __post_init__(self):
        check_name(self.bm25_analyzer)
        if self.index_type not in INDEX_TYPES:
            raise ValueError(_("unknown index type {name}; choose from {choices}").format(
                name=repr(self.index_type), choices=", ".join(INDEX_TYPES)))
        if self.metric not in METRICS:
            raise ValueError(_("unknown metric {name}; choose from {choices}").format(
                name=repr(self.metric), choices=", ".join(METRICS)))
        build, search = INDEX_TYPES[self.index_type]
        known = [*build, *search]
        for key, value in self.params.items():
            if key not in known:
                if known:
                    raise ValueError(_("index parameter {key} does not apply to {index}; it takes {known}").format(
                        key=repr(key), index=self.index_type, known=", ".join(known)))
                raise ValueError(_("index parameter {key} does not apply to {index}; it takes none").format(
                    key=repr(key), index=self.index_type))
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(_("index parameter {key} must be a whole number ≥ 1 (got {value})").format(
                    key=key, value=repr(value)))

    def build_params(self) -> dict:
        build = INDEX_TYPES[self.index_type][0]
        return {key: self.params.get(key, v) for key, v in build.items()}

    def search_params(self, k: int) -> dict:
        params = {key: self.params.get(key, v) for key, v in INDEX_TYPES[self.index_type][1].items()}
        if "ef" in params:
            params["ef"] = max(params["ef"], k)
        return {"metric_type": self.metric, "params": params}

    def all_params(self) -> dict:
        return {**self.build_params(), **self.search_params(1)["params"]}

    def build_key(self) -> dict:
        """The part of the config that shapes a collection (search params do not)."""
        return {"index_type": self.index_type, "metric": self.metric, "params": self.build_params()}

    def to_json(self) -> dict:
        """What a run records: type, metric and every effective parameter (defaults filled in); the BM25
        analyzer asked for when it is not "auto"."""
        out = {"index_type": self.index_type, "metric": self.metric, "params": self.all_params()}
        return out if self.bm25_analyzer == AUTO else {**out, "bm25_analyzer": self.bm25_analyzer}

    def record(self) -> dict:
        """What every run kind records at the top of its config: index_type, metric, index_params and the
        BM25 analyzer asked for ("auto": chosen from the language; the one used is recorded beside it)."""
        return {"index_type": self.index_type, "metric": self.metric, "index_params": self.all_params(),
                "bm25_analyzer_requested": self.bm25_analyzer}

    @classmethod
    def from_json(cls, d: dict | None) -> IndexConfig:
        d = d or {}
        return cls(d.get("index_type", "FLAT"), d.get("metric", "COSINE"), dict(d.get("params") or {}),
                   d.get("bm25_analyzer", AUTO))

    @classmethod
    def parse(cls, index_type: str, metric: str, params: str | dict | None,
              bm25_analyzer: str | None = None) -> IndexConfig:
        """From CLI text: ``params`` is a JSON object such as '{"M": 32, "ef": 128}'."""
        if isinstance(params, str):
            try:
                params = json.loads(params or "{}")
            except json.JSONDecodeError as e:
                raise ValueError(_("--index-params is not JSON ({why}); e.g. '{{\"M\": 16, \"ef\": 64}}'").format(
                    why=e.msg)) from None
        if not isinstance(params, dict):
            raise ValueError(_("--index-params must be a JSON object such as '{{\"M\": 16}}' (got {value})").format(
                value=repr(params)))
        return cls(index_type, metric, params, bm25_analyzer or AUTO)

    def label(self) -> str:
        params = " ".join(f"{k}={v}" for k, v in self.all_params().items())
        return f"{self.index_type}/{self.metric}" + (f" {params}" if params else "")


def vector_memory_gb(dim: int, cfg: IndexConfig, n_docs: int = 1_000_000) -> float:
    """What ``n_docs`` vectors of ``dim`` float32s take in a Milvus index (GB, 1e9 bytes): the raw vectors
    (IVF_SQ8 keeps 1 byte per dimension instead of 4) plus the index's own overhead (HNSW: 2·M neighbour
    ids of 4 bytes per vector on the base layer; IVF: a list id per vector). What a deployment pays for."""
    params = cfg.all_params()
    per_vector = dim * (1 if cfg.index_type == "IVF_SQ8" else 4)
    if cfg.index_type == "HNSW":
        per_vector += 2 * int(params.get("M", 16)) * 4
    elif cfg.index_type.startswith("IVF"):
        per_vector += 8
    return per_vector * n_docs / 1e9


def _slug(text: str, n: int = 24) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:n] or "x"


def build_inputs(dataset: Dataset, spec: ModelSpec, cfg: IndexConfig, chunking: str = "",
                 analyzer: dict | None = None) -> dict:
    """Everything that shapes a collection: stored in it (``rag.milvus.store.BUILD_PROPERTY``) and hashed into its name.
    A model without a dense part has no vector index, so its inputs carry no index config (a BM25
    collection serves every index choice). ``analyzer`` is the BM25 analyzer's params as chosen for the
    corpus' language (``MilvusStore.inputs_for`` chooses it; None: the English one), so a Chinese corpus
    indexed with jieba and with the standard tokenizer are two collections."""
    inputs = {"v": FINGERPRINT_VERSION, "dataset": dataset.name, "corpus_hash": dataset.corpus_hash(),
              "model": spec.name, "model_id": spec.model_id, "kind": spec.kind, "chunking": chunking,
              "index": cfg.build_key() if spec.has_dense else None,
              "bm25": {"analyzer": analyzer or BM25_ANALYZER, "params": BM25_PARAMS} if spec.has_sparse else None}
    # the document prompt, dims and max tokens change every stored vector (absent for a model as it comes,
    # so collections built before these options existed keep their names)
    if encoding := spec.encoding():
        inputs["encoding"] = encoding
    return inputs


def _hash(inputs: dict) -> str:
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:12]


def collection_name(inputs: dict) -> str:
    """Readable hint + hash of the full inputs: two datasets sharing a long name prefix differ in the hash."""
    parts = (_slug(inputs["dataset"]), _slug(inputs["model"]),
             _slug(inputs["chunking"], 12) if inputs["chunking"] else "")
    return "wb_" + "_".join(p for p in parts if p) + "_" + _hash(inputs)


def same_build(a: dict, b: dict) -> bool:
    """Same (dataset, model, chunking, index config), whatever the corpus content."""
    return {k: v for k, v in a.items() if k != "corpus_hash"} == {k: v for k, v in b.items() if k != "corpus_hash"}
