"""Which torch device local encoders run on, and what every run records about it.

``WORKBENCH_DEVICE`` ("auto", "cpu", "cuda", "cuda:N", "mps") over what this process's torch sees.
Kept apart from ``rag.models.registry`` because the choice is a pure function (``pick_device``, tested for
every case without a GPU) and the run records need ``runtime_info`` without loading a model.

Usage:
    pick_device("auto", {"cuda": False, "cuda_count": 0, "mps": True})   # "mps"
    runtime_info()                                                        # {"device": "cpu", "embed_batch": 64}
"""

from __future__ import annotations

from functools import lru_cache

from rag.i18n import _
from rag.settings import Settings, get_settings

DEVICE_KINDS = ("cpu", "cuda", "mps")


def pick_device(setting: str, torch_info: dict) -> str:
    """The torch device local encoders run on: pure, so it is tested without a GPU.

    ``setting`` is ``WORKBENCH_DEVICE`` ("auto", "cpu", "cuda", "cuda:N", "mps"); ``torch_info`` is
    what torch sees: ``{"cuda": bool, "cuda_count": int, "mps": bool}``. "auto" takes CUDA, else
    MPS, else CPU. An explicit device torch cannot use raises ValueError saying what it sees: a
    setting that silently fell back to the CPU would make every timing a lie."""
    value = (setting or "auto").strip().lower()
    if value == "auto":
        return "cuda" if torch_info.get("cuda") else "mps" if torch_info.get("mps") else "cpu"
    kind, _sep, index = value.partition(":")
    if kind not in DEVICE_KINDS or (index and (kind != "cuda" or not index.isdigit())):
        raise ValueError(_("WORKBENCH_DEVICE={setting} is not a device; use auto, cpu, cuda, cuda:N or mps").format(
            setting=repr(setting)))
    seen = _seen(torch_info)
    if kind == "cuda" and not torch_info.get("cuda"):
        raise ValueError(_("WORKBENCH_DEVICE={setting} but torch sees no CUDA GPU ({seen}); use auto or cpu").format(
            setting=repr(setting), seen=seen))
    if kind == "cuda" and index and int(index) >= int(torch_info.get("cuda_count", 0)):
        raise ValueError(_("WORKBENCH_DEVICE={setting} but torch sees {seen}; use cuda:0...{last}").format(
            setting=repr(setting), seen=seen, last=int(torch_info.get("cuda_count", 0)) - 1))
    if kind == "mps" and not torch_info.get("mps"):
        raise ValueError(_("WORKBENCH_DEVICE={setting} but torch sees no Apple MPS ({seen}); use auto or cpu").format(
            setting=repr(setting), seen=seen))
    return value


def _seen(info: dict) -> str:
    parts = [_("{n} CUDA GPU(s)").format(n=info.get("cuda_count", 0)) if info.get("cuda") else "",
             "MPS" if info.get("mps") else ""]
    return ", ".join(p for p in parts if p) or _("CPU only")


@lru_cache(maxsize=1)
def torch_info() -> dict:
    """What this process's torch can use (imports torch: call it when a local model is wanted)."""
    import torch

    mps = getattr(torch.backends, "mps", None)
    cuda = bool(torch.cuda.is_available())
    return {"cuda": cuda, "cuda_count": int(torch.cuda.device_count()) if cuda else 0,
            "mps": bool(mps is not None and mps.is_available())}


def embed_device(settings: Settings | None = None) -> str:
    """The device local encoders use here (``WORKBENCH_DEVICE`` over what torch sees)."""
    return pick_device((settings or get_settings()).device, torch_info())


def runtime_info(settings: Settings | None = None) -> dict:
    """What every run records about the hardware its local encoders used: device and batch size."""
    s = settings or get_settings()
    try:
        device = embed_device(s)
    except ValueError as e:  # a bad WORKBENCH_DEVICE: recorded as such; loading a model raises it
        device = f"invalid ({e})"
    return {"device": device, "embed_batch": s.embed_batch}
