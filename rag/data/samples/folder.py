"""What every built-in media sample folder shares: its files written atomically, its index files, its loading.

The image, audio and video samples (and a video's extracted frames) are folders generated here, byte for byte the
same on every machine, written once into the data folder and loaded with their medium's folder loader, so each
sample is a worked example of its folder format. A killed process never leaves half a folder (``ensure_folder``).

Usage:
    files = folder_files(media_files, captions, queries, qrels, readme)      # sorted (path, bytes)
    folder = sample_dir("image-sample-v1", dict(files), N_("image sample"))  # in DATA/samples/, written if needed
    ds = load_folder_sample(load_image_folder, folder, "image-sample")
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from rag.data.dataset import Dataset, DatasetError
from rag.i18n import _


def jsonl(records: list[dict]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()


def folder_files(media: list[tuple[str, bytes]], captions: list[dict], queries: list[dict], qrels: list[str],
                 readme: str) -> tuple[tuple[str, bytes], ...]:
    """A sample folder's files, sorted: its media, then ``captions.jsonl``, ``queries.jsonl``, ``qrels/test.tsv``
    (``qrels``: its lines, header included) and ``README.md``."""
    return tuple(sorted([*media, ("captions.jsonl", jsonl(captions)), ("queries.jsonl", jsonl(queries)),
                         ("qrels/test.tsv", ("\n".join(qrels) + "\n").encode()), ("README.md", readme.encode())]))


def sample_dir(folder_name: str, files: dict[str, bytes], what: str, data_root: Path | None = None) -> Path:
    """The sample folder ``samples/<folder_name>`` in the data folder, written if missing or damaged."""
    from rag.settings import get_settings

    return ensure_folder(Path(data_root or get_settings().data_dir) / "samples" / folder_name, files, what)


def load_folder_sample(loader: Callable[..., Dataset], folder: Path, name: str) -> Dataset:
    """The sample loaded by its medium's folder loader, named and sourced ``name``."""
    ds = loader(folder, name=name)
    ds.source = name
    return ds


def _matches(folder: Path, files: dict[str, bytes]) -> bool:
    """Is the folder exactly these files (nothing missing, changed or added)?"""
    if not folder.is_dir():
        return False
    try:
        present = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
        return present == set(files) and all((folder / rel).read_bytes() == data for rel, data in files.items())
    except OSError:
        return False


LEFTOVER_AGE_S = 3600.0  # temporary folders older than this are from a killed process: removed


def _remove_leftovers(parent: Path, folder_name: str) -> None:
    now = time.time()
    for p in parent.glob(f".{folder_name}.*"):
        try:
            if p.is_dir() and now - p.stat().st_mtime > LEFTOVER_AGE_S:
                shutil.rmtree(p, ignore_errors=True)
        except OSError:
            pass


def ensure_folder(target: Path, files: dict[str, bytes], what: str) -> Path:
    """``target`` holding exactly ``files``, written if missing or damaged (every built-in sample uses it).

    Written atomically: the files go into a temporary folder beside it, which is then renamed into
    place (a damaged folder is first renamed aside), so readers see the whole folder or none.
    """
    folder_name = target.name
    if _matches(target, files):
        return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _remove_leftovers(target.parent, folder_name)
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder_name}.tmp-", dir=target.parent))
        os.chmod(tmp, 0o755)  # mkdtemp makes it private; the sample is not a secret
        aside: Path | None = None
        try:
            for rel, data in files.items():
                path = tmp / rel
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
            if _matches(target, files):  # another process finished first
                return target
            if target.exists():
                aside = target.parent / f".{folder_name}.old-{os.getpid()}-{uuid.uuid4().hex[:8]}"
                try:
                    os.replace(target, aside)
                except FileNotFoundError:
                    aside = None
            try:
                os.replace(tmp, target)
            except OSError:
                if not _matches(target, files):  # not a lost race with another writer: a real failure
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
            if aside is not None:
                shutil.rmtree(aside, ignore_errors=True)
    except OSError as e:
        raise DatasetError(_("cannot write the {what}: {reason}").format(what=_(what), reason=e.strerror or e),
                           file=str(target), hint=_("set WORKBENCH_DATA_DIR to a writable folder")) from None
    return target
