"""Test models for the serve tests (fakes of a model, never of the server)."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from lingxi.models.base import as_messages, collect
from lingxi.types import Delta, Usage


class EchoChat:
    """A test model that streams back the last user message word by word, slowly, and
    remembers how many calls ran at once (to see the server's queueing from the model's side)."""

    def __init__(self, provider: str = "llamacpp", delay: float = 0.002) -> None:
        self.provider, self.delay, self.name = provider, delay, "echo"
        self.active = self.peak = 0
        self._lock = threading.Lock()

    def stream(self, messages: Any, params: Any = None, tools: Any = None) -> Iterator[Delta]:
        text = as_messages(messages)[-1].content or ""
        with self._lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
        try:
            words = text.split(" ")
            for i, w in enumerate(words):
                time.sleep(self.delay)
                yield Delta(text=w if i == 0 else " " + w, finish_reason="stop" if i == len(words) - 1 else None)
            yield Delta(usage=Usage(prompt_tokens=len(words), completion_tokens=len(words)))
        finally:
            with self._lock:
                self.active -= 1

    def chat(self, messages: Any, params: Any = None, tools: Any = None) -> Any:
        return collect(self.stream(messages, params, tools), self.name)

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def tokenize(self, text: str) -> list:
        return []


class HashEmbedder:
    """A test embedding model: a unit vector from a hash of kind and text (deterministic, instant)."""

    name, dim, model_id = "hash", 8, "tests/hash-embedder@v1"

    def __init__(self) -> None:
        self.kinds: list[str] = []

    def embed(self, texts: Any, kind: str = "passage") -> np.ndarray:
        self.kinds.append(kind)
        rows = []
        for t in texts:
            seed = int.from_bytes(hashlib.sha256(f"{kind}:{t}".encode()).digest()[:8], "little")
            v = np.random.default_rng(seed).standard_normal(self.dim).astype(np.float32)
            rows.append(v / np.linalg.norm(v))
        return np.stack(rows)

    def count_tokens(self, text: str) -> int:
        return len(text.split())
