"""The wire formats of the embedding providers (``rag.models.providers``): one small function each.

Written on httpx rather than each vendor's SDK (or ``pymilvus.model``, see the README's "Providers"):
one code path, a base URL a test server can stand in for, the key in exactly one header of exactly one
endpoint, and the token counts each API returns (for cost). Each request says which side it embeds:
``encode_query`` / ``encode_document`` (the sentence-transformers names), ``encode`` = documents.

Over-long inputs never reach an API as a raw 400: a text whose estimated tokens exceed the model's
published limit is counted (``truncated``) and either cut (by the API where the request can ask for it,
else here, to the estimate) or, with ``on_over="refuse"``, refused naming the text. An HTTP error comes
back as one line (provider, status, its message, the first text of the batch), never with the key.

Usage:
    enc = ProviderEncoder(PROVIDERS["voyage"], "voyage-3.5", meta, "https://api.voyageai.com/v1", key_fn)
    docs = enc.encode_document(texts)        # input_type=document
    qs = enc.encode_query(["a question"])    # input_type=query
    enc.tokens_used, enc.truncated           # billed tokens (estimated when the API gives none), cut inputs
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from rag.i18n import _
from rag.models.base import ModelUnavailable

if TYPE_CHECKING:
    from rag.models.providers import Provider, ProviderModel

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")


def estimate_tokens(text: str) -> int:
    """A deliberately high token estimate when no tokenizer of the provider is available offline: one
    token per CJK character (DashScope documents ~1.5 characters per token) and one per 3 other
    characters (English averages ~4 with BPE tokenizers), so a text estimated under a limit fits."""
    cjk = len(_CJK.findall(text))
    return cjk + math.ceil((len(text) - cjk) / 3)


def cut_to_tokens(text: str, limit: int) -> str:
    """The longest prefix of ``text`` whose ``estimate_tokens`` is at most ``limit``."""
    lo, hi = 0, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if estimate_tokens(text[:mid]) <= limit:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo]


class InputTooLong(ModelUnavailable):
    """An input over the provider's token limit, refused (``on_over="refuse"``) or refused by the API."""


class ProviderEncoder:
    """One provider model behind its HTTP API; the key comes from ``key_fn`` at each request (never kept).

    Usage: see the module docstring."""

    def __init__(self, provider: Provider, model: str, meta: ProviderModel | None, base_url: str,
                 key_fn: Callable[[], str | None], dims: int | None = None, on_over: str = "truncate",
                 timeout: float = 60.0, retries: int = 3):
        self.provider, self.model_name, self.meta = provider, model, meta
        self.base_url, self._key_fn, self.dimensions = base_url.rstrip("/"), key_fn, dims
        self.on_over, self.timeout, self.retries = on_over, timeout, retries
        self.max_tokens = meta.max_tokens if meta else None
        self.tokens_used = 0
        self.tokens_estimated = provider.wire == "gemini"  # its response has no token count
        self.truncated = 0
        self._dim: int | None = dims

    @property
    def dim(self) -> int:
        if self._dim is None:
            self._dim = self.meta.dims if self.meta else int(self.encode(["dimension probe"]).shape[1])
        return self._dim

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        return self.encode_document(texts, batch_size)

    def encode_document(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        return self._encode(texts, "document", batch_size)

    def encode_query(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        return self._encode(texts, "query", batch_size)

    def _encode(self, texts: list[str], side: str, batch_size: int) -> np.ndarray:
        texts = self._fit(list(texts), side)
        prefix = (self.meta.query_prefix if side == "query" else self.meta.document_prefix) if self.meta else ""
        step = max(1, min(batch_size, self.provider.batch))
        out: list[list[float]] = []
        for i in range(0, len(texts), step):
            batch = [prefix + t for t in texts[i:i + step]]
            vecs, tokens = self._call(batch, side)
            out.extend(vecs)
            self.tokens_used += tokens if tokens is not None else sum(estimate_tokens(t) for t in batch)
        arr = np.asarray(out, dtype=np.float32).reshape(len(texts), -1) if texts else np.zeros((0, self.dim),
                                                                                               np.float32)
        norms = np.linalg.norm(arr, axis=1, keepdims=True)
        return arr / np.where(norms == 0, 1, norms)

    def _fit(self, texts: list[str], side: str) -> list[str]:
        """Count (and cut, or refuse) the texts over the published limit, before any request."""
        limit = self.max_tokens
        if not limit:
            return texts
        for i, t in enumerate(texts):
            n = estimate_tokens(t)
            if n <= limit:
                continue
            if self.on_over == "refuse":
                what = _("{model}: the query {text}… is ~{n} tokens (estimated), over the model's limit of {limit}: "
                         "chunk it smaller or let the workbench truncate it") if side == "query" else \
                    _("{model}: the document {text}… is ~{n} tokens (estimated), over the model's limit of {limit}: "
                      "chunk it smaller or let the workbench truncate it")
                raise InputTooLong(what.format(model=f"{self.provider.name}:{self.model_name}", text=repr(t[:60]),
                                               n=f"{n:,}", limit=f"{limit:,}"))
            self.truncated += 1
            if not self.provider.provider_truncates:
                texts[i] = cut_to_tokens(t, limit)
        return texts

    def _call(self, batch: list[str], side: str) -> tuple[list[list[float]], int | None]:
        import httpx

        url, headers, body = WIRES[self.provider.wire](self, batch, side)
        key = self._key_fn()
        if key:
            if self.provider.wire == "gemini":
                headers["x-goog-api-key"] = key
            else:
                headers["Authorization"] = f"Bearer {key}"
        for attempt in range(self.retries + 1):
            try:
                r = httpx.post(url, json=body, headers=headers, timeout=self.timeout)
            except httpx.HTTPError as e:
                if attempt == self.retries:
                    raise ModelUnavailable(_("{provider} unreachable at {url} ({error})").format(
                        provider=self.provider.label, url=self.base_url, error=type(e).__name__)) from None
            else:
                if r.status_code < 400:
                    return PARSERS[self.provider.wire](r.json())
                if r.status_code not in (429, 500, 502, 503, 504) or attempt == self.retries:
                    raise _http_error(self, r, batch)
            time.sleep(0.5 * 2 ** attempt)
        raise AssertionError("unreachable")


def _http_error(enc: ProviderEncoder, r, batch: list[str]) -> ModelUnavailable:
    try:
        data = r.json()
        msg = data.get("message") or data.get("detail") or (data.get("error") or {}).get("message") or r.text
    except ValueError:
        msg = r.text
    msg = " ".join(str(msg).split())[:200]
    where = _("{provider} ({model}) answered HTTP {status}: {message}").format(
        provider=enc.provider.label, model=f"{enc.provider.name}:{enc.model_name}", status=r.status_code, message=msg)
    if r.status_code == 400 and re.search(r"token|length|long|exceed|limit", msg, re.I):
        return InputTooLong(_("{answer} — a text of this batch is over its limit (first: {text}…); chunk the "
                              "documents smaller").format(answer=where, text=repr(batch[0][:60])))
    if r.status_code in (401, 403):
        return ModelUnavailable(_("{answer} — check {key_env}").format(answer=where, key_env=enc.provider.key_env))
    return ModelUnavailable(where)


# ------------------------------------------------------------------ requests: (url, headers, body)

def _openai(enc: ProviderEncoder, batch: list[str], side: str):
    body = {"model": enc.model_name, "input": batch, "encoding_format": "float"}
    if enc.dimensions:
        body["dimensions"] = enc.dimensions
    return f"{enc.base_url}/embeddings", {}, body


def _cohere(enc: ProviderEncoder, batch: list[str], side: str):
    it = enc.provider.input_types
    body = {"model": enc.model_name, "texts": batch, "input_type": it.query if side == "query" else it.document,
            "embedding_types": ["float"], "truncate": "END"}
    if enc.dimensions:
        body["output_dimension"] = enc.dimensions
    return f"{enc.base_url}/v2/embed", {}, body


def _voyage(enc: ProviderEncoder, batch: list[str], side: str):
    it = enc.provider.input_types
    body = {"model": enc.model_name, "input": batch, "input_type": it.query if side == "query" else it.document,
            "truncation": True}
    if enc.dimensions:
        body["output_dimension"] = enc.dimensions
    return f"{enc.base_url}/embeddings", {}, body


def _jina(enc: ProviderEncoder, batch: list[str], side: str):
    it = enc.provider.input_types
    body = {"model": enc.model_name, "input": batch, "task": it.query if side == "query" else it.document,
            "truncate": True, "embedding_type": "float"}
    if enc.dimensions:
        body["dimensions"] = enc.dimensions
    return f"{enc.base_url}/embeddings", {}, body


def _gemini(enc: ProviderEncoder, batch: list[str], side: str):
    it = enc.provider.input_types
    model = enc.model_name if enc.model_name.startswith("models/") else f"models/{enc.model_name}"
    reqs = []
    for t in batch:
        req = {"model": model, "content": {"parts": [{"text": t}]},
               "taskType": it.query if side == "query" else it.document}
        if enc.dimensions:
            req["outputDimensionality"] = enc.dimensions
        reqs.append(req)
    return f"{enc.base_url}/{model}:batchEmbedContents", {}, {"requests": reqs}


def _data_usage(d: dict) -> tuple[list[list[float]], int | None]:
    rows = sorted(d["data"], key=lambda e: e.get("index", 0))
    usage = d.get("usage") or {}
    return [e["embedding"] for e in rows], usage.get("total_tokens", usage.get("prompt_tokens"))


def _cohere_parse(d: dict) -> tuple[list[list[float]], int | None]:
    emb = d["embeddings"]
    units = (d.get("meta") or {}).get("billed_units") or {}
    return (emb["float"] if isinstance(emb, dict) else emb), units.get("input_tokens")


WIRES = {"openai": _openai, "cohere": _cohere, "voyage": _voyage, "jina": _jina, "gemini": _gemini}
PARSERS = {"openai": _data_usage, "voyage": _data_usage, "jina": _data_usage, "cohere": _cohere_parse,
           "gemini": lambda d: ([e["values"] for e in d["embeddings"]], None)}
