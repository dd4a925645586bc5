"""What the connected Milvus can run, read once on connect, so nothing fails half-way with a traceback.

Measured: a Milvus 2.3.5 standalone (PyPI ``milvus``) runs the dense models exactly like Milvus Lite,
but creating the BM25 collection fails with ``create index on 104 field is not supported`` (104 is
SPARSE_FLOAT_VECTOR). Sparse vectors and multi-vector hybrid search came in Milvus 2.4, the BM25
function and text analyzers in 2.5. Milvus Lite 3.x runs all of these but not every index type.
The tables below are the whole policy: a new feature or index type is one entry.

Usage:
    caps = detect(client)                       # a connected pymilvus.MilvusClient
    caps.model_reason(resolve("bm25"))          # "bm25 needs Milvus >= 2.5 (BM25 function); this server is 2.3.5"
    caps.require([resolve("minilm")], IndexConfig("HNSW"))   # raises MilvusUnsupported or returns
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.i18n import N_, _

# feature -> (first Milvus version with it, what it is called in messages)
FEATURES: dict[str, tuple[tuple[int, int], str]] = {
    "sparse": ((2, 4), N_("sparse vectors")),
    "hybrid_search": ((2, 4), N_("hybrid search")),
    "bm25": ((2, 5), N_("BM25 function")),
    "analyzer": ((2, 5), N_("text analyzer")),
}
# model kind -> features its collection and search need
KIND_NEEDS: dict[str, tuple[str, ...]] = {
    "dense": (),
    "sparse": ("bm25", "sparse", "analyzer"),          # first of the newest is named in the message
    "hybrid": ("bm25", "sparse", "analyzer", "hybrid_search"),
}
# dense index types newer than Milvus 2.3 (older ones: FLAT, IVF_FLAT, IVF_SQ8, IVF_PQ, HNSW, ...)
INDEX_SINCE: dict[str, tuple[int, int]] = {"HNSW_SQ": (2, 6), "HNSW_PQ": (2, 6), "HNSW_PRQ": (2, 6),
                                           "IVF_RABITQ": (2, 6)}
# what Milvus Lite 3.x cannot build (measured: FAISS-backed, no PQ, no disk index)
LITE_NO_INDEX = ("IVF_PQ", "DISKANN", "SCANN")


class MilvusUnsupported(ValueError):
    """The connected Milvus cannot run this model or index type; the message says which and why."""


def _version(text: str) -> tuple[int, ...] | None:
    m = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", text or "")
    return tuple(int(g) for g in m.groups() if g is not None) if m else None


@dataclass(frozen=True)
class Capabilities:
    server: str            # "Milvus Lite" or "Milvus"
    version: str           # as the server reports it, e.g. "v2.3.5-lite", "milvus_lite-3.2.2"

    @property
    def lite(self) -> bool:
        return self.server == "Milvus Lite"

    @property
    def number(self) -> tuple[int, ...] | None:
        return _version(self.version)

    def short(self) -> str:
        n = self.number
        return f"{self.server} {'.'.join(map(str, n)) if n else self.version or _('(version unknown)')}"

    def has(self, feature: str) -> bool:
        if self.lite or self.number is None:  # Lite has them all; an unknown version is not blocked
            return True
        return self.number[:2] >= FEATURES[feature][0]

    def _this(self) -> str:
        n = self.number
        return _("this server is {version}").format(version=".".join(map(str, n)) if n else self.version)

    def model_reason(self, spec) -> str | None:
        """Why this server cannot run the model (``spec``: a ``rag.models.spec.ModelSpec``), or None."""
        missing = [f for f in KIND_NEEDS.get(spec.kind, ()) if not self.has(f)]
        if not missing:
            return None
        need = max(missing, key=lambda f: FEATURES[f][0])  # name the newest feature: the version to get
        (major, minor), what = FEATURES[need]
        return _("{model} needs Milvus >= {version} ({feature}); {server}").format(
            model=spec.name, version=f"{major}.{minor}", feature=_(what), server=self._this())

    def index_reason(self, index_type: str) -> str | None:
        if self.lite:
            return _("Milvus Lite has no {index}").format(index=index_type) if index_type in LITE_NO_INDEX \
                else None
        since = INDEX_SINCE.get(index_type)
        if since and self.number is not None and self.number[:2] < since:
            return _("{index} needs Milvus >= {version}; {server}").format(
                index=index_type, version=f"{since[0]}.{since[1]}", server=self._this())
        return None

    def require(self, specs, cfg=None) -> None:
        """Raise MilvusUnsupported naming the first model or index type this server cannot run."""
        for spec in specs:
            why = self.model_reason(spec)
            if why:
                raise MilvusUnsupported(why)
        if cfg is not None and any(s.has_dense for s in specs):
            why = self.index_reason(cfg.index_type)
            if why:
                raise MilvusUnsupported(why)


def detect(client) -> Capabilities:
    """Ask a connected MilvusClient what it is (one cheap RPC)."""
    try:
        version = str(client.get_server_version())
    except Exception:  # a proxy that hides the version: assume a current Milvus, block nothing
        version = ""
    return Capabilities("Milvus Lite" if version.startswith("milvus_lite") else "Milvus", version)


def models_on(caps: Capabilities | None, settings=None) -> list[tuple[object, bool, str]]:
    """``rag.models.registry.available_models`` plus this server's limits: (spec, can run?, why not)."""
    from rag.models.registry import available_models

    out = []
    for spec, ok, why in available_models(settings):
        server_why = caps.model_reason(spec) if caps is not None else None
        out.append((spec, ok and not server_why, why if not ok else (server_why or "")))
    return out
