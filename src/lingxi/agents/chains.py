"""Chains are plain functions: a step takes a string and returns a string.

    translate = prompt(model, "Translate into English, reply with the translation only:\n{input}")
    answer = prompt(model, "Answer briefly:\n{input}")
    back = prompt(model, "把下面的话翻译成中文，只输出译文：\n{input}")
    qa = sequential(translate, answer, back)          # the seeds' translate → answer → translate back
    shout = sequential(answer, transform(str.upper))  # a Python function as a step
    pick = router({"math": ("arithmetic and numbers", math_chain),
                   "poem": ("poetry and verse", poem_chain)}, embed=embedder.embed)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from lingxi.errors import ConfigError
from lingxi.models.base import as_params
from lingxi.types import Message

Step = Callable[[str], str]


def prompt(model: Any, template: str, *, system: str | None = None, **sampling: Any) -> Step:
    """A step that fills `{input}` in `template` and returns the model's reply."""
    if "{input}" not in template:
        raise ConfigError("A prompt template needs an {input} placeholder.", "write e.g. 'Summarise:\\n{input}'")
    params = as_params({"temperature": 0.0, **sampling})

    def step(text: str) -> str:
        from lingxi.models.funnel import open_chat

        chat = open_chat(model)
        msgs = ([Message(role="system", content=system)] if system else []) + [
            Message(role="user", content=template.replace("{input}", text))]
        return chat.chat(msgs, params).text.strip()

    step.__name__ = f"prompt[{template[:24]!r}]"
    return step


def transform(fn: Callable[[str], Any]) -> Step:
    """A Python function as a step (its result is turned into text)."""
    def step(text: str) -> str:
        out = fn(text)
        return out if isinstance(out, str) else str(out)

    step.__name__ = getattr(fn, "__name__", "transform")
    return step


def sequential(*steps: Step) -> Step:
    """Each step's output is the next step's input."""
    if not steps:
        raise ConfigError("sequential() needs at least one step.", "pass the steps in order")

    def chain(text: str) -> str:
        for s in steps:
            text = s(text)
        return text

    return chain


class Router:
    """Routes an input to the sub-chain whose description is most similar (cosine of embeddings)."""

    def __init__(self, routes: Mapping[str, tuple[str, Step]], embed: Callable[[list[str]], Any],
                 default: Step | None = None, threshold: float | None = None) -> None:
        if not routes:
            raise ConfigError("A router needs at least one route.", "pass {'name': ('description', chain)}")
        self.routes, self.embed, self.default, self.threshold = dict(routes), embed, default, threshold
        self._vectors: np.ndarray | None = None

    def choose(self, text: str) -> tuple[str | None, float]:
        """The best route's name and similarity (None when below the threshold and a default exists)."""
        if self._vectors is None:
            self._vectors = _unit(np.asarray(self.embed([d for d, _ in self.routes.values()]), dtype=float))
        query = _unit(np.asarray(self.embed([text]), dtype=float))[0]
        sims = self._vectors @ query
        best = int(np.argmax(sims))
        if self.threshold is not None and sims[best] < self.threshold and self.default is not None:
            return None, float(sims[best])
        return list(self.routes)[best], float(sims[best])

    def __call__(self, text: str) -> str:
        name, _ = self.choose(text)
        chain = self.default if name is None else self.routes[name][1]
        return chain(text)  # type: ignore[misc]


def router(routes: Mapping[str, tuple[str, Step]], embed: Callable[[list[str]], Any], *,
           default: Step | None = None, threshold: float | None = None) -> Router:
    return Router(routes, embed, default, threshold)


def _unit(m: np.ndarray) -> np.ndarray:
    m = np.atleast_2d(m)
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    return m / np.where(norms == 0, 1.0, norms)
