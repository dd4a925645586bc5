"""The run store's safety: an integrity check before any work, daily backups, and a restore.

Why: a truncated ``runs.sqlite`` made every command end with "database disk image is malformed (a
bug: …)" (exit 3) after the job had embedded and indexed everything, and weeks of run history had
no copy. Now the first open of a store in a process runs SQLite's ``PRAGMA quick_check`` (a
damaged file raises ``StoreDamaged``: one line naming the file and the remedy; the CLI exits 2),
and a healthy store is copied once a day with SQLite's online backup API (consistent while other
processes write; WAL included) to ``<data>/backups/runs-YYYY-MM-DD.sqlite``, the last ``KEEP``
kept. ``restore`` moves the damaged file (and its ``-wal``/``-shm``) aside, never deletes it.

Usage:
    check_store(path)                 # raises StoreDamaged when SQLite finds the file damaged
    backup_store(path)                # today's backup (None when there is one already), older ones pruned
    restore_store(path)               # (restored from, moved aside): the newest healthy backup
    on_full_disk(path, write)         # a status write that frees the ballast (``<store>.reserve``) if the disk is full
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import time
from pathlib import Path

from rag.i18n import _

KEEP = 7  # daily backups kept
RESERVE_BYTES = 1_000_000  # ballast freed on a full disk, so a failed run can still be marked failed
log = logging.getLogger("workbench.runs")


class StoreDamaged(ValueError):
    """The run store file is damaged; the message names it and says what to do (exit 2, not a bug)."""

    def __init__(self, path: Path, detail: str):
        self.path, self.detail = Path(path), detail
        super().__init__(_("run store {path} is damaged ({detail}): restore the latest backup with "
                           "`workbench runs restore`, or move it aside (e.g. `mv {path} {path}.damaged`) to start "
                           "a new store").format(path=path, detail=detail))


def damage(path: Path) -> str | None:
    """What SQLite finds wrong with the file (None: healthy or not there yet)."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30) as c:
            rows = [r[0] for r in c.execute("PRAGMA quick_check").fetchall()]
        c.close()
    except sqlite3.DatabaseError as e:
        return str(e)
    return None if rows == ["ok"] else "; ".join(rows[:3])


def check_store(path: Path) -> None:
    """Raise ``StoreDamaged`` when the file is damaged."""
    if (detail := damage(path)) is not None:
        raise StoreDamaged(path, detail)


def backups_dir(path: Path) -> Path:
    return Path(path).parent / "backups"


def backups(path: Path) -> list[Path]:
    """This store's backups, newest first."""
    stem = Path(path).stem
    return sorted(backups_dir(path).glob(f"{stem}-*.sqlite"), reverse=True)


def backup_store(path: Path, force: bool = False, keep: int = KEEP) -> Path | None:
    """Copy the store with SQLite's online backup to ``backups/<stem>-YYYY-MM-DD.sqlite`` (with
    ``force``: ``-YYYY-MM-DD-HHMMSS``); None when today's exists (or no store yet). Keeps the last ``keep``."""
    path = Path(path)
    if not path.exists():
        return None
    stamp = time.strftime("%Y-%m-%d-%H%M%S" if force else "%Y-%m-%d")
    dest = backups_dir(path) / f"{path.stem}-{stamp}.sqlite"
    if dest.exists() and not force:
        return None
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(f".{os.getpid()}.partial")  # two processes backing up at once
    src = sqlite3.connect(path, timeout=30)
    try:
        out = sqlite3.connect(tmp)
        with out:
            src.backup(out)
        out.close()
        tmp.replace(dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        src.close()
    for old in backups(path)[keep:]:
        old.unlink(missing_ok=True)
    return dest


def daily_backup(path: Path) -> None:
    """Today's backup if there is none; a failure (disk full) is logged, never stops the job."""
    try:
        if made := backup_store(path):
            log.info("backed up %s to %s", path, made)
    except (OSError, sqlite3.Error) as e:
        log.warning("could not back up %s: %s", path, e)


def restore_store(path: Path, source: Path | None = None) -> tuple[Path, Path | None]:
    """Put ``source`` (default: the newest healthy backup) in place of the store; the current file, if
    any, is moved aside to ``<name>.damaged-<time>`` with its ``-wal``/``-shm``. Returns (source, aside)."""
    path = Path(path)
    candidates = [Path(source)] if source else backups(path)
    good = next((b for b in candidates if b.exists() and damage(b) is None), None)
    if good is None:
        message = _("cannot restore {path}: {source} is missing or damaged; move the store aside "
                    "(`mv {path} {path}.damaged`) to start a new one") if source else \
            _("cannot restore {path}: no healthy backup in {folder}; move the store aside "
              "(`mv {path} {path}.damaged`) to start a new one")
        raise ValueError(message.format(path=path, source=source, folder=backups_dir(path)))
    aside = None
    if path.exists():
        aside = path.with_name(f"{path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
        path.replace(aside)
    for suffix in ("-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            side.replace(aside.with_name(aside.name + suffix)) if aside else side.unlink()
    tmp = path.with_name(path.name + ".restoring")
    shutil.copyfile(good, tmp)
    tmp.replace(path)
    return good, aside


def reserve_path(path: Path) -> Path:
    return Path(path).with_name(Path(path).name + ".reserve")


def make_reserve(path: Path) -> None:
    """Keep ``RESERVE_BYTES`` of ballast beside the store (a no-op when it is there or cannot be made)."""
    reserve = reserve_path(path)
    try:
        if not reserve.exists() or reserve.stat().st_size < RESERVE_BYTES:
            with reserve.open("wb") as f:
                f.write(b"\0" * RESERVE_BYTES)
    except OSError:
        reserve.unlink(missing_ok=True)


def on_full_disk(path: Path, write) -> None:
    """Run ``write``; when SQLite says the disk is full, free the ballast and try once more (why: marking a
    run failed for a full disk needs a little space; without it the run would stay "running")."""
    try:
        write()
    except sqlite3.OperationalError as e:
        reserve = reserve_path(path)
        if "full" not in str(e) or not reserve.exists():
            raise
        log.warning("disk full writing %s: freed %s to record the run's status", path, reserve)
        reserve.unlink()
        write()
