"""How the server runs: address, auth, limits, queues. Separate from the model settings."""

from __future__ import annotations

import ipaddress

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lingxi.errors import ConfigError

LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}
# routes about the server rather than the models: open only when listed in public_paths (or auth is off)
OPS_PATHS = ("/healthz", "/readyz", "/metrics", "/docs", "/docs/oauth2-redirect", "/openapi.json")


class ServeSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    no_auth: bool = False  # only allowed on a loopback address
    max_body_bytes: int = Field(4 * 1024 * 1024, ge=1024)
    rate_limit: int = Field(600, ge=0)  # requests per minute per key (or per client without auth); 0 = off
    cors_origins: list[str] = Field(default_factory=list)  # empty: CORS off
    queue_size: int = Field(32, ge=0)  # requests that may wait for each local model
    queue_timeout_s: float = Field(120.0, gt=0)  # longest wait in that queue before a 503
    remote_concurrency: int = Field(64, ge=1)  # parallel requests per remote (HTTP) model
    default_max_tokens: int = Field(512, ge=1)  # when a request does not say
    allow_any_model: bool = False  # accept PROVIDER:TARGET, paths and URLs as model names
    preload: list[str] = Field(default_factory=list)  # models to load before /readyz says ready
    trace: bool = True
    stream_pace_s: float = Field(0.1, ge=0, le=1)  # after the first token, hand streamed pieces over this often
    # operations routes anyone may read without a key when auth is on (the others of OPS_PATHS need one)
    public_paths: list[str] = Field(default_factory=lambda: ["/healthz"])
    isolate: Literal["local", "all", "none"] = "local"  # which models run in a supervised worker process

    def check(self) -> ServeSettings:
        if self.no_auth and not is_loopback(self.host):
            raise ConfigError(
                f"Refusing to serve without API keys on {self.host}, which is not a loopback address.",
                "bind to 127.0.0.1 for --no-auth, or create a key with: lingxi keys create NAME",
            )
        return self


def serve_settings(**values: object) -> ServeSettings:
    """Validated server settings; a bad value becomes one ConfigError sentence."""
    try:
        return ServeSettings(**values).check()  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"Invalid server setting '{where}': {first['msg']}.", "see: lingxi serve --help") from exc


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
