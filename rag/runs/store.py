"""The run store: every run (retrieval, RAG, load, …), its configuration, per-item rows and summary.

One SQLite file in the data folder (``runs.sqlite``). Rows are written as they complete (WAL,
one transaction per batch), so a ``kill -9`` mid-run loses none of them and a run can be resumed
by skipping the (model, item) pairs already stored. Secrets never get in: every config, row and
summary passes through ``scrub`` (drops keys that look like credentials and masks any string
holding a configured secret value). Each kind's configuration, rows and summary are checked against
its models (``rag.runs.models``); rows are migrated as they are read and written (metric values of
rows stored before typed runs move into ``scores``), so an old ``runs.sqlite`` still opens.

Usage:
    store = RunStore.default()
    run_id = store.create("retrieval", {"models": ["minilm"], "k": 10}, dataset=ds)
    store.add_rows(run_id, [RetrievalRow(model="minilm", item_id="q1", scores={"ndcg@10": 0.8})])
    store.finish(run_id, {"metrics": {...}})
    store.get("latest").summary
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import platform
import re
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from rag.i18n import _
from rag.runs.models import RunModels, RunSummary, models_for
from rag.runs.safety import check_store, daily_backup, make_reserve, on_full_disk
from rag.settings import get_settings

# "token" but not "tokens": usage counts (prompt_tokens, max_tokens) are data, not credentials; nor
# "tokenizer": a BM25 analyzer's {"tokenizer": "jieba"} is how the collection was built.
SECRET_KEY_RE = re.compile(r"(api[_-]?key|token(?!s|izer)|secret|password|authorization)", re.I)
TRACKED_PACKAGES = ("pymilvus", "milvus-lite", "sentence-transformers", "torch", "ragas", "langchain",
                    "langchain-openai", "openai", "locust", "streamlit", "pandas")


def _secret_values() -> list[str]:
    s = get_settings()
    vals = [s.openai_key, s.milvus_token.get_secret_value() if s.milvus_token else None]
    return [v for v in vals if v and len(v) >= 6]


def scrub(obj: Any, _secrets: list[str] | None = None) -> Any:
    """A copy with credential-looking keys removed and any secret value masked."""
    sec = _secret_values() if _secrets is None else _secrets
    if isinstance(obj, dict):
        return {k: scrub(v, sec) for k, v in obj.items() if not SECRET_KEY_RE.search(str(k))}
    if isinstance(obj, (list, tuple)):
        return [scrub(v, sec) for v in obj]
    if isinstance(obj, str):
        for v in sec:
            obj = obj.replace(v, "***")
        return obj
    if isinstance(obj, float) and not math.isfinite(obj):
        return None  # NaN/inf are not JSON; "not scored" is None
    return obj


def environment_manifest() -> dict:
    """Python and package versions, for reproducibility manifests."""
    return {"python": platform.python_version(), "packages": dict(_package_versions())}


@functools.cache
def _package_versions() -> tuple[tuple[str, str | None], ...]:
    """Read once per process (~50 ms of package metadata, on every run's start): the versions of the code this
    process has loaded, which a package upgraded on disk while it runs does not change."""
    versions = []
    for p in TRACKED_PACKAGES:
        try:
            versions.append((p, metadata.version(p)))
        except metadata.PackageNotFoundError:
            versions.append((p, None))
    return tuple(versions)


@dataclass
class Run:
    id: str
    kind: str
    status: str
    created: float
    finished: float | None
    dataset: str | None
    dataset_hash: str | None
    config: dict = field(default_factory=dict)
    summary: dict = field(default_factory=dict)
    error: str | None = None

    @property
    def label(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.created))
        models = ",".join(self.config.get("models", []))
        return f"{self.id} · {self.kind} · {self.dataset or '-'} · {models} · {when} · {self.status}"

    @property
    def kind_models(self) -> RunModels:
        """This kind's typed models (``rag.runs.models``)."""
        return models_for(self.kind)

    def typed_summary(self) -> RunSummary:
        """The summary as its kind's model (``per_model()`` gives every kind's aggregates one shape)."""
        return self.kind_models.summary.model_validate(self.summary or {})


class RunNotFound(KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


_checked: set[Path] = set()  # stores checked (and backed up) by this process
_redirect: Path | None = None  # ``default()``'s file while the data folder's store is damaged


def redirect_default(path: Path | None) -> None:
    """Make ``RunStore.default()`` open ``path`` (None: the data folder's ``runs.sqlite`` again): a job
    whose store is damaged records its run in a side store instead of losing it."""
    global _redirect
    _redirect = Path(path) if path else None


class RunStore:
    """Usage: see the module docstring. The first open of a file in a process checks it (``StoreDamaged``:
    one line naming the file and the remedy) and makes the day's backup (``rag.runs.safety``)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        if self.path.resolve() not in _checked:
            check_store(self.path)  # before any work: a damaged file is one clear line, not a "bug"
            daily_backup(self.path)
            make_reserve(self.path)
            _checked.add(self.path.resolve())
        with self._conn() as c:
            c.executescript("""
            CREATE TABLE IF NOT EXISTS runs (id TEXT PRIMARY KEY, kind TEXT, status TEXT, created REAL,
                finished REAL, dataset TEXT, dataset_hash TEXT, config TEXT, summary TEXT, error TEXT);
            CREATE TABLE IF NOT EXISTS rows (run_id TEXT, model TEXT, item_id TEXT, data TEXT, updated REAL,
                PRIMARY KEY (run_id, model, item_id));
            CREATE INDEX IF NOT EXISTS rows_run ON rows(run_id);
            CREATE TABLE IF NOT EXISTS derived (key TEXT PRIMARY KEY, run_ids TEXT, stamp TEXT, data TEXT,
                created REAL);
            """)

    @classmethod
    def default(cls) -> RunStore:
        return cls(_redirect or get_settings().user_path("runs.sqlite"))  # the signed-in user's own store

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.row_factory = sqlite3.Row
            self._local.conn = conn
        return conn

    # ---------------------------------------------------------------- write
    def create(self, kind: str, config: dict | BaseModel, dataset=None, run_id: str | None = None) -> str:
        """A new ``running`` run; ``kind`` must be registered and ``config`` fit its config model."""
        config = _plain(config)
        models_for(kind).config.model_validate(config)
        run_id = run_id or time.strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)
        cfg = scrub({**config, "environment": environment_manifest()})
        with self._conn() as c:
            c.execute("INSERT INTO runs VALUES (?,?,?,?,?,?,?,?,?,?)",
                      (run_id, kind, "running", time.time(), None,
                       scrub(getattr(dataset, "name", None)), dataset.content_hash() if dataset is not None else None,
                       json.dumps(cfg), "{}", None))
        return run_id

    def _kind(self, run_id: str) -> str:
        r = self._conn().execute("SELECT kind FROM runs WHERE id=?", (run_id,)).fetchone()
        if r is None:
            raise RunNotFound(_("no run '{run}'").format(run=run_id))
        return r["kind"]

    def add_rows(self, run_id: str, rows: list[dict | BaseModel]) -> None:
        """Upsert rows (the kind's row model, or dicts of its shape); each has ``model`` and ``item_id``
        (e.g. the question id). Dicts in the old flat shape are migrated (``RunRow.read``)."""
        sec = _secret_values()
        now = time.time()
        row_model = models_for(self._kind(run_id)).row
        typed = [row_model.read(_plain(r)).model_dump(mode="json") for r in rows]
        with self._conn() as c:
            c.executemany("INSERT OR REPLACE INTO rows VALUES (?,?,?,?,?)",
                          [(run_id, r["model"], r["item_id"], json.dumps(scrub(r, sec)), now) for r in typed])

    def _summary(self, run_id: str, summary: dict | BaseModel) -> str:
        summary = _plain(summary)
        models_for(self._kind(run_id)).summary.model_validate(summary)
        return json.dumps(scrub(summary))

    def finish(self, run_id: str, summary: dict | BaseModel, status: str = "done", error: str | None = None) -> None:
        summary = self._summary(run_id, summary)

        def write():
            with self._conn() as c:
                c.execute("UPDATE runs SET status=?, finished=?, summary=?, error=? WHERE id=?",
                          (status, time.time(), summary, scrub(error) if error else None, run_id))
        on_full_disk(self.path, write)  # a run failing for a full disk is still marked failed

    def update_summary(self, run_id: str, summary: dict | BaseModel) -> None:
        summary = self._summary(run_id, summary)
        with self._conn() as c:
            c.execute("UPDATE runs SET summary=? WHERE id=?", (summary, run_id))

    def set_status(self, run_id: str, status: str, error: str | None = None) -> None:
        def write():
            with self._conn() as c:
                c.execute("UPDATE runs SET status=?, error=? WHERE id=?",
                          (status, scrub(error) if error else None, run_id))
        on_full_disk(self.path, write)

    def delete(self, run_id: str) -> None:
        with self._conn() as c:
            c.execute("DELETE FROM rows WHERE run_id=?", (run_id,))
            c.execute("DELETE FROM derived WHERE ' ' || run_ids || ' ' LIKE ?", (f"% {run_id} %",))
            c.execute("DELETE FROM runs WHERE id=?", (run_id,))

    # ---------------------------------------------------------------- read
    def _run(self, r: sqlite3.Row) -> Run:
        return Run(r["id"], r["kind"], r["status"], r["created"], r["finished"], r["dataset"], r["dataset_hash"],
                   json.loads(r["config"] or "{}"), json.loads(r["summary"] or "{}"), r["error"])

    def get(self, run_id: str, kind: str | None = None) -> Run:
        """A run by id; ``latest`` is the newest (of ``kind`` if given)."""
        c = self._conn()
        if run_id == "latest":
            q, a = "SELECT * FROM runs" + (" WHERE kind=?" if kind else "") + " ORDER BY created DESC LIMIT 1", \
                ([kind] if kind else [])
            r = c.execute(q, a).fetchone()
        else:
            r = c.execute("SELECT * FROM runs WHERE id=?", (run_id,)).fetchone()
        if r is None:
            message = _("no run '{run}' of kind {kind}; list runs in the History page or with `python cli.py runs`") \
                if kind else _("no run '{run}'; list runs in the History page or with `python cli.py runs`")
            raise RunNotFound(message.format(run=run_id, kind=kind))
        return self._run(r)

    def list(self, kind: str | None = None, dataset: str | None = None, limit: int = 500) -> list[Run]:
        where, args = [], []
        if kind:
            where.append("kind=?")
            args.append(kind)
        if dataset:
            where.append("dataset=?")
            args.append(dataset)
        q = "SELECT * FROM runs" + (" WHERE " + " AND ".join(where) if where else "") + \
            " ORDER BY created DESC LIMIT ?"
        return [self._run(r) for r in self._conn().execute(q, [*args, limit]).fetchall()]

    def typed_rows(self, run_id: str, model: str | None = None) -> list:
        """The run's rows as its kind's row model (metric values in ``scores``), in stored order;
        rows stored before typed runs are migrated as they are read."""
        kind = self._conn().execute("SELECT kind FROM runs WHERE id=?", (run_id,)).fetchone()
        if kind is None:
            return []
        row_model = models_for(kind["kind"]).row
        q = "SELECT data FROM rows WHERE run_id=?" + (" AND model=?" if model else "") + " ORDER BY rowid"
        return [row_model.read(json.loads(r["data"]))
                for r in self._conn().execute(q, [run_id] + ([model] if model else []))]

    def rows(self, run_id: str, model: str | None = None) -> list[dict]:
        """``typed_rows`` as plain JSON data (what pages, exports and snapshots hold)."""
        return [r.model_dump(mode="json") for r in self.typed_rows(run_id, model)]

    def done_items(self, run_id: str) -> set[tuple[str, str]]:
        """(model, item_id) pairs already stored: what a resumed run skips."""
        return {(r["model"], r["item_id"]) for r in
                self._conn().execute("SELECT model, item_id FROM rows WHERE run_id=?", (run_id,))}

    # ---------------------------------------------------------------- derived data (e.g. statistics)
    def stamp(self, run_id: str) -> str:
        """Changes whenever the run's rows, status or summary change: derived data (statistics) stored
        under an older stamp is stale. Cheap (an indexed count), so every read can check it."""
        c = self._conn()
        run = c.execute("SELECT status, finished, summary FROM runs WHERE id=?", (run_id,)).fetchone()
        if run is None:
            raise RunNotFound(_("no run '{run}'").format(run=run_id))
        rows = c.execute("SELECT COUNT(*), MAX(updated) FROM rows WHERE run_id=?", (run_id,)).fetchone()
        digest = hashlib.sha1((run["summary"] or "").encode()).hexdigest()[:12]
        return f"{run['status']}|{run['finished']}|{rows[0]}|{rows[1]}|{digest}"

    def derived(self, key: str) -> tuple[str, str] | None:
        """``(stamp, data)`` stored by ``put_derived`` under ``key``, or None."""
        r = self._conn().execute("SELECT stamp, data FROM derived WHERE key=?", (key,)).fetchone()
        return (r["stamp"], r["data"]) if r else None

    def put_derived(self, key: str, run_ids: list[str], stamp: str, data: str) -> None:
        """Store text computed from ``run_ids`` (deleted with any of them); secret values are masked."""
        with self._conn() as c:
            c.execute("INSERT OR REPLACE INTO derived VALUES (?,?,?,?,?)",
                      (key, " ".join(run_ids), stamp, scrub(data), time.time()))

    # ---------------------------------------------------------------- snapshot / restore / ids
    def snapshot(self, run_id: str) -> dict:
        """The whole run as plain JSON data (``{"run": {...}, "rows": [...]}``): what a JSON export
        holds and what ``restore`` puts back, so a delete can be undone and runs moved between stores."""
        run = self.get(run_id)
        return {"run": {"id": run.id, "kind": run.kind, "status": run.status, "created": run.created,
                        "finished": run.finished, "dataset": run.dataset, "dataset_hash": run.dataset_hash,
                        "config": run.config, "summary": run.summary, "error": run.error},
                "rows": self.rows(run.id)}

    def restore(self, snap: dict) -> str:
        """Put a ``snapshot`` back (replacing a run with the same id); returns the run id."""
        r = snap["run"]
        models_for(r.get("kind"))
        with self._conn() as c:
            c.execute("INSERT OR REPLACE INTO runs VALUES (?,?,?,?,?,?,?,?,?,?)",
                      (r["id"], r["kind"], r.get("status", "done"), r.get("created") or time.time(),
                       r.get("finished"), r.get("dataset"), r.get("dataset_hash"),
                       json.dumps(scrub(r.get("config") or {})), json.dumps(scrub(r.get("summary") or {})),
                       scrub(r["error"]) if r.get("error") else None))
        self.add_rows(r["id"], [row for row in snap.get("rows", []) if "model" in row and "item_id" in row])
        return r["id"]

    def resolve_ids(self, spec: str | list[str], kind: str | None = None) -> list[str]:
        """Run ids from ``"ID,ID"`` or a list; ``latest`` becomes the newest run's id. Unknown ids
        raise ``RunNotFound``; duplicates are dropped, order kept."""
        parts = spec.split(",") if isinstance(spec, str) else list(spec)
        ids = [self.get(p.strip(), kind).id for p in parts if p.strip()]
        if not ids:
            raise ValueError(_("give at least one run id (or 'latest')"))
        return list(dict.fromkeys(ids))


def _plain(obj: dict | BaseModel) -> dict:
    """A model as the JSON data it stands for; a dict as it is."""
    return obj.model_dump(mode="json") if isinstance(obj, BaseModel) else obj


__all__ = ["Run", "RunNotFound", "RunStore", "environment_manifest", "scrub"]
