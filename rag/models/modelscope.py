"""Models by ModelScope id: ``ms:ORG/NAME[@REVISION]`` (modelscope.cn, where many Chinese models are
published first and which users in China reach when the Hugging Face hub is slow or blocked).

Why our own httpx client, not the ``modelscope`` package: modelscope 1.40.2 installs light (no torch) but
delegates downloads to ``modelscope-hub`` and writes a layout that changed between versions; the public
API it speaks is two calls, so this module speaks them and writes the layout the SDK reuses
(``$MODELSCOPE_CACHE/models/ORG/NAME`` with dots in NAME as ``___``):

    GET {endpoint}/api/v1/models/ORG/NAME/repo/files?Revision=REV&Recursive=True   -> Data.Files[Path, Type, Size]
    GET {endpoint}/api/v1/models/ORG/NAME/repo?Revision=REV&FilePath=PATH          -> the file's bytes

``MODELSCOPE_DOMAIN`` picks the endpoint (``https://`` added to a bare domain, the SDK's rule; default
``https://www.modelscope.cn``), ``MODELSCOPE_CACHE`` the cache (default ``~/.cache/modelscope/hub``);
``MODELSCOPE_OFFLINE=1`` (or ``HF_HUB_OFFLINE=1``) means never the network: a model not cached is one
line before any work. A cached model (a folder with a ``.complete`` marker) loads with no network call.

Usage:
    problem("iic/nlp_gte_sentence-embedding_chinese-small", None)   # None, or one line why not
    folder = fetch("iic/nlp_gte_sentence-embedding_chinese-small", None, progress=lambda done, total: ...)
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from rag.i18n import _

DEFAULT_ENDPOINT = "https://www.modelscope.cn"
DEFAULT_REVISION = "master"
MARKER = ".complete"  # written last: a folder without it is a download that did not finish


def endpoint() -> str:
    domain = os.environ.get("MODELSCOPE_DOMAIN", "").strip().rstrip("/")
    if not domain:
        return DEFAULT_ENDPOINT
    return domain if domain.startswith(("http://", "https://")) else f"https://{domain}"


def cache_root() -> Path:
    return Path(os.environ.get("MODELSCOPE_CACHE") or Path.home() / ".cache" / "modelscope" / "hub").expanduser()


def offline() -> bool:
    return any(os.environ.get(v, "").strip().lower() in ("1", "true", "yes")
               for v in ("MODELSCOPE_OFFLINE", "HF_HUB_OFFLINE"))


def folder_of(repo: str, revision: str | None) -> Path:
    org, name = repo.split("/")
    base = cache_root() / "models" / org / name.replace(".", "___")
    return base if revision in (None, DEFAULT_REVISION) else base.with_name(f"{base.name}@{revision}")


def cached_folder(repo: str, revision: str | None) -> str | None:
    folder = folder_of(repo, revision)
    return str(folder) if (folder / MARKER).exists() else None


def problem(repo: str, revision: str | None) -> str | None:
    """Why ``ms:repo`` cannot be loaded here before any work: offline and not in the cache."""
    if not offline() or cached_folder(repo, revision) is not None:
        return None
    return _("not in the ModelScope cache ({folder}) and offline (MODELSCOPE_OFFLINE / HF_HUB_OFFLINE): fetch it "
             "once online, or copy the model folder there with a {marker} file").format(
                 folder=folder_of(repo, revision), marker=MARKER)


def fetch(repo: str, revision: str | None, progress: Callable[[int, int], None] | None = None,
          timeout: float = 60.0) -> str:
    """The local folder, downloading every file of the repo at ``revision`` (bytes to ``progress``)."""
    import httpx

    if (folder := cached_folder(repo, revision)) is not None:
        return folder
    if why := problem(repo, revision):
        raise OSError(f"ms:{repo}: {why}")  # i18n: internal (the reason is translated; this only names the model)
    rev, base = revision or DEFAULT_REVISION, f"{endpoint()}/api/v1/models/{repo}/repo"
    target = folder_of(repo, revision)
    with httpx.Client(timeout=timeout, follow_redirects=True) as client:
        r = client.get(f"{base}/files", params={"Revision": rev, "Recursive": "True"})
        if r.status_code != 200:
            raise OSError(_("ms:{repo}: ModelScope ({endpoint}) answered HTTP {status} for its file list at "
                            "revision {revision}").format(repo=repo, endpoint=endpoint(), status=r.status_code,
                                                          revision=rev))
        files = [f for f in (r.json().get("Data") or {}).get("Files") or [] if f.get("Type") != "tree"]
        total, done = sum(int(f.get("Size") or 0) for f in files), 0
        for f in files:
            path = target / f["Path"]
            if target.resolve() not in path.resolve().parents:
                raise OSError(_("ms:{repo}: refused the file path {path} (outside the model folder)").format(
                    repo=repo, path=repr(f["Path"])))
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.name + ".part")
            with client.stream("GET", base, params={"Revision": rev, "FilePath": f["Path"]}) as resp:
                if resp.status_code != 200:
                    raise OSError(_("ms:{repo}: ModelScope answered HTTP {status} for {path}").format(
                        repo=repo, status=resp.status_code, path=f["Path"]))
                with tmp.open("wb") as out:
                    for chunk in resp.iter_bytes():
                        out.write(chunk)
                        done += len(chunk)
                        if progress:
                            progress(done, max(total, done))
            tmp.replace(path)
    (target / MARKER).write_text(rev)
    return str(target)
