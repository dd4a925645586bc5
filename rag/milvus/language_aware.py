"""The store's language side: which BM25 analyzer a dataset gets on this Milvus, the build inputs that
include it, and what a run records about language. A mixin of ``MilvusStore`` (it reads ``capabilities``).

Usage:
    store.bm25_analyzer(dataset)          # AnalyzerChoice: jieba on Lite for a Chinese corpus
    store.inputs_for(dataset, spec, cfg)  # build_inputs with that analyzer (part of the collection's identity)
    store.language_record(dataset, cfg)   # {"language": profile, "bm25_analyzer": choice}
"""

from __future__ import annotations

from rag.data.dataset import Dataset
from rag.data.language import profile_dataset
from rag.milvus.analyzers import AnalyzerChoice, choose_analyzer
from rag.milvus.index_config import IndexConfig, build_inputs
from rag.models.spec import ModelSpec


class LanguageAware:
    """The analyzer choice and language record of a store with ``capabilities``."""

    def bm25_analyzer(self, dataset: Dataset, cfg: IndexConfig | None = None) -> AnalyzerChoice:
        """The BM25 analyzer for this dataset on this Milvus: the user's (``cfg.bm25_analyzer``) or the one
        for the corpus' main language; MilvusUnsupported when no analyzer here tokenizes it."""
        cfg = cfg or IndexConfig()
        return choose_analyzer(profile_dataset(dataset).main_language, self.capabilities, cfg.bm25_analyzer)

    def inputs_for(self, dataset: Dataset, spec: ModelSpec, cfg: IndexConfig | None = None,
                   chunking: str = "") -> dict:
        """``build_inputs`` with the BM25 analyzer chosen for this dataset and server."""
        cfg = cfg or IndexConfig()
        analyzer = self.bm25_analyzer(dataset, cfg).params if spec.has_sparse else None
        return build_inputs(dataset, spec, cfg, chunking, analyzer)

    def language_record(self, dataset: Dataset, cfg: IndexConfig | None = None,
                        sparse: bool = True) -> dict:
        """What a run records about language: the dataset's profile and (``sparse``) the BM25 analyzer."""
        out: dict = {"language": profile_dataset(dataset).to_json()}
        if sparse:
            out["bm25_analyzer"] = self.bm25_analyzer(dataset, cfg).to_json()
        return out
