"""What an agent did, step by step: recorded for every run, printable and JSON-able."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from lingxi.types import Message

StepKind = Literal["tool", "final", "format_error", "decision"]
StopReason = Literal["final", "tool_result", "max_steps", "repeat", "error", "no_tool"]


@dataclass
class Step:
    n: int
    kind: StepKind
    thought: str | None = None
    tool: str | None = None
    arguments: Any = None
    result: str | None = None
    ok: bool = True
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    tool_seconds: float = 0.0


@dataclass
class AgentResult:
    answer: str
    steps: list[Step]
    stop_reason: StopReason
    mode: str
    seconds: float = 0.0
    messages: list[Message] = field(default_factory=list)
    note: str = ""  # e.g. why the tool's result replaced the model's restatement of it

    def __str__(self) -> str:
        return self.answer

    @property
    def tokens(self) -> int:
        return sum(s.prompt_tokens + s.completion_tokens for s in self.steps)

    def to_dict(self) -> dict[str, Any]:
        return {"answer": self.answer, "stop_reason": self.stop_reason, "mode": self.mode, "note": self.note,
                "seconds": round(self.seconds, 3), "tokens": self.tokens, "steps": [asdict(s) for s in self.steps]}

    def format_trace(self) -> str:
        """A readable account of every step (what `lingxi agent --trace` prints)."""
        lines = [f"mode: {self.mode}"]
        for s in self.steps:
            head = f"step {s.n} · {s.kind} · {s.seconds:.2f}s · {s.prompt_tokens}+{s.completion_tokens} tokens"
            lines.append(head)
            if s.thought:
                lines.append(f"  thought: {s.thought}")
            if s.kind == "tool":
                lines.append(f"  tool: {s.tool}({_short(json.dumps(s.arguments, ensure_ascii=False))})")
                lines.append(f"  {'result' if s.ok else 'error'} ({s.tool_seconds:.2f}s): {_short(s.result or '')}")
            elif s.kind == "decision":
                lines.append(f"  does a tool fit? {s.result}")
            elif s.kind == "format_error":
                lines.append(f"  format error: {_short(s.result or '')}")
            else:
                lines.append(f"  answer: {_short(s.result or '')}")
        lines.append(f"stopped: {self.stop_reason} · {self.seconds:.2f}s · {self.tokens} tokens")
        if self.note:
            lines.append(f"note: {self.note}")
        return "\n".join(lines)


def _short(text: str, n: int = 300) -> str:
    text = text.replace("\n", "\\n")
    return text if len(text) <= n else text[:n] + "…"
