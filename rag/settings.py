"""One typed settings object, read from the environment and ``.env``.

Secrets are ``SecretStr``: they print as ``**********`` and are never written to the run store,
logs, exports or reports. Everything the app writes lives under ``data_dir``.

Keys go only where they belong (``key_for``): the OpenAI key to OpenAI's API or to the base URL
configured for it (``OPENAI_BASE_URL``); any other endpoint (Ollama, vLLM, ``compat:``, ``oai:``)
gets the key configured for that URL in ``WORKBENCH_ENDPOINT_KEYS`` (JSON ``{"http://host:8000/v1":
"KEY"}``) or none. A key typed in one browser session is that session's: ``with_keys`` makes a copy
of the settings for it, passed explicitly; the environment stays the app-wide default.

Usage:
    from rag.settings import get_settings
    s = get_settings()
    s.data_dir, s.milvus_uri, s.openai_api_key  # SecretStr | None
    s.device, s.embed_batch                       # "auto", 64 (WORKBENCH_DEVICE, WORKBENCH_EMBED_BATCH)
    s.milvus_idle_s, s.parent_pid                 # 30.0, None (WORKBENCH_MILVUS_IDLE_S, WORKBENCH_PARENT_PID)
    s.max_image_mb                                # 20: largest image in an image dataset (WORKBENCH_MAX_IMAGE_MB)
    s.max_audio_mb, s.max_audio_s                 # 200, 3600.0: audio limits (WORKBENCH_MAX_AUDIO_MB / _S)
    s.max_video_mb, s.max_video_s                 # 500, 3600.0: video limits (WORKBENCH_MAX_VIDEO_MB / _S)
    s.folder_under_roots("/data/team/scifact")    # the resolved path, or ValueError (WORKBENCH_DATA_ROOTS)
    s.email_allowed("ana@example.org")            # True unless WORKBENCH_ALLOWED_EMAILS leaves it out
    use_owner(owner_id(issuer, subject))          # this thread's signed-in user (None: nobody signed in)
    s.user_path("runs.sqlite")                    # DATA/users/<owner>/runs.sqlite when signed in, else DATA/runs.sqlite
    s.key_for("http://localhost:11434/v1")        # None unless configured for that endpoint
    mine = s.with_keys(typed_key)                 # one session's settings (key from the sidebar); s unchanged
    s.env_value("COHERE_API_KEY")                 # a variable from the environment, else .env (provider keys)
    mine = s.with_endpoint_keys({url: key})       # one session's key for one endpoint (a provider's URL)
"""

from __future__ import annotations

import hashlib
import os
import threading
from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from rag.i18n import _

PROJECT_ROOT = Path(__file__).resolve().parent.parent
OPENAI_API_URL = "https://api.openai.com/v1"  # the openai client's default base URL

# Offline by default: never let a library phone home or download at run time.
for _k, _v in {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "RAGAS_DO_NOT_TRACK": "true",
               "TOKENIZERS_PARALLELISM": "false", "ANONYMIZED_TELEMETRY": "false",
               "HF_HUB_DISABLE_PROGRESS_BARS": "1", "TRANSFORMERS_VERBOSITY": "error"}.items():
    os.environ.setdefault(_k, _v)



class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    data_dir: Path = Field(default=PROJECT_ROOT / "data",
                           validation_alias=AliasChoices("WORKBENCH_DATA_DIR", "data_dir"))
    # Empty: start (or reuse) the embedded Milvus Lite server. Set: a Milvus standalone/cluster or Zilliz.
    milvus_uri: str = Field(default="", validation_alias=AliasChoices("MILVUS_URI", "milvus_uri"))
    milvus_token: SecretStr | None = Field(default=None,
                                           validation_alias=AliasChoices("MILVUS_TOKEN", "milvus_token"))
    milvus_lite_port: int = Field(default=19531,
                                  validation_alias=AliasChoices("WORKBENCH_MILVUS_PORT", "milvus_lite_port"))
    openai_api_key: SecretStr | None = Field(default=None,
                                             validation_alias=AliasChoices("OPENAI_API_KEY", "openai_api_key"))
    openai_base_url: str | None = Field(default=None,
                                        validation_alias=AliasChoices("OPENAI_BASE_URL", "openai_base_url"))
    # Per-endpoint keys: base URL -> key. The only way a non-OpenAI endpoint gets a key.
    endpoint_keys: dict[str, SecretStr] = Field(default_factory=dict, validation_alias=AliasChoices(
        "WORKBENCH_ENDPOINT_KEYS", "endpoint_keys"))
    max_upload_mb: int = Field(default=200, validation_alias=AliasChoices("WORKBENCH_MAX_UPLOAD_MB",
                                                                          "max_upload_mb"))
    # Largest image file an image dataset may hold (corpus or query image), in MB.
    max_image_mb: int = Field(default=20, ge=1, validation_alias=AliasChoices("WORKBENCH_MAX_IMAGE_MB",
                                                                            "max_image_mb"))
    # Largest audio file (MB) and longest recording (seconds) an audio dataset may hold.
    max_audio_mb: int = Field(default=200, ge=1, validation_alias=AliasChoices("WORKBENCH_MAX_AUDIO_MB",
                                                                            "max_audio_mb"))
    max_audio_s: float = Field(default=3600.0, gt=0, validation_alias=AliasChoices("WORKBENCH_MAX_AUDIO_S",
                                                                                "max_audio_s"))
    # Largest video file (MB) and longest video (seconds) a video dataset may hold.
    max_video_mb: int = Field(default=500, ge=1, validation_alias=AliasChoices("WORKBENCH_MAX_VIDEO_MB",
                                                                            "max_video_mb"))
    max_video_s: float = Field(default=3600.0, gt=0, validation_alias=AliasChoices("WORKBENCH_MAX_VIDEO_S",
                                                                                "max_video_s"))
    # Where local encoders run: "auto" (CUDA, else Apple MPS, else CPU), or "cpu", "cuda", "cuda:1", "mps".
    device: str = Field(default="auto", validation_alias=AliasChoices("WORKBENCH_DEVICE", "device"))
    # Texts per encoder call (measured on 2 CPU cores: batch 32 546/s, 64 663/s; a GPU wants more).
    embed_batch: int = Field(default=64, ge=1, validation_alias=AliasChoices("WORKBENCH_EMBED_BATCH",
                                                                            "embed_batch"))

    # Folders a shared app (served beyond 127.0.0.1) may read, separated by os.pathsep (":" on Linux).
    data_roots: str = Field(default="", validation_alias=AliasChoices("WORKBENCH_DATA_ROOTS", "data_roots"))
    # Declare the app shared although it listens on 127.0.0.1 (behind a reverse proxy on this host).
    shared: bool = Field(default=False, validation_alias=AliasChoices("WORKBENCH_SHARED", "shared"))
    # With sign-in configured: the only emails that may use the app (comma-separated; empty: every user the
    # OIDC provider signs in).
    allowed_emails: str = Field(default="", validation_alias=AliasChoices("WORKBENCH_ALLOWED_EMAILS",
                                                                          "allowed_emails"))

    milvus_idle_s: float = Field(default=30.0, validation_alias=AliasChoices("WORKBENCH_MILVUS_IDLE_S",
                                                                             "milvus_idle_s"))
    # The load-test service (``loadtests.service``): defaults for its flags, and what Locust is told.
    service_dataset: str = Field(default="sample", validation_alias=AliasChoices("WORKBENCH_DATASET",
                                                                                 "service_dataset"))
    service_models: str = Field(default="", validation_alias=AliasChoices("WORKBENCH_SERVICE_MODELS",
                                                                          "service_models"))
    service_milvus_uri: str = Field(default="", validation_alias=AliasChoices("WORKBENCH_SERVICE_MILVUS_URI",
                                                                              "service_milvus_uri"))
    service_generator: str = Field(default="extractive", validation_alias=AliasChoices("WORKBENCH_GENERATOR",
                                                                                       "service_generator"))
    locust_models: str = Field(default="", validation_alias=AliasChoices("WORKBENCH_LOCUST_MODELS",
                                                                         "locust_models"))
    # Set by ``rag.processes.child_env`` for a child that must exit with the process that started it.
    parent_pid: int | None = Field(default=None, validation_alias=AliasChoices("WORKBENCH_PARENT_PID",
                                                                               "parent_pid"))

    @field_validator("parent_pid", mode="before")
    @classmethod
    def _pid_or_none(cls, v):
        """Anything but a positive pid means "no parent to watch" (as before: not a startup error)."""
        v = str(v).strip() if v is not None else ""
        return int(v) if v.isdigit() and int(v) > 0 else None

    def path(self, *parts: str) -> Path:
        """A path inside the data folder, its parent created."""
        p = Path(self.data_dir).joinpath(*parts)
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def user_path(self, *parts: str) -> Path:
        """A path in the signed-in user's own folder (``DATA/users/<owner>/…``, parent created), or in the
        data folder itself when nobody is signed in on this thread (the CLI, an app without sign-in).

        Why per user and these parts only: a run, its rows, its load-test files and a question set are what
        a user made, and another user must not read them; built collections, the embedding cache and the
        Milvus server hold nothing but the datasets' own text and are shared, so a second user's run of the
        same dataset reuses them (no second embedding). A folder per user, not an owner column: every
        reader of the run store (History, reports, exports, gate, ``latest``) is kept apart without a
        filter to forget, and a user's runs can be backed up or deleted as one folder."""
        owner = current_owner()
        if owner is None:
            return self.path(*parts)
        return self.path("users", owner, *parts)

    def email_allowed(self, email: str | None) -> bool:
        """Whether a signed-in user with ``email`` may use the app: ``WORKBENCH_ALLOWED_EMAILS`` empty lets
        every user of the OIDC provider in; otherwise only those emails (case-insensitive)."""
        allowed = {e.strip().lower() for e in self.allowed_emails.split(",") if e.strip()}
        return not allowed or (email or "").strip().lower() in allowed

    def folder_under_roots(self, folder: str | Path) -> Path:
        """``folder`` resolved (symlinks and ``..`` followed) when it lies under a ``WORKBENCH_DATA_ROOTS``
        folder; ValueError with one line otherwise. Why: on a shared server a folder field would let any
        visitor read any folder the app's user can (``/etc``, another user's data)."""
        roots = [Path(r).expanduser().resolve() for r in self.data_roots.split(os.pathsep) if r.strip()]
        path = Path(folder).expanduser().resolve()
        if not roots:
            raise ValueError(_("{folder}: this app is shared (served beyond 127.0.0.1 or behind sign-in), so it reads "
                               "only folders under WORKBENCH_DATA_ROOTS, and none is set; upload files instead, or "
                               "ask whoever runs it to set WORKBENCH_DATA_ROOTS").format(folder=folder))
        if not any(path == r or r in path.parents for r in roots):
            raise ValueError(_("{folder}: outside the folders this shared app may read (WORKBENCH_DATA_ROOTS: "
                               "{roots})").format(folder=folder, roots=", ".join(map(str, roots))))
        return path

    @property
    def milvus_key(self) -> str | None:
        """``MILVUS_TOKEN`` as the client needs it (empty: none)."""
        return (self.milvus_token.get_secret_value() or None) if self.milvus_token else None

    @property
    def openai_key(self) -> str | None:
        return self.openai_api_key.get_secret_value() if self.openai_api_key else None

    def key_for(self, base_url: str | None) -> str | None:
        """The key a request to ``base_url`` (None: OpenAI's API) may carry, or None: send no key."""
        url = _norm_url(base_url or OPENAI_API_URL)
        for u, k in self.endpoint_keys.items():
            if _norm_url(u) == url:
                return k.get_secret_value() or None
        if url in (_norm_url(OPENAI_API_URL), _norm_url(self.openai_base_url or OPENAI_API_URL)):
            return self.openai_key
        return None

    def with_keys(self, openai_key: str | None = None, openai_base_url: str | None = None) -> Settings:
        """A copy with a session's own OpenAI key / base URL (empty: keep the app-wide one). The app-wide
        key stays bound to the app-wide URL: a typed URL without a typed key gets no key."""
        update: dict = {}
        if openai_base_url and _norm_url(openai_base_url) != _norm_url(self.openai_base_url or OPENAI_API_URL):
            update.update(openai_base_url=openai_base_url, openai_api_key=None)
        if openai_key:
            update["openai_api_key"] = SecretStr(openai_key)
        return self.model_copy(update=update)


    def env_value(self, name: str) -> str | None:
        """``name`` from the environment, else from the ``.env`` file: how provider presets read their own
        key variable (``COHERE_API_KEY``, ...) and base URL without a field per provider here. Empty: None."""
        value = os.environ.get(name)
        if value is None:
            from dotenv import dotenv_values

            env_file = self.model_config.get("env_file") or ".env"
            value = dotenv_values(env_file).get(name) if Path(str(env_file)).is_file() else None
        return (value or "").strip() or None

    def with_endpoint_keys(self, keys: dict[str, str]) -> Settings:
        """A copy with a session's own keys for given endpoint URLs (a provider's key typed in the sidebar
        is bound to that provider's URL, as ``key_for`` reads it); empty keys are ignored."""
        merged = dict(self.endpoint_keys)
        merged.update({u: SecretStr(k) for u, k in keys.items() if k})
        return self.model_copy(update={"endpoint_keys": merged})


_owner = threading.local()  # the signed-in user of this thread (a Streamlit session's script thread)


def owner_id(issuer: str, subject: str) -> str:
    """A user's folder name: 16 hex digits of SHA-256 over the OIDC issuer and ``sub`` (the claim that is
    stable and unique per provider; an email can change hands). Hashed so no email is in a path."""
    return hashlib.sha256(f"{issuer}\n{subject}".encode()).hexdigest()[:16]


def use_owner(owner: str | None) -> None:
    """Make ``owner`` this thread's user (``Settings.user_path``); None: nobody. Per thread because
    Streamlit runs each session's script in its own thread, and the app sets it at the top of every run."""
    _owner.value = owner


def current_owner() -> str | None:
    return getattr(_owner, "value", None)


def _norm_url(url: str) -> str:
    return url.strip().rstrip("/").lower()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reset_settings() -> None:
    """Forget the cached settings (tests change the environment)."""
    get_settings.cache_clear()
