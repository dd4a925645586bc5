"""Embedding providers by name, with their published prices, limits and input types: one table.

A provider model is typed ``PROVIDER:MODEL[:DIMS][@BASE_URL]``, e.g. ``cohere:embed-v4.0``,
``voyage:voyage-3.5:512``, ``jina:jina-embeddings-v3``, ``gemini:gemini-embedding-001:768``,
``dashscope:text-embedding-v4``, ``zhipu:embedding-3``, ``siliconflow:BAAI/bge-m3``. Adding a provider or
a model is one entry below (its wire format is ``rag.models.provider_api``), never an if-chain.

Every number carries where it comes from (``source``) and whether it was confirmed on the provider's
own page: a third-party listing or a number we could not find is marked ``verified=False`` and shown as
"unverified" next to the number (pages, CLI, cost basis). A price we could not find at all is NaN:
cost "unknown", never a silent $0. Prices in yuan are converted to USD at ``CNY_PER_USD`` (stated).

Keys are scoped to endpoints, as ``Settings.key_for``: a provider's key variable (``COHERE_API_KEY``,
...) is sent only to that provider's own base URL (its default, or ``COHERE_BASE_URL`` ... set by the
operator); a spec with ``@BASE_URL`` (a proxy) gets only the key configured for that URL
(``WORKBENCH_ENDPOINT_KEYS``, or one typed in the sidebar for it), never another provider's key.

Usage:
    fields = provider_fields("voyage:voyage-3.5")   # ModelSpec keyword arguments, or None: not a provider
    PROVIDERS["cohere"].models["embed-v4.0"].price.usd_per_mtok   # 0.12
    provider_rows(get_settings())                   # the table the sidebar / Index page show
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass, field

from rag.i18n import _
from rag.models.provider_api import ProviderEncoder
from rag.settings import Settings

# Yuan per US dollar, to put DashScope / Zhipu / SiliconFlow yuan prices beside USD ones. A fixed
# comparison rate (2025 average, about 7.1-7.3), not a quote: the yuan price is always shown too.
CNY_PER_USD = 7.2


@dataclass(frozen=True)
class Price:
    """A published price per 1M input tokens. ``amount`` None: not found (cost unknown, NaN)."""

    amount: float | None
    currency: str = "USD"
    source: str = ""
    verified: bool = True

    @property
    def usd_per_mtok(self) -> float:
        if self.amount is None:
            return math.nan
        return self.amount if self.currency == "USD" else round(self.amount / CNY_PER_USD, 6)

    @property
    def text(self) -> str:
        if self.amount is None:
            return _("price unverified (not published where we looked)")
        sym = "$" if self.currency == "USD" else "¥"
        s = _("{price}/1M tokens").format(price=f"{sym}{self.amount:g}")
        if self.currency != "USD":
            s = _("{price} (≈{usd} at {rate} CNY/USD)").format(price=s, usd=f"${self.usd_per_mtok:.4f}",
                                                                rate=CNY_PER_USD)
        return s if self.verified else _("{value} (unverified)").format(value=s)


@dataclass(frozen=True)
class ProviderModel:
    """One model of a provider: default dims (and the ones it accepts), its input token limit."""

    dims: int
    max_tokens: int | None
    price: Price
    dims_options: tuple[int, ...] = ()
    limit_source: str = ""
    limit_verified: bool = True
    query_prefix: str = ""     # for models whose authors give a query instruction and whose API applies none
    document_prefix: str = ""


@dataclass(frozen=True)
class InputTypes:
    """How a provider is told query vs document: the request field and its two values (field None:
    the API has none, queries and documents are encoded alike unless the model gives prefixes)."""

    field: str | None
    query: str = ""
    document: str = ""

    def describe(self) -> str:
        return f"{self.field}={self.query} / {self.document}" if self.field else _("none (same encoding)")


@dataclass(frozen=True)
class Provider:
    name: str                  # the spec prefix
    label: str
    base_url: str
    wire: str                  # "openai" | "cohere" | "voyage" | "jina" | "gemini" (rag.models.provider_api)
    key_env: str               # the variable its key is read from (environment, .env)
    input_types: InputTypes
    batch: int                 # texts per request (the API's documented maximum, or less)
    provider_truncates: bool   # the request asks the API to cut over-long inputs (else we cut them)
    models: dict[str, ProviderModel] = field(default_factory=dict)

    @property
    def base_env(self) -> str:
        """The operator's override of the base URL (its key goes there, as OPENAI_BASE_URL's does)."""
        return self.name.upper() + "_BASE_URL"

    def own_base_url(self, s: Settings) -> str:
        return (s.env_value(self.base_env) or self.base_url).rstrip("/")


_ALIYUN = "help.aliyun.com/zh/model-studio/text-embedding-synchronous-api"
_ALIYUN_INTL = "alibabacloud.com/help/en/model-studio/text-embedding-synchronous-api (China (Beijing) table)"
_SF_DOC = "docs.siliconflow.cn/en/api-reference/embeddings/create-embeddings"
_BGE_ZH_QUERY = "为这个句子生成表示以用于检索相关文章："
_QWEN3_QUERY = "Instruct: Given a web search query, retrieve relevant passages that answer the query\nQuery:"

PROVIDERS: dict[str, Provider] = {p.name: p for p in [
    # Embed API v2: POST /v2/embed, input_type search_query / search_document, truncate END, 96 texts per call.
    Provider("cohere", "Cohere", "https://api.cohere.com", "cohere", "COHERE_API_KEY",
             InputTypes("input_type", "search_query", "search_document"), 96, True, {
                 # 1536-d default (256/512/1024/1536) and 128k tokens per run: Oracle OCI's Cohere Embed 4
                 # page (docs.oracle.com/iaas/Content/generative-ai/cohere-embed-4.htm); price $0.12 from a
                 # third-party guide (toolstac.com), not Cohere's own pricing page: unverified.
                 "embed-v4.0": ProviderModel(1536, 128_000, Price(0.12, source="toolstac.com (third party)",
                                                                  verified=False),
                                             (256, 512, 1024, 1536), "docs.oracle.com OCI Cohere Embed 4"),
                 # 1024-d, 512 tokens: Cohere's v3 model card (pymilvus.model's dims table agrees on 1024);
                 # price not confirmed: unverified.
                 "embed-multilingual-v3.0": ProviderModel(1024, 512, Price(0.10, source="not confirmed",
                                                                           verified=False),
                                                          limit_source="Cohere v3 model card",
                                                          limit_verified=False),
             }),
    # POST /v1/embeddings, input_type query / document, truncation true.
    Provider("voyage", "Voyage AI", "https://api.voyageai.com/v1", "voyage", "VOYAGE_API_KEY",
             InputTypes("input_type", "query", "document"), 128, True, {
                 # $0.06 / $0.02 per 1M: vercel.com/ai-gateway/models/voyage/voyage-3.5(-lite) (a reseller
                 # listing Voyage's price); dims 2048/1024/512/256, 1024 default (same listing); 32k tokens:
                 # getmaxim.ai's Voyage table. Third-party pages: unverified.
                 "voyage-3.5": ProviderModel(1024, 32_000, Price(0.06, source="vercel.com AI gateway listing",
                                                                 verified=False),
                                             (256, 512, 1024, 2048), "getmaxim.ai model library",
                                             limit_verified=False),
                 "voyage-3.5-lite": ProviderModel(1024, 32_000, Price(0.02, source="vercel.com AI gateway listing",
                                                                      verified=False),
                                                  (256, 512, 1024, 2048), "getmaxim.ai model library",
                                                  limit_verified=False),
             }),
    # POST /v1/embeddings, task retrieval.query / retrieval.passage, truncate true.
    Provider("jina", "Jina AI", "https://api.jina.ai/v1", "jina", "JINA_API_KEY",
             InputTypes("task", "retrieval.query", "retrieval.passage"), 128, True, {
                 # 1024-d (Matryoshka 32..1024), 8192 tokens: Jina's model listing as quoted by
                 # zilliz.com/ai-models/jina-embeddings-v3 and LlamaIndex's Jina page. Jina sells prepaid
                 # token packs; $0.02/1M only from a reseller (railwail.com): unverified.
                 "jina-embeddings-v3": ProviderModel(1024, 8192, Price(0.02, source="railwail.com (reseller)",
                                                                       verified=False),
                                                     (32, 64, 128, 256, 512, 768, 1024),
                                                     "zilliz.com model page; LlamaIndex Jina docs"),
             }),
    # POST /v1beta/models/MODEL:batchEmbedContents, key in x-goog-api-key, taskType RETRIEVAL_QUERY /
    # RETRIEVAL_DOCUMENT; 100 requests per batch. The response has no token count: tokens are estimated.
    Provider("gemini", "Google Gemini", "https://generativelanguage.googleapis.com/v1beta", "gemini",
             "GEMINI_API_KEY", InputTypes("taskType", "RETRIEVAL_QUERY", "RETRIEVAL_DOCUMENT"), 100, False, {
                 # $0.15/1M, 2048 input tokens, 3072-d default (768/1536 recommended): Google's developers
                 # blog "Gemini Embedding available in the Gemini API", quoted in simonw/llm-gemini#102.
                 "gemini-embedding-001": ProviderModel(3072, 2048, Price(0.15, source="developers.googleblog.com"),
                                                       (768, 1536, 3072), "developers.googleblog.com"),
             }),
    # OpenAI-compatible mode: POST /compatible-mode/v1/embeddings; 10 texts per request; no input-type field.
    Provider("dashscope", "Alibaba DashScope (Model Studio)", "https://dashscope.aliyuncs.com/compatible-mode/v1",
             "openai", "DASHSCOPE_API_KEY", InputTypes(None), 10, False, {
                 # ¥0.0005 / 1k tokens = ¥0.5 / 1M (help.aliyun.com); $0.072 / 1M in Alibaba Cloud's
                 # international page for the Beijing region; 8,192 tokens per text, 10 texts per call;
                 # dims 2048/1536/1024(default)/768/512/256/128/64.
                 "text-embedding-v4": ProviderModel(1024, 8192, Price(0.072, source=_ALIYUN_INTL),
                                                    (64, 128, 256, 512, 768, 1024, 1536, 2048), _ALIYUN),
                 # $0.07 / 1M (Singapore table of the same page), 8,192 tokens, 1024/768/512 dims.
                 "text-embedding-v3": ProviderModel(1024, 8192, Price(0.07, source=_ALIYUN_INTL + " (Singapore)"),
                                                    (512, 768, 1024), _ALIYUN),
             }),
    # OpenAI-compatible: POST /api/paas/v4/embeddings (docs.bigmodel.cn API reference).
    Provider("zhipu", "Zhipu AI (BigModel)", "https://open.bigmodel.cn/api/paas/v4", "openai", "ZHIPUAI_API_KEY",
             InputTypes(None), 64, False, {
                 # embedding-3's price, limit and dims (2048 default; 256/512/1024) were not found on
                 # Zhipu's pages we could read: all unverified.
                 "embedding-3": ProviderModel(2048, 8192, Price(0.5, "CNY", "not confirmed", verified=False),
                                              (256, 512, 1024, 2048), "not confirmed", limit_verified=False),
                 # ¥0.5 / 1M tokens, 8K tokens, 1024-d: Zhipu's embedding-2 model page (docs.bigmodel.cn guide).
                 "embedding-2": ProviderModel(1024, 8192, Price(0.5, "CNY", "Zhipu embedding-2 model page"),
                                              (), "Zhipu embedding-2 model page"),
             }),
    # OpenAI-compatible: POST https://api.siliconflow.cn/v1/embeddings. Limits and dims from SiliconFlow's
    # API reference; prices were not on any page we could read: NaN (cost unknown), unverified.
    Provider("siliconflow", "SiliconFlow", "https://api.siliconflow.cn/v1", "openai", "SILICONFLOW_API_KEY",
             InputTypes(None), 32, False, {
                 "BAAI/bge-m3": ProviderModel(1024, 8192, Price(None, "CNY", "not found", verified=False),
                                              (), _SF_DOC),
                 # BGE zh v1.5's model card: this instruction before short queries, none before passages.
                 "BAAI/bge-large-zh-v1.5": ProviderModel(1024, 512, Price(None, "CNY", "not found", verified=False),
                                                         (), _SF_DOC, query_prefix=_BGE_ZH_QUERY),
                 # Qwen3-Embedding's model card: "Instruct: {task}\nQuery:{query}" for queries, documents bare.
                 "Qwen/Qwen3-Embedding-8B": ProviderModel(4096, 32_768,
                                                          Price(None, "CNY", "not found", verified=False),
                                                          (64, 128, 256, 512, 768, 1024, 2048, 4096), _SF_DOC,
                                                          query_prefix=_QWEN3_QUERY),
                 "Qwen/Qwen3-Embedding-0.6B": ProviderModel(1024, 32_768, Price(None, "CNY", "not found",
                                                                                verified=False),
                                                            (64, 128, 256, 512, 768, 1024), _SF_DOC,
                                                            query_prefix=_QWEN3_QUERY),
             }),
]}

_SPEC = re.compile(r"(?P<p>[a-z]+):(?P<model>[^@]+?)(?::(?P<dims>\d+))?(?:@(?P<url>https?://\S+))?")


def parse(name: str) -> tuple[Provider, str, int | None, str | None] | None:
    """(provider, model, dims, base URL from the spec) for ``PROVIDER:MODEL[:DIMS][@URL]``, or None."""
    m = _SPEC.fullmatch(name.strip())
    if not m or m["p"] not in PROVIDERS or not m["model"].strip():
        return None
    return PROVIDERS[m["p"]], m["model"].strip(), int(m["dims"]) if m["dims"] else None, m["url"]


def provider_key(s: Settings, p: Provider, base_url: str) -> str | None:
    """The key a request to ``base_url`` for provider ``p`` may carry: one configured for that URL
    (``WORKBENCH_ENDPOINT_KEYS`` or this session's sidebar), else ``p.key_env`` but only when the URL is
    the provider's own; any other URL (a proxy in the spec) gets no provider key."""
    key = s.key_for(base_url)
    if key:
        return key
    if base_url.rstrip("/").lower() == p.own_base_url(s).lower():
        return s.env_value(p.key_env)
    return None


def provider_fields(name: str) -> dict | None:
    """Keyword arguments for a ``ModelSpec`` of a provider model, or None when ``name`` is not one.
    Parses only: whether it can run (a key for its endpoint, known dims) is the returned ``check``."""
    parsed = parse(name)
    if parsed is None:
        return None
    p, model, dims, url = parsed
    meta = p.models.get(model)
    price = meta.price if meta else Price(None, source=_("{model} is not in the {provider} price table").format(
        model=model, provider=p.label), verified=False)
    model_id = f"{p.name}:{model}" + (f":{dims}" if dims else "") + (f"@{url.rstrip('/')}" if url else "")
    slug = re.sub(r"[^a-z0-9]+", "-", f"{p.name}-{model}".lower()).strip("-")[:40]
    limit = meta.max_tokens if meta else None

    def base(s: Settings) -> str:
        return (url or p.own_base_url(s)).rstrip("/")

    def check(s: Settings) -> str | None:
        if meta and dims and meta.dims_options and dims not in meta.dims_options:
            return _("{model} gives {options} dims, not {dims}").format(
                model=model, options=", ".join(map(str, meta.dims_options)), dims=dims)
        if provider_key(s, p, base(s)):
            return None
        if url:
            return _("no key for {url}: {key_env} is sent only to {own_url}; set WORKBENCH_ENDPOINT_KEYS for this "
                     "URL (or type a key for it in the sidebar)").format(url=base(s), key_env=p.key_env,
                                                                        own_url=p.own_base_url(s))
        return _("needs {key_env} (environment, .env, or the sidebar) for {provider}").format(
            key_env=p.key_env, provider=p.label)

    def make_raw(s: Settings) -> ProviderEncoder:
        return ProviderEncoder(p, model, meta, base(s), lambda: provider_key(s, p, base(s)), dims)

    if not limit:
        limit_txt = _("limit unknown")
    elif not meta or meta.limit_verified:
        limit_txt = _("{n} tokens").format(n=f"{limit:,}")
    else:
        limit_txt = _("{value} (unverified)").format(value=_("{n} tokens").format(n=f"{limit:,}"))
    return dict(
        name=f"{slug}-{hashlib.sha1(model_id.encode()).hexdigest()[:6]}",
        label=f"{p.label} {model}" + (f" ({dims}-d)" if dims else ""),
        kind="dense", model_id=model_id,
        description=_("{provider} {model}: {dims}-d, max {limit}, {price}; input type {input_type}").format(
            provider=p.label, model=model, dims=dims or (meta.dims if meta else "?"), limit=limit_txt,
            price=price.text, input_type=p.input_types.describe()),
        make_raw=make_raw, check=check, price_per_mtok=price.usd_per_mtok,
        cost_note=f"{price.text}: {price.source}", price_note=_price_note(price), key=name.strip())


def _price_note(price: Price) -> str:
    note = _("published list price") if price.verified else _("unverified: {source}").format(source=price.source)
    if price.currency == "USD" or price.amount is None:
        return note
    return _("{price}/1M converted at {rate}; {note}").format(price=f"¥{price.amount:g}", rate=CNY_PER_USD, note=note)


def provider_rows(s: Settings) -> list[dict]:
    """One row per preset model for the sidebar / Index page: spec, price, limit, dims, input types,
    the key variable and whether a key is set for the provider's endpoint (never the key itself)."""
    rows = []
    for p in PROVIDERS.values():
        has_key = provider_key(s, p, p.own_base_url(s)) is not None
        for model, m in p.models.items():
            limit = f"{m.max_tokens:,}" if m.max_tokens else _("unknown")
            rows.append({"provider": p.label, "spec": f"{p.name}:{model}", "price": m.price.text,
                         "max tokens": limit if not m.max_tokens or m.limit_verified
                         else _("{value} (unverified)").format(value=limit),
                         "dims": m.dims, "input type": p.input_types.describe() if not m.query_prefix
                         else _("{input_type} + model's query instruction").format(
                             input_type=p.input_types.describe()),
                         "key": p.key_env, "key set": has_key})
    return rows
