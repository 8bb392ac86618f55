"""Typed settings.

Sources, strongest first: keyword arguments, `LINGXI_*` environment variables
(nested with ``__``, e.g. ``LINGXI_MODELS__GPT__BASE_URL``), then
``$LINGXI_HOME/lingxi.toml``, then the defaults below. Unknown keys are refused.

Example ``lingxi.toml``::

    default_model = "deepseek"

    [models.deepseek]
    provider = "openai"
    base_url = "https://api.deepseek.com/v1"
    model = "deepseek-chat"
    api_key_env = "DEEPSEEK_API_KEY"
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from lingxi.errors import ConfigError
from lingxi.guard.policy import GuardSettings
from lingxi.voice.settings import VoiceSettings

DEFAULT_HOME = "~/.lingxi"


class IngestSettings(BaseModel):
    """``[ingest]``: limits that keep one hostile or careless file from stalling a whole ingest."""

    model_config = ConfigDict(extra="forbid")

    max_file_mb: float = Field(100.0, gt=0)  # bytes read from one file, at most
    max_unzipped_mb: float = Field(256.0, gt=0)  # a .docx/.xlsx (zip) file's declared uncompressed total
    max_zip_ratio: float = Field(100.0, gt=1)  # uncompressed / compressed, for members past a few MB
    max_zip_members: int = Field(20_000, ge=1)


class ModelSpec(BaseModel):
    """One model alias: which provider serves it and how to reach it."""

    model_config = ConfigDict(extra="forbid")

    provider: str
    path: str | None = None  # GGUF file or Hugging Face folder; "pkg:DIST/FILE" for a file inside a package
    gguf_file: str | None = None  # hf provider: a GGUF file inside `path` to load through transformers
    model: str | None = None  # remote model name (or Azure deployment)
    base_url: str | None = None
    api_key: SecretStr | None = None
    api_key_env: str | None = None  # read the key from this environment variable instead
    api_version: str | None = None  # set for Azure OpenAI
    timeout_s: float = Field(120.0, gt=0)
    max_retries: int = Field(3, ge=0, le=10)
    n_ctx: int | None = Field(None, ge=256)
    n_threads: int | None = Field(None, ge=1)
    chat_format: str | None = None  # llamacpp: override the chat template read from the GGUF
    adapters: dict[str, float] = Field(default_factory=dict)  # llamacpp, hf: LoRA adapters (name -> scale), see models/adapted.py
    replies: list[str] = Field(default_factory=list)  # scripted provider
    price_in: float = 0.0  # cost per million prompt tokens, for tracing
    price_out: float = 0.0  # cost per million completion tokens
    description: str = ""

    def __repr__(self) -> str:  # never leak a key, even by accident
        return f"ModelSpec(provider={self.provider!r}, path={self.path!r}, model={self.model!r}, base_url={self.base_url!r})"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LINGXI_", env_nested_delimiter="__", extra="forbid")

    home: Path = Path(DEFAULT_HOME)
    default_model: str = "smollm2"
    models: dict[str, ModelSpec] = Field(default_factory=dict)
    n_ctx: int = Field(4096, ge=256)
    n_threads: int | None = Field(None, ge=1)
    debug: bool = False
    openai_base_url: str | None = None  # used by "openai:MODEL" specs without "@URL"
    openai_api_key: SecretStr | None = None
    trace: bool = True  # record every model call in the home database (lingxi traces)
    db_url: SecretStr | None = None  # LINGXI_DB_URL: postgresql://... for the home database (default: SQLite in home)
    replica: str | None = None  # LINGXI_REPLICA: this server's name in /metrics (default: host:port)
    pg_dsn: SecretStr | None = None  # LINGXI_PG_DSN: PostgreSQL + pgvector for knowledge bases with store="pgvector"
    ingest: IngestSettings = Field(default_factory=IngestSettings)  # [ingest]: per-file limits (lingxi.knowledge.safe_io)
    guard: GuardSettings = Field(default_factory=GuardSettings)  # [guard]: checks per stage and profile (lingxi.guard.policy)
    voice: VoiceSettings = Field(default_factory=VoiceSettings)  # [voice]: transcriber and voices (lingxi.voice.settings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=config_path())
        return (init_settings, env_settings, toml)

    @property
    def home_dir(self) -> Path:
        return self.home.expanduser()

    @property
    def models_dir(self) -> Path:
        return self.home_dir / "models"


def config_path(home: str | os.PathLike[str] | None = None) -> Path:
    """Where ``lingxi.toml`` lives for a home directory (default: $LINGXI_HOME)."""
    base = home or os.environ.get("LINGXI_HOME") or DEFAULT_HOME
    return Path(base).expanduser() / "lingxi.toml"


def load_settings(**overrides: Any) -> Settings:
    """Read the settings, turning validation errors into one clear ConfigError."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "settings"
        raise ConfigError(
            f"Invalid setting '{where}': {first['msg']}.",
            f"fix it in {config_path()} or the matching LINGXI_* environment variable",
        ) from exc
    except (OSError, ValueError) as exc:  # unreadable or malformed TOML
        raise ConfigError(
            f"Could not read {config_path()}: {exc}.", "fix the TOML syntax or remove the file"
        ) from exc
