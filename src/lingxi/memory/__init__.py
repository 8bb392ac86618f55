"""Conversation memory strategies and persistent sessions.

    >>> from lingxi.memory import Session, BufferWindow, rewrite
    >>> s = Session.open("work", kb="docs", memory="entity")

Imports are lazy: nothing here opens a database or loads a model until used.
"""

from __future__ import annotations

from lingxi._lazy import lazy

__all__, __getattr__ = lazy(__name__, {
    "Memory": "strategies", "BufferWindow": "strategies", "Summary": "strategies", "SummaryBuffer": "strategies",
    "Entity": "strategies", "STRATEGIES": "strategies", "make": "strategies", "brief": "strategies",
    "model_summariser": "strategies", "find_entities": "strategies", "Session": "sessions", "rewrite": "rewrite",
    "is_follow_up": "rewrite",
})
