"""The guard's contract: a check reads a text in a role and returns a verdict.

    class MyGuard:
        name = "profanity"
        def check(self, text: str, role: Role = "input") -> Verdict: ...

Roles: ``input`` (what a user sends), ``retrieval`` (a chunk about to enter a prompt), ``tool``
(what a tool gave back), ``output`` (what the model wrote). A check reports what it found; the
policy (`lingxi.guard.policy`) decides the action (block, redact, flag) and records it on the
verdict. A plugin adds a check with ``registry.add("guard", "name", "pkg.module:Factory")``;
the factory is called with the Settings.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

Role = Literal["input", "retrieval", "tool", "output"]
Action = Literal["block", "redact", "flag"]
ROLES: tuple[Role, ...] = ("input", "retrieval", "tool", "output")
ACTIONS: tuple[Action, ...] = ("block", "redact", "flag")


@dataclass
class Span:
    """Where in the text a finding is (character offsets), and what it is."""

    start: int
    end: int
    label: str
    score: float = 1.0


@dataclass
class Verdict:
    check: str
    role: Role
    flagged: bool = False
    categories: dict[str, bool] = field(default_factory=dict)
    scores: dict[str, float] = field(default_factory=dict)
    spans: list[Span] = field(default_factory=list)
    action: Action | None = None  # what the policy did about it (None: nothing flagged, or not acted on)
    reason: str = ""  # one sentence for people
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def top(self) -> tuple[str, float] | None:
        """The flagged category with the highest score."""
        hits = [(c, self.scores.get(c, 0.0)) for c, on in self.categories.items() if on]
        return max(hits, key=lambda x: x[1]) if hits else None


@runtime_checkable
class Guard(Protocol):
    name: str

    def check(self, text: str, role: Role = "input") -> Verdict: ...


def verdict(check: str, role: Role, scores: dict[str, float], thresholds: dict[str, float] | float,
            spans: list[Span] | None = None, seconds: float = 0.0) -> Verdict:
    """A verdict from per-category scores and their thresholds (one number for all, or per category)."""
    cats = {c: s >= (thresholds if isinstance(thresholds, float) else thresholds.get(c, 0.5))
            for c, s in scores.items()}
    v = Verdict(check, role, any(cats.values()), cats, {c: round(float(s), 4) for c, s in scores.items()},
                spans or [], seconds=seconds)
    if v.flagged:
        top = v.top()
        v.reason = f"{check}: {top[0]} ({top[1]:.2f})" if top else check
    return v
