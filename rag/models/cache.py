"""On-disk embedding cache keyed by (model id, text), so a re-run never re-embeds.

One SQLite file in the data folder; vectors stored as float32 bytes. WAL mode lets the app, the
CLI and the load-test service share it.

Usage:
    cache = EmbeddingCache(path)
    hits = cache.get_many("minilm", texts)   # {index: np.ndarray}
    cache.put_many("minilm", texts, vectors)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rag.data.dataset import DatasetError
from rag.i18n import N_, _
from rag.models.base import ModalityError, ProgressFn, file_sha256, query_kind_problem

if TYPE_CHECKING:
    from rag.data.dataset import Query
    from rag.models.spec import ModelSpec

import hashlib
import sqlite3
import threading
from pathlib import Path

import numpy as np


def _key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class EmbeddingCache:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        with self._conn() as c:
            c.execute("CREATE TABLE IF NOT EXISTS emb (model TEXT, h TEXT, vec BLOB, PRIMARY KEY (model, h))")

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    def get_many(self, model: str, texts: list[str]) -> dict[int, np.ndarray]:
        keys = [_key(t) for t in texts]
        found: dict[str, bytes] = {}
        conn = self._conn()
        for i in range(0, len(keys), 500):
            chunk = keys[i:i + 500]
            q = f"SELECT h, vec FROM emb WHERE model=? AND h IN ({','.join('?' * len(chunk))})"
            found.update(conn.execute(q, [model, *chunk]).fetchall())
        return {i: np.frombuffer(found[k], dtype=np.float32) for i, k in enumerate(keys) if k in found}

    def put_many(self, model: str, texts: list[str], vectors: np.ndarray) -> None:
        rows = [(model, _key(t), np.asarray(v, dtype=np.float32).tobytes()) for t, v in zip(texts, vectors)]
        with self._conn() as c:
            c.executemany("INSERT OR REPLACE INTO emb VALUES (?, ?, ?)", rows)

    def count(self, model: str | None = None) -> int:
        q, a = ("SELECT COUNT(*) FROM emb WHERE model=?", [model]) if model else ("SELECT COUNT(*) FROM emb", [])
        return self._conn().execute(q, a).fetchone()[0]


class CachedEncoder:
    """A dense encoder behind the on-disk cache, embedding only the texts (and images) it has not seen."""

    def __init__(self, spec: ModelSpec, raw, cache: EmbeddingCache, batch_size: int = 64, prompts=None):
        from rag.models.prompts import Prompts

        self.spec, self.raw, self.cache = spec, raw, cache
        self.prompts = prompts or Prompts()  # rag.models.prompts: query / document prompts, per role
        self.batch_size = batch_size  # WORKBENCH_EMBED_BATCH
        self.last_cache_hits = 0

    def load(self) -> None:
        """Load the model now (a build starts its clock after this: docs/s excludes the model load)."""
        _model = self.raw.model if hasattr(self.raw, "model") else None

    @property
    def dim(self) -> int:
        return self.raw.dim

    def embed(self, texts: list[str], progress: ProgressFn | None = None, batch_size: int | None = None,
              role: str | None = None) -> np.ndarray:
        """Vectors for ``texts`` as ``role`` ("query", "document": the model's prompt for it and, for
        sentence-transformers, ``encode_query`` / ``encode_document``; for an API with input types, its
        query / document side; None: plain ``encode``, for symmetric uses such as similarity between
        answers). Cached per role: per prompt, and apart for an API's query side."""
        # longest first, like SentenceTransformer.encode does internally: batches of similar length pad less
        return self._cached(self.spec.cache_key + self._cache_suffix(role), texts, texts,
                            self._encode_fn(role), progress, batch_size, longest_first=True)

    def _side(self, role: str | None):
        """The encoder's own method for ``role`` (``encode_query`` of a provider with input types), or None."""
        if role is None or getattr(self.raw, "takes_roles", False):
            return None
        return getattr(self.raw, f"encode_{role}", None)

    def _cache_suffix(self, role: str | None) -> str:
        suffix = self.prompts.cache_suffix(role)
        if not suffix and role == "query" and self._side(role) is not None:
            suffix = "#query"  # an API's query input type: the same text embeds differently per side
        return suffix

    def _encode_fn(self, role: str | None):
        if role is not None and getattr(self.raw, "takes_roles", False):
            prompt = self.prompts.get(role)
            return lambda texts, batch_size: self.raw.encode(texts, batch_size=batch_size, role=role, prompt=prompt)
        return self._side(role) or self.raw.encode

    def embed_images(self, paths: list[str], shas: list[str] | None = None, progress: ProgressFn | None = None,
                     batch_size: int | None = None) -> np.ndarray:
        """Image vectors (n, dim) in the order of ``paths``, cached by the sha256 of each image's bytes
        (``Document.image_sha``; a missing or empty sha is computed from the file). Raises ModalityError
        for a model that embeds text only."""
        encode = getattr(self.raw, "encode_images", None)
        if encode is None:
            raise ModalityError(_("{model} embeds text only: it cannot embed images; use a clip:FOLDER or img:FOLDER "
                                  "model").format(model=self.spec.ref))
        return self._embed_files("image", N_("cannot read the image ({error}: {why})"), "embed_images", paths, shas,
                                 encode, progress, batch_size)

    def embed_audio(self, paths: list[str], shas: list[str] | None = None, progress: ProgressFn | None = None,
                    batch_size: int | None = None) -> np.ndarray:
        """Audio vectors (n, dim) in the order of ``paths``, cached by the sha256 of each file's bytes
        (``Document.audio_sha``), as ``embed_images``. Raises ModalityError for a model without an audio tower."""
        encode = getattr(self.raw, "encode_audio", None)
        if encode is None:
            raise ModalityError(_("{model} cannot embed sounds; use a clap:FOLDER or aud:FOLDER model").format(
                model=self.spec.ref))
        return self._embed_files("audio", N_("cannot read the audio file ({error}: {why})"), "embed_audio", paths,
                                 shas, encode, progress, batch_size)

    def _embed_files(self, medium: str, unreadable: str, caller: str, paths, shas, encode, progress, batch_size):
        """Vectors for media files, cached under ``#medium`` by the sha256 of each file's bytes (a missing or
        empty sha is computed from the file; an unreadable file is one DatasetError naming it)."""
        paths = [str(p) for p in paths]
        shas = list(shas) if shas is not None else [""] * len(paths)
        if len(shas) != len(paths):
            raise ValueError(f"{caller}: {len(paths)} paths but {len(shas)} shas")  # i18n: internal (a caller's bug)
        try:
            keys = [sha or file_sha256(p) for p, sha in zip(paths, shas)]
        except OSError as e:
            raise DatasetError(_(unreadable).format(error=type(e).__name__, why=e.strerror or e),
                               file=e.filename) from None
        return self._cached(self.spec.cache_key + "#" + medium, keys, paths, encode, progress, batch_size)

    def embed_media(self, modality: str, items: list, progress: ProgressFn | None = None) -> np.ndarray:
        """Vectors for documents or queries of an image or audio dataset, from their files."""
        if modality == "audio":
            return self.embed_audio([i.audio for i in items], [i.audio_sha for i in items], progress)
        return self.embed_images([i.image for i in items], [i.image_sha for i in items], progress)

    def embed_queries(self, queries: list[Query]) -> np.ndarray:
        """Vectors (n, dim) for ``rag.data.dataset.Query`` objects in their order: text queries through the
        text tower, image queries (``Query.image``) through the vision tower, audio queries (``Query.audio``)
        through the audio tower, all cached
        (``last_cache_hits`` counts both). A query kind the model cannot embed (text for img:, images
        for a text model) raises ModalityError before any work."""
        kinds: dict[str, int] = {}
        for q in queries:
            kinds[q.kind] = kinds.get(q.kind, 0) + 1
        for kind, n in kinds.items():
            if kind not in self.spec.query_kinds:
                raise ModalityError(query_kind_problem(self.spec, kind, n))
        if not queries:
            return np.zeros((0, self.dim), dtype=np.float32)
        text = [i for i, q in enumerate(queries) if q.kind == "text"]
        image = [i for i, q in enumerate(queries) if q.kind == "image"]
        out: list[np.ndarray | None] = [None] * len(queries)
        hits = 0
        if text:
            for i, v in zip(text, self.embed([queries[i].text for i in text], role="query")):
                out[i] = v
            hits += self.last_cache_hits
        if image:
            vecs = self.embed_images([queries[i].image for i in image], [queries[i].image_sha for i in image])
            for i, v in zip(image, vecs):
                out[i] = v
            hits += self.last_cache_hits
        audio = [i for i, q in enumerate(queries) if q.kind == "audio"]
        if audio:
            vecs = self.embed_audio([queries[i].audio for i in audio], [queries[i].audio_sha for i in audio])
            for i, v in zip(audio, vecs):
                out[i] = v
            hits += self.last_cache_hits
        self.last_cache_hits = hits
        return np.vstack(out).astype(np.float32)

    def _cached(self, model_key: str, keys: list[str], items: list, encode, progress: ProgressFn | None,
                batch_size: int | None, longest_first: bool = False) -> np.ndarray:
        """Vectors for ``items`` (texts or image paths), looked up by ``keys`` under ``model_key``;
        only the misses are encoded, ``batch_size`` at a time (WORKBENCH_EMBED_BATCH by default)."""
        batch_size = batch_size or self.batch_size
        hits = self.cache.get_many(model_key, keys)
        self.last_cache_hits = len(hits)
        out: list[np.ndarray | None] = [hits.get(i) for i in range(len(keys))]
        todo = [i for i, v in enumerate(out) if v is None]
        if longest_first:
            todo.sort(key=lambda i: -len(items[i]))
        done = len(keys) - len(todo)
        if progress:
            progress(done, len(keys))
        for s in range(0, len(todo), batch_size):
            idx = todo[s:s + batch_size]
            vecs = encode([items[i] for i in idx], batch_size=batch_size)
            self.cache.put_many(model_key, [keys[i] for i in idx], vecs)
            for i, v in zip(idx, vecs):
                out[i] = v
            done += len(idx)
            if progress:
                progress(done, len(keys))
        if not keys:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.vstack(out).astype(np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self.encode_queries([text])[0]

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """``texts`` embedded as queries (the model's query prompt, or an API's query input type) in one batch,
        not cached: what serving users' new queries costs (the sweep's latency sample, the load-test service)."""
        return self._encode_fn("query")(list(texts), batch_size=max(1, len(texts)))
