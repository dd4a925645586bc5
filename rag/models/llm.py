"""Which LLM to call, for answers (the generator) and for scoring (the judge): one small value type.

Every LLM this workbench talks to speaks the OpenAI chat API: OpenAI itself, or any compatible
server (Ollama, vLLM, LM Studio, a local test double). So an LLM is a provider preset plus a model
name plus an optional base URL, written as one spec string the page, the CLI and run records share:

    openai                      -> OpenAI, gpt-4o-mini (needs OPENAI_API_KEY)
    openai:gpt-4o               -> OpenAI, that model; with a base URL: any compatible server
    ollama:llama3.1             -> http://localhost:11434/v1
    vllm:MODEL / lmstudio:MODEL -> their default local ports
    compat:MODEL@http://host/v1 -> any OpenAI-compatible base URL

Base URL precedence: an explicit ``base_url`` (``--base-url``, the page field) > ``@URL`` in the spec
> the provider's default > ``OPENAI_BASE_URL`` (for ``openai`` only). The key is the one the settings
give for that URL (``Settings.key_for``: the OpenAI key only for OpenAI's API or ``OPENAI_BASE_URL``,
a per-endpoint key from ``WORKBENCH_ENDPOINT_KEYS``, else none: measured before, a ``compat:`` URL got
the OpenAI key on every call). It is read when a client is built, never stored in a run record. An
endpoint parsed with ``settings=`` (one browser session's keys) uses those settings for every client.

Usage:
    ep = parse_llm("openai:gpt-4o-mini")           # or None for "none"
    ok, why = ep.availability()
    client = ep.async_client(timeout=60, max_retries=2)
    parse_llm("compat:m@http://h:8000/v1", settings=get_settings().with_keys("sk-mine"))  # one session's keys
    ep.to_config()  # {"provider": "openai", "model": "gpt-4o-mini", "base_url": None}
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field

from rag.settings import Settings, get_settings

NO_LLM = ("", "none", "off", "no")
# What an SDK gets as api_key when an endpoint has no key: never None (the openai client would then read
# OPENAI_API_KEY from the environment); ``http_clients`` drops its Authorization header before sending.
NO_KEY = "no-key"


@dataclass(frozen=True)
class Provider:
    name: str
    label: str
    base_url: str | None       # None: the settings' OPENAI_BASE_URL, else api.openai.com
    needs_key: bool
    default_model: str
    help: str = ""


PROVIDERS: dict[str, Provider] = {p.name: p for p in [
    Provider("openai", "OpenAI", None, True, "gpt-4o-mini",
             "OpenAI's API; set OPENAI_API_KEY. With a base URL, any OpenAI-compatible server."),
    Provider("ollama", "Ollama (local)", "http://localhost:11434/v1", False, "llama3.1",
             "`ollama serve`, then `ollama pull MODEL`."),
    Provider("vllm", "vLLM (local)", "http://localhost:8000/v1", False, "",
             "`vllm serve MODEL`; the model name is the one it serves."),
    Provider("lmstudio", "LM Studio (local)", "http://localhost:1234/v1", False, "",
             "LM Studio's local server (Developer tab)."),
    Provider("compat", "OpenAI-compatible URL", None, False, "",
             "Any server speaking the OpenAI chat API: compat:MODEL@http://host:port/v1."),
]}


class LLMUnavailable(ValueError):
    """The LLM spec is malformed or cannot run here; the message says what to set."""


@dataclass(frozen=True)
class LLMEndpoint:
    provider: str
    model: str
    base_url: str | None = None
    settings: Settings | None = field(default=None, repr=False, compare=False)  # None: the app-wide settings

    @property
    def _s(self) -> Settings:
        return self.settings or get_settings()

    @property
    def label(self) -> str:
        where = f" @ {self.base_url}" if self.base_url else ""
        return f"{self.provider}:{self.model}{where}"

    @property
    def spec(self) -> str:
        return f"{self.provider}:{self.model}"

    def resolved_base_url(self, settings: Settings | None = None) -> str | None:
        s = settings or self._s
        return self.base_url or PROVIDERS[self.provider].base_url or \
            (s.openai_base_url if self.provider == "openai" else None)

    def api_key(self, settings: Settings | None = None) -> str:
        """The key for an SDK client: the one configured for this URL, else ``NO_KEY`` (never sent)."""
        s = settings or self._s
        return s.key_for(self.resolved_base_url(s)) or NO_KEY

    def availability(self, settings: Settings | None = None) -> tuple[bool, str]:
        s = settings or self._s
        if PROVIDERS[self.provider].needs_key and not self.resolved_base_url(s) and not s.key_for(None):
            return False, ("needs OPENAI_API_KEY (environment, .env or the sidebar), or a base URL of an "
                           "OpenAI-compatible server such as Ollama")
        if self.provider == "compat" and not self.resolved_base_url(s):
            return False, "compat:MODEL needs a base URL (compat:MODEL@http://host:port/v1 or --base-url)"
        return True, "ready"

    def async_client(self, timeout: float = 60.0, max_retries: int = 2, max_connections: int = 16,
                     settings: Settings | None = None):
        """A fresh ``openai.AsyncOpenAI`` with its own HTTP pool (bound to the caller's event loop), sized to
        the calls that can be in flight: httpcore scans every pooled connection on each request."""
        from openai import AsyncOpenAI

        s = settings or self._s
        pool = http_clients(timeout=timeout, limits=http_limits(max_connections), sync=False)
        return AsyncOpenAI(api_key=self.api_key(s), base_url=self.resolved_base_url(s), timeout=timeout,
                           max_retries=max_retries, http_client=pool)

    def to_config(self) -> dict:
        """What a run record keeps: never the key (nor the settings holding it)."""
        return {"provider": self.provider, "model": self.model, "base_url": self.base_url}


def _drop_placeholder_key(request) -> None:
    if request.headers.get("authorization") == f"Bearer {NO_KEY}":
        del request.headers["authorization"]


async def _adrop_placeholder_key(request) -> None:
    _drop_placeholder_key(request)


@functools.lru_cache(maxsize=4)
def _tls_context(cert_file: str | None, cert_dir: str | None):
    import httpx

    return httpx.create_ssl_context()  # reads SSL_CERT_FILE / SSL_CERT_DIR, else certifi's bundle


def tls_context():
    """One verifying TLS context per process (per ``SSL_CERT_FILE``/``SSL_CERT_DIR``), shared by every client:
    httpx builds one per client otherwise, loading the CA bundle each time (≈ 25 ms of CPU here; a RAG run at
    concurrency 64 builds 17 clients)."""
    return _tls_context(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


def http_clients(sync: bool, **kw):
    """An httpx client (``sync``: ``httpx.Client``, else ``httpx.AsyncClient``) for an OpenAI SDK client: an
    endpoint without a key sends no Authorization header at all. ``kw`` go to httpx."""
    import httpx

    kw.setdefault("verify", tls_context())

    if sync:
        return httpx.Client(event_hooks={"request": [_drop_placeholder_key]}, **kw)
    return httpx.AsyncClient(event_hooks={"request": [_adrop_placeholder_key]}, **kw)


def http_limits(max_connections: int):
    """Connection pool limits for ``max_connections`` calls in flight. Not more: httpcore checks every
    pooled connection on each request and response, which cost seconds per run with a pool of 64."""
    import httpx

    n = max(1, int(max_connections))
    return httpx.Limits(max_connections=n, max_keepalive_connections=n)


def parse_llm(spec: str | None, base_url: str | None = None, settings: Settings | None = None) -> LLMEndpoint | None:
    """``none`` -> None; ``openai``, ``openai:MODEL``, ``ollama:MODEL``, ``compat:MODEL@URL`` -> an endpoint."""
    text = (spec or "").strip()
    if text.lower() in NO_LLM:
        return None
    provider, _, model = text.partition(":")
    if provider not in PROVIDERS:
        raise LLMUnavailable(f"unknown LLM '{text}'; use none, {', '.join(p + ':MODEL' for p in PROVIDERS)}")
    url = None
    if "@" in model:
        model, url = model.split("@", 1)
    model = model or PROVIDERS[provider].default_model
    if not model:
        raise LLMUnavailable(f"'{text}': name the model, e.g. {provider}:MODEL")
    return LLMEndpoint(provider, model, (base_url or url or None), settings)
