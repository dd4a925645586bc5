"""What a model is to the workbench: one ``ModelSpec`` (its kind, ids, encoder factory, availability, price,
languages, options), and whether it fits a dataset. Below the registry and the builders of users' models.

Usage:
    spec = resolve("minilm")               # rag.models.registry
    ok, why = spec.availability()
    enc = spec.encoder()                   # CachedEncoder
    fit_problem(spec, dataset)             # None, or why this model cannot evaluate that dataset
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from rag.i18n import N_, _
from rag.models import catalog
from rag.models.base import ModelUnavailable
from rag.models.cache import CachedEncoder, EmbeddingCache
from rag.models.prompts import Prompts, own_prompts, resolve_prompts
from rag.settings import Settings, get_settings


@dataclass(frozen=True)
class ModelSpec:
    name: str                      # registry key and collection-name part: [a-z0-9_-]
    label: str
    kind: str                      # "dense" | "sparse" | "hybrid"
    model_id: str                  # what run records and the cache name
    description: str = ""
    make_raw: Callable[[Settings], object] | None = field(default=None, repr=False)  # dense part
    check: Callable[[Settings], str | None] = field(default=lambda s: None, repr=False)
    price_per_mtok: float = 0.0    # USD per 1M tokens embedded (0 for local models)
    cost_note: str = N_("local model on this machine (hardware not priced)")  # why an unpriced model costs $0
    key: str = ""                  # the spec string it was resolved from (results are keyed by it)
    modality: str = "text"         # what its corpus is: "text", "image" (clip:, img:) or "audio" (clap:, aud:)
    query_kinds: tuple[str, ...] = ("text",)  # query kinds it embeds: clip: ("text", "image"), img: ("image",)
    price_note: str = "API list price"  # where price_per_mtok comes from (providers: source, "unverified")
    languages: tuple[str, ...] = ()  # ISO 639-1 codes it reads; ("*",) multilingual; ("analyzer",) BM25's
    #                                  analyzer decides; () unknown (rag.models.language_fit says what fits)
    options: tuple[tuple[str, object], ...] = ()  # from the spec's "#key=value&…" (rag.models.spec_options)
    folder: Callable[[Settings], str | None] | None = field(default=None, repr=False)  # local files, if any
    use_catalog: bool = False      # prompts from the catalog when the folder declares none (hub ids)

    @property
    def ref(self) -> str:
        """The key results and run records use: the user's spec string (a registry name is itself)."""
        return self.key or self.name

    @property
    def catalog_name(self) -> str:
        """The name ``rag.models.catalog`` knows it by: the hub / provider id, without options."""
        return self.model_id.split("@", 1)[0] if self.model_id.startswith("openai/") else self.model_id

    @property
    def option(self) -> dict:
        return dict(self.options)

    @property
    def cache_key(self) -> str:
        """The model id plus what changes every vector (dims, max tokens); prompts add theirs per role."""
        o = self.option
        return self.model_id + "".join(f"#{k}={o[k]}" for k in ("dim", "max_tokens") if k in o)

    def local_folder(self, settings: Settings | None = None) -> str | None:
        """Where the model's files are on this machine (None: an API, or a hub model not fetched yet)."""
        return self.folder(settings or get_settings()) if self.folder else None

    def prompts(self, settings: Settings | None = None) -> Prompts:
        """The query / document prompts it is encoded with: the spec's options, else the folder's own
        config, else (hub ids) the catalog, else none (``rag.models.prompts``)."""
        if not self.has_dense:
            return Prompts()
        own = own_prompts(self.local_folder(settings))
        info = catalog.lookup(self) if self.use_catalog else None
        return resolve_prompts(own, info, {k: v for k, v in self.options if k in ("query", "document")})

    def encoding(self, settings: Settings | None = None) -> dict:
        """What shapes the stored vectors besides the model id: the document prompt, dims, max tokens
        (part of the collection's identity; empty for a model used as it comes)."""
        out = {k: v for k, v in self.options if k in ("dim", "max_tokens")}
        if self.has_dense and (doc := self.prompts(settings).document):
            out["document_prompt"] = doc
        return out

    @property
    def cost_basis(self) -> str:
        """Where the per-token price comes from, said explicitly (never a silent $0)."""
        if self.price_per_mtok != self.price_per_mtok:  # NaN: a provider price we could not confirm
            return f"unknown: {self.cost_note}"
        if self.price_per_mtok:
            return f"${self.price_per_mtok}/1M tokens ({self.price_note})"
        return self.cost_note

    @property
    def has_dense(self) -> bool:
        return self.kind in ("dense", "hybrid")

    @property
    def has_sparse(self) -> bool:
        return self.kind in ("sparse", "hybrid")

    def availability(self, settings: Settings | None = None) -> tuple[bool, str]:
        reason = self.check(settings or get_settings())
        return (reason is None, reason or "ready")

    def _encoder_key(self, s: Settings) -> tuple:
        return (self.ref, str(s.data_dir), _keys_id(s), s.device, s.embed_batch)  # a session's own key: its own encoder

    def made_encoder(self, settings: Settings | None = None) -> CachedEncoder | None:
        """The encoder if this session has made it already, else None: never loads or downloads a model."""
        return _encoders.get(self._encoder_key(settings or get_settings()))

    def encoder(self, settings: Settings | None = None) -> CachedEncoder | None:
        """The cached dense encoder, or None for a sparse-only model. Raises ModelUnavailable."""
        s = settings or get_settings()
        if not self.has_dense:
            return None
        ok, why = self.availability(s)
        if not ok:
            raise ModelUnavailable(f"{self.ref}: {why}")
        key = self._encoder_key(s)
        with _enc_lock:
            if key not in _encoders:
                cache = EmbeddingCache(s.path("cache", "embeddings.sqlite"))
                raw = self.make_raw(s)
                if dims := {k: v for k, v in self.options if k in ("dim", "max_tokens")}:
                    configure = getattr(raw, "configure", None)
                    if configure is None:
                        raise ModelUnavailable(_("{model}: {options} cannot be set for this model").format(
                            model=self.ref, options=", ".join(dims)))
                    configure(**dims)
                _encoders[key] = CachedEncoder(self, raw, cache, s.embed_batch, prompts=self.prompts(s))
            return _encoders[key]


def fit_problem(spec: ModelSpec, dataset) -> str | None:
    """Why ``spec`` cannot evaluate ``dataset`` (a text model on images, an image model on text, an
    image backbone given text queries), or None. Jobs check this before any work. A video dataset is
    searched by its frames (``rag.data.frames``): it fits what fits images."""
    if dataset.modality == "video" and spec.modality != "image":
        video = (_("{model} embeds text and {dataset} is a video dataset: use a clip:FOLDER (text and image queries) "
                   "or img:FOLDER (image queries) model on its frames, or transcribe its speech with asr:FOLDER")
                 if spec.modality == "text" else
                 _("{model} embeds sounds and {dataset} is a video dataset: use a clip:FOLDER (text and image "
                   "queries) or img:FOLDER (image queries) model on its frames, or transcribe its speech with "
                   "asr:FOLDER"))
        return video.format(model=spec.ref, dataset=dataset.name)
    if "fps" in spec.option and dataset.modality != "video":
        return _("{model}: fps applies to video datasets (frames a second) and {dataset} is not one").format(
            model=spec.ref, dataset=dataset.name)
    if spec.modality != dataset.modality and "audio" in (spec.modality, dataset.modality):
        return _audio_fit_problem(spec, dataset)
    if spec.modality != dataset.modality and dataset.modality != "video":
        if spec.modality == "text":
            return _("{model} embeds text and {dataset} is an image dataset: use a clip:FOLDER (text and image "
                     "queries) or img:FOLDER (image queries) model").format(model=spec.ref, dataset=dataset.name)
        return _("{model} embeds images and {dataset} is a text dataset: use a text model").format(
            model=spec.ref, dataset=dataset.name)
    kinds = dataset.query_kinds()
    for kind, n in kinds.items():
        if kind not in spec.query_kinds:
            if kind == "text" and spec.modality == "audio":
                return _("{model} is an audio backbone (audio→audio only): it cannot embed the {n} text queries of "
                         "{dataset}; keep only the audio queries (--queries audio, or 'audio' under Queries on the "
                         "Retrieval page)").format(model=spec.ref, n=n, dataset=dataset.name)
            if kind == "text":
                return _("{model} is an image backbone (image→image only): it cannot embed the {n} text queries of "
                         "{dataset}; keep only the image queries (--queries image, or 'image' under Queries on the "
                         "Retrieval page)").format(model=spec.ref, n=n, dataset=dataset.name)
            return _("{model} cannot embed the {n} {kind} queries of {dataset}").format(
                model=spec.ref, n=n, kind=_(QUERY_KIND_NAMES.get(kind, kind)), dataset=dataset.name)
    return None


QUERY_KIND_NAMES = {"text": N_("text"), "image": N_("image"), "audio": N_("audio"), "video": N_("video")}
# a dataset's modality -> what a model of another modality is told it embeds / to use instead
_EMBEDS = {"text": N_("{model} embeds text and {dataset} is an audio dataset: use a clap:FOLDER (text and audio "
                      "queries) or aud:FOLDER (audio queries) model"),
           "image": N_("{model} embeds images and {dataset} is an audio dataset: use a clap:FOLDER (text and audio "
                       "queries) or aud:FOLDER (audio queries) model")}
_SOUNDS_ON = {"text": N_("{model} embeds sounds and {dataset} is a text dataset: use a text model"),
              "image": N_("{model} embeds sounds and {dataset} is an image dataset: use a clip:/img: model")}


def _audio_fit_problem(spec: ModelSpec, dataset) -> str:
    """An audio model on a text or image dataset, or another model on an audio dataset."""
    if dataset.modality == "audio":
        return _(_EMBEDS.get(spec.modality, _EMBEDS["image"])).format(model=spec.ref, dataset=dataset.name)
    return _(_SOUNDS_ON.get(dataset.modality, _SOUNDS_ON["image"])).format(model=spec.ref, dataset=dataset.name)


_encoders: dict[tuple, CachedEncoder] = {}


_enc_lock = threading.Lock()


def _keys_id(s: Settings) -> str:
    """Which keys built an encoder (a digest: the cache key is never the key itself)."""
    import hashlib

    keys = [s.openai_key or "", s.openai_base_url or "", *sorted(f"{u}={k.get_secret_value()}"
                                                                for u, k in s.endpoint_keys.items())]
    return hashlib.sha256("\n".join(keys).encode()).hexdigest()[:16]
