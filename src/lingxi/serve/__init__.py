"""The OpenAI-compatible server: `create_app` builds it, `lingxi serve` runs it."""

from __future__ import annotations

from lingxi.serve.app import create_app
from lingxi.serve.settings import ServeSettings, serve_settings

__all__ = ["ServeSettings", "create_app", "serve_settings"]
