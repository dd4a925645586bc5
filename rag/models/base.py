"""What every encoder shares: the errors that say why a model cannot run, and small helpers.

Below the text and image encoders and the registry, so none of them imports another for these.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from rag.i18n import _

if TYPE_CHECKING:
    from rag.models.spec import ModelSpec

ProgressFn = Callable[[int, int], None]  # (done, total)


class ModelUnavailable(RuntimeError):
    """The model cannot run here (no key, endpoint unreachable, folder missing); says why."""


class ModalityError(ModelUnavailable):
    """The model cannot embed this kind of input (an image backbone given text, a text model given
    images); says which model and what to use instead."""


def query_kind_problem(spec: ModelSpec, kind: str, n: int) -> str:
    """Why ``spec`` cannot embed ``n`` queries of ``kind`` (one message for jobs and encoders)."""
    if kind == "text" and spec.modality == "audio":
        return _("{model}: aud: models embed sounds only (an audio backbone has no text tower), so it cannot embed "
                 "the {n} text queries; keep only the audio queries or use a clap:FOLDER model").format(
                     model=spec.ref, n=n)
    if kind == "text":
        return _("{model}: img: models embed images only (an image backbone has no text tower), so it cannot embed "
                 "the {n} text queries; keep only the image queries or use a clip:FOLDER model").format(
                     model=spec.ref, n=n)
    if kind == "audio":
        return _("{model} cannot embed the {n} audio queries; use a clap:FOLDER or aud:FOLDER model").format(
            model=spec.ref, n=n)
    if kind == "image":
        return _("{model} embeds text only: it cannot embed the {n} image queries; use a clip:FOLDER or img:FOLDER "
                 "model").format(model=spec.ref, n=n)
    return _("{model} embeds text only: it cannot embed the {n} {kind} queries; use a clip:FOLDER or img:FOLDER "
             "model").format(model=spec.ref, n=n, kind=_(kind))


def file_sha256(path: str) -> str:
    """sha256 of a file's bytes (what ``Document.image_sha`` holds), read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
