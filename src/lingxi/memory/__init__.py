"""Conversation memory strategies and persistent sessions.

    >>> from lingxi.memory import Session, BufferWindow, rewrite
    >>> s = Session.open("work", kb="docs", memory="entity")

Imports are lazy: nothing here opens a database or loads a model until used.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Memory": "strategies", "BufferWindow": "strategies", "Summary": "strategies", "SummaryBuffer": "strategies",
    "Entity": "strategies", "STRATEGIES": "strategies", "make": "strategies", "brief": "strategies",
    "model_summariser": "strategies", "find_entities": "strategies", "Session": "sessions", "rewrite": "rewrite",
    "is_follow_up": "rewrite",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"lingxi.memory.{_EXPORTS[name]}"), name)
    raise AttributeError(name)
