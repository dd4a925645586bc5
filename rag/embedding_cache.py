"""On-disk embedding cache keyed by (model id, text), so a re-run never re-embeds.

One SQLite file in the data folder; vectors stored as float32 bytes. WAL mode lets the app, the
CLI and the load-test service share it.

Usage:
    cache = EmbeddingCache(path)
    hits = cache.get_many("minilm", texts)   # {index: np.ndarray}
    cache.put_many("minilm", texts, vectors)
"""

from __future__ import annotations

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
