"""Specs for the models users bring, by prefix: ``hf:ORG/NAME[@REV]`` (the Hugging Face hub),
``clip:`` / ``img:`` (image folders), ``clap:`` / ``aud:`` (audio folders), and the checks they share.
Parse only: whether a model can run here is its ``availability()``. ``rag.models.registry.resolve`` calls
these; the sentence-transformers folder and OpenAI-compatible endpoint specs are built there too.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from contextvars import ContextVar

from rag.i18n import N_, _
from rag.models.base import ModelUnavailable, ProgressFn
from rag.models.devices import embed_device
from rag.models.spec import ModelSpec
from rag.models.text import SentenceTransformerEncoder
from rag.settings import Settings

# where a hub download reports its bytes while an encoder is made (set by ``registry.prepare``)
download_progress: ContextVar[ProgressFn | None] = ContextVar("download_progress", default=None)


# Spec prefixes whose value is a folder on this machine (a shared app reads them only under WORKBENCH_DATA_ROOTS).
FOLDER_PREFIXES = ("st", "clip", "img", "clap", "aud", "asr", "ce")


def spec_folder(spec: str) -> str | None:
    """The local folder a model spec reads (``st:``, ``clip:``, ``img:``, ``clap:``, ``aud:``, ``asr:``, ``ce:``;
    options after ``#`` dropped), or None for a registry name, a hub id or an endpoint. Parse only."""
    prefix, sep, rest = str(spec).partition("#")[0].strip().partition(":")
    return rest.strip() if sep and prefix.strip() in FOLDER_PREFIXES and rest.strip() else None


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "model"


def unique_slug(prefix: str, readable: str, model_id: str) -> str:
    """Collection-name part for a user's model: readable, plus a hash of what it is, so two folders
    named ``model`` (or one model name at two endpoints) never share (and drop) each other's collection."""
    return f"{prefix}-{_slug(readable)}-{hashlib.sha1(model_id.encode()).hexdigest()[:6]}"


def endpoint_check(base_url: str) -> Callable[[Settings], str | None]:
    def check(s: Settings) -> str | None:
        import httpx

        key = s.key_for(base_url)  # not the OpenAI key: this is someone else's server
        try:
            httpx.get(base_url.rstrip("/") + "/models", timeout=3.0,
                      headers={"Authorization": f"Bearer {key}"} if key else {})
        except httpx.HTTPError as e:
            return _("endpoint {url} unreachable ({error}); start it or fix the base URL").format(
                url=base_url, error=type(e).__name__)
        return None
    return check


def folder_check(path: str) -> Callable[[Settings], str | None]:
    from pathlib import Path

    return lambda s: None if Path(path).is_dir() else _("no sentence-transformers folder at {path}").format(path=path)


def modelscope_model(name: str) -> ModelSpec:
    """``ms:ORG/NAME[@REVISION]``: parse only; the files are fetched into the ModelScope cache on first use."""
    from rag.models import modelscope

    return _repo_model(name, "ms", modelscope, _("{repo} from ModelScope (MODELSCOPE_DOMAIN, MODELSCOPE_CACHE)"),
                       N_("ModelScope model run on this machine (hardware not priced)"))


def hub_model(name: str) -> ModelSpec:
    """``hf:ORG/NAME[@REVISION]``: parse only; the files are fetched into the HF cache on first use."""
    from rag.models import hub

    return _repo_model(name, "hf", hub, _("{repo} from the Hugging Face hub (HF_ENDPOINT, HF cache)"),
                       N_("hub model run on this machine (hardware not priced)"))


def _repo_model(name: str, prefix: str, source, label: str, cost_note: str) -> ModelSpec:
    """``PREFIX:ORG/NAME[@REVISION]`` from a model hub (``source``: ``rag.models.hub`` or ``.modelscope``, each with
    ``fetch``, ``problem`` and ``cached_folder``): a sentence-transformers model, its model card read from the
    catalog (``use_catalog``)."""
    repo, _sep, revision = name[len(prefix) + 1:].strip().partition("@")
    repo, revision = repo.strip(), revision.strip() or None
    if repo.count("/") != 1 or not all(repo.split("/")):
        raise ModelUnavailable(_("{model}: give {prefix}:ORG/NAME[@REVISION], e.g. {prefix}:BAAI/bge-small-zh-v1.5"
                                 ).format(model=name, prefix=prefix))
    model_id = f"{prefix}:{repo}" + (f"@{revision}" if revision else "")
    return ModelSpec(unique_slug(prefix, repo.split("/")[1], model_id), repo, "dense", model_id,
                     label.format(repo=repo),
                     lambda s: SentenceTransformerEncoder(source.fetch(repo, revision, download_progress.get()),
                                                          embed_device(s)),
                     lambda s: source.problem(repo, revision),
                     cost_note=cost_note, key=name,
                     folder=lambda s: source.cached_folder(repo, revision), use_catalog=True)


# prefix -> (modality, encoder class in its module, label, query kinds, what it does); one entry per kind
MEDIA_MODELS = {
    "clip": ("image", "ClipEncoder", N_("Local CLIP {name}"), ("text", "image"),
             N_("CLIP / SigLIP folder {path}: text and image queries against an image (or video frame) corpus")),
    "img": ("image", "ImageBackboneEncoder", N_("Local image backbone {name}"), ("image",),
            N_("image backbone folder {path} (pooled features): image queries against an image (or video frame) "
               "corpus")),
    "clap": ("audio", "ClapEncoder", N_("Local CLAP {name}"), ("text", "audio"),
             N_("CLAP folder {path}: text and audio queries against a sound corpus")),
    "aud": ("audio", "AudioBackboneEncoder", N_("Local audio backbone {name}"), ("audio",),
            N_("audio backbone folder {path} (pooled features): audio queries against a sound corpus")),
}
_MODULES = {"image": "rag.models.images", "audio": "rag.models.audio"}


_LOCAL_COST = {"image": N_("local image model folder on this machine (hardware not priced)"),  # catalog keys
               "audio": N_("local audio model folder on this machine (hardware not priced)")}


def media_model(prefix: str, name: str) -> ModelSpec:
    """``clip:`` / ``img:`` (image folders, video frames) or ``clap:`` / ``aud:`` (audio folders) + FOLDER:
    parse only; the encoder class and the folder check come from the medium's module."""
    import importlib
    from pathlib import Path

    modality, cls_name, label, kinds, description = MEDIA_MODELS[prefix]
    path = name[len(prefix) + 1:].strip()
    folder = Path(path).expanduser()
    model_id = f"{prefix}:{folder.resolve()}"

    def make_raw(s: Settings):
        return getattr(importlib.import_module(_MODULES[modality]), cls_name)(str(folder.resolve()), embed_device(s))

    def check(s: Settings) -> str | None:
        return importlib.import_module(_MODULES[modality]).folder_problem(path, prefix)

    return ModelSpec(unique_slug(prefix, folder.name, model_id), _(label).format(name=folder.name), "dense",
                     model_id, _(description).format(path=path), make_raw, check,
                     cost_note=_LOCAL_COST[modality],
                     key=name, modality=modality, query_kinds=kinds)
