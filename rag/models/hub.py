"""Models by hub id: ``hf:ORG/NAME[@REVISION]`` from the Hugging Face hub into the standard HF cache.

Why huggingface_hub's own code: it honours ``HF_ENDPOINT`` (the mirrors users in China rely on),
``HF_TOKEN`` (gated models; the library sends it to that endpoint only) and ``HF_HUB_OFFLINE``, and lays
the cache out as every other tool expects (``$HF_HOME/hub/models--ORG--NAME/snapshots/<commit>/``), so a
model fetched here is a model fetched for transformers too. A cached model loads with no network call.

Usage:
    problem("BAAI/bge-small-zh-v1.5", None)          # None, or one line: offline and not cached, how to fetch
    folder = fetch("BAAI/bge-small-zh-v1.5", None, progress=lambda done, total: ...)   # bytes
"""

from __future__ import annotations

import io
import queue
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from rag.i18n import _

ByteProgress = Callable[[int, int], None]  # (bytes done, bytes total)


def offline() -> bool:
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)


def cached_folder(repo: str, revision: str | None) -> str | None:
    """The snapshot folder of ``repo`` at ``revision`` in the HF cache, or None (no network)."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        return snapshot_download(repo, revision=revision, local_files_only=True)
    except (LocalEntryNotFoundError, OSError, ValueError):
        return None


def problem(repo: str, revision: str | None) -> str | None:
    """Why ``hf:repo`` cannot be loaded here before any work: offline (``HF_HUB_OFFLINE=1``) and not in the
    cache. Online, a missing model is fetched when it is first used."""
    if not offline() or cached_folder(repo, revision) is not None:
        return None
    from huggingface_hub import constants

    rev = f" --revision {revision}" if revision else ""
    return _("not in the Hugging Face cache ({cache}) and HF_HUB_OFFLINE=1: fetch it once with `{command}` (or "
             "unset HF_HUB_OFFLINE; HF_ENDPOINT picks a mirror)").format(cache=constants.HF_HUB_CACHE,
                                                                        command=f"hf download {repo}{rev}")


def fetch(repo: str, revision: str | None, progress: ByteProgress | None = None) -> str:
    """The local snapshot folder, downloading what is missing (bytes reported to ``progress``).

    ``progress`` is called from the thread that called ``fetch``, never from huggingface_hub's download workers:
    a Streamlit page's bar can only be moved from its script's thread (from another one ``st.progress`` raises
    ``NoSessionContext``, and that exception inside the download's tqdm bar failed the download). So the download
    runs in a worker of its own while this thread hands its byte counts to ``progress``, the last one each time."""
    from huggingface_hub import snapshot_download

    folder = cached_folder(repo, revision)
    if folder is not None:
        return folder
    if progress is None:
        return snapshot_download(repo, revision=revision)
    counts: queue.SimpleQueue[tuple[int, int]] = queue.SimpleQueue()
    pool = ThreadPoolExecutor(1, thread_name_prefix="hf-download")
    try:
        # huggingface_hub's byte total grows as each file starts (8 at a time): the repo's size, known up front
        expected = repo_bytes(repo, revision)
        job = pool.submit(snapshot_download, repo, revision=revision,
                          tqdm_class=_bar_class(lambda done, total: counts.put((done, max(total, expected)))))
        while not (job.done() and counts.empty()):
            try:
                latest = counts.get(timeout=0.1)
            except queue.Empty:
                continue
            while not counts.empty():  # only the newest count is worth drawing
                latest = counts.get_nowait()
            progress(*latest)
        return job.result()
    finally:
        pool.shutdown(wait=False, cancel_futures=True)  # a page stopped mid-download does not wait for it


def repo_bytes(repo: str, revision: str | None) -> int:
    """The size of every file of the repo at ``revision`` (its tree listing), 0 when it cannot be listed."""
    from huggingface_hub import HfApi

    try:
        return sum(int(getattr(f, "size", 0) or 0) for f in HfApi().list_repo_tree(repo, revision=revision,
                                                                                    recursive=True))
    except Exception:  # the download itself says what is wrong; the bar falls back to the growing total
        return 0


def _bar_class(progress: ByteProgress):
    """A tqdm class that reports the snapshot's byte bar to ``progress`` and draws nothing."""
    from tqdm import tqdm

    lock = threading.Lock()

    class Bar(tqdm):
        def __init__(self, *args, **kwargs):
            kwargs.pop("name", None)
            kwargs["file"], kwargs["mininterval"] = io.StringIO(), 0
            super().__init__(*args, **kwargs)

        def update(self, n=1):
            out = super().update(n)
            # the byte bar the per-file downloads add to (transfer bytes are counted for xet only)
            if self.unit == "B" and not str(self.desc).startswith("Downloading bytes"):
                with lock:
                    progress(int(self.n), int(self.total or self.n))
            return out

    return Bar
