"""灵犀 lingxi: build, evaluate and serve generative-AI applications, local-first."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from lingxi.config import Settings, load_settings
from lingxi.errors import LingxiError
from lingxi.models.base import ChatModel, EmbeddingModel, MessagesLike
from lingxi.models.funnel import Model, open_chat
from lingxi.types import Completion, Delta, Message, SamplingParams

__version__ = "0.1.0"

__all__ = [
    "Agent",
    "Answer",
    "ChatModel",
    "Completion",
    "EmbeddingModel",
    "KnowledgeBase",
    "LingxiError",
    "Message",
    "Model",
    "SamplingParams",
    "Settings",
    "ask",
    "chat",
    "load_settings",
    "stream",
    "tool",
]

# heavier parts load on first use, so `import lingxi` stays cheap
_LAZY = {
    "Agent": "lingxi.agents",
    "tool": "lingxi.agents",
    "KnowledgeBase": "lingxi.knowledge",
    "ask": "lingxi.rag",
    "Answer": "lingxi.rag",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'lingxi' has no attribute {name!r}")


def chat(messages: MessagesLike, model: str | ChatModel | None = None, **sampling: Any) -> Completion:
    """One chat completion: ``lingxi.chat("你好", temperature=0, max_tokens=32).text``."""
    from lingxi.models.base import as_params

    return open_chat(model).chat(messages, as_params(sampling))


def stream(messages: MessagesLike, model: str | ChatModel | None = None, **sampling: Any) -> Iterator[Delta]:
    """Stream a chat completion piece by piece."""
    from lingxi.models.base import as_params

    return open_chat(model).stream(messages, as_params(sampling))

