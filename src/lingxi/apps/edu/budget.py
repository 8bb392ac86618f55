"""A time and length budget for one education action (a quiz, a plan, a tutor turn, a solve).

An action makes several model calls (one per question, a retry, a judge); the server gives each
request a budget so that none runs for minutes:

    chat = bounded(served.model, seconds=20, max_tokens=384)
    make_quiz(course, n=5, model=chat)    # each call at most 384 tokens; none starts after 20 s

The model keeps its wrappers (guard, trace: `lingxi.models.funnel`); `bounded` only caps
`max_tokens` and refuses to start a call once the time is spent, with `OutOfTime`, which the
server answers with a 504 that says what to do.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from lingxi.errors import LingxiError
from lingxi.guard.wrapper import Guarded
from lingxi.models.base import as_params


class OutOfTime(LingxiError):
    """The action's time budget ran out before its next model call."""


class Bounded(Guarded):
    """An opened (guarded, traced) chat model with a deadline and a max_tokens cap.

    A Guarded subclass so that the funnel treats it as already opened and does not wrap it again."""

    def __init__(self, model: Any, seconds: float, max_tokens: int) -> None:  # noqa: D107 - no Guarded.__init__: nothing to screen twice
        self.wrapped = model
        self.seconds, self.max_tokens = seconds, max_tokens
        self.deadline = time.monotonic() + seconds

    def __repr__(self) -> str:
        return f"bounded({self.wrapped!r}, {self.seconds:g}s, {self.max_tokens} tokens)"

    def profile(self) -> Any:
        return self.wrapped.profile() if hasattr(self.wrapped, "profile") else None

    def _params(self, params: Any) -> Any:
        if time.monotonic() >= self.deadline:
            raise OutOfTime(f"The request used its {self.seconds:g} s before it was done.",
                            "ask for less (fewer questions, a shorter problem or plan) or retry when the server is less busy")
        p = as_params(params)
        cap = min(p.max_tokens or self.max_tokens, self.max_tokens)
        return p if p.max_tokens == cap else p.model_copy(update={"max_tokens": cap})

    def chat(self, messages: Any, params: Any = None, tools: list[dict] | None = None) -> Any:
        return self.wrapped.chat(messages, self._params(params), tools)

    def stream(self, messages: Any, params: Any = None, tools: list[dict] | None = None) -> Iterator[Any]:
        return self.wrapped.stream(messages, self._params(params), tools)


def bounded(model: Any, seconds: float, max_tokens: int) -> Bounded:
    return Bounded(model, seconds, max_tokens)
