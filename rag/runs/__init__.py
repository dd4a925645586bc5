"""Runs: the SQLite run store (``store``) and the typed models of each run kind (``models``).

Usage:
    from rag.runs import RunStore, RetrievalRow
    store = RunStore.default()
    store.get("latest").typed_summary().per_model()
"""

from rag.runs.models import (
    RUN_MODELS,
    LoadRow,
    RagRow,
    RetrievalRow,
    RunModels,
    RunRow,
    models_for,
    register_kind,
)
from rag.runs.store import Run, RunNotFound, RunStore, environment_manifest, scrub

__all__ = ["RUN_MODELS", "LoadRow", "RagRow", "RetrievalRow", "Run", "RunModels", "RunNotFound", "RunRow",
           "RunStore", "environment_manifest", "models_for", "register_kind", "scrub"]
