"""One typed settings object, read from the environment and ``.env``.

Secrets are ``SecretStr``: they print as ``**********`` and are never written to the run store,
logs, exports or reports. Everything the app writes lives under ``data_dir``.

Usage:
    from rag.settings import get_settings
    s = get_settings()
    s.data_dir, s.milvus_uri, s.openai_api_key  # SecretStr | None
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent

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
    max_upload_mb: int = Field(default=200, validation_alias=AliasChoices("WORKBENCH_MAX_UPLOAD_MB",
                                                                          "max_upload_mb"))

    def path(self, *parts: str) -> Path:
        """A path inside the data folder, its parent created."""
        p = Path(self.data_dir).joinpath(*parts)
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    @property
    def openai_key(self) -> str | None:
        return self.openai_api_key.get_secret_value() if self.openai_api_key else None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reset_settings() -> None:
    """Forget the cached settings (tests change the environment)."""
    get_settings.cache_clear()
