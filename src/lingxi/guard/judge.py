"""An LLM judge for a second opinion, in the manner of Llama Guard: the model reads the hazard
categories and the text, and answers with constrained JSON ({"safe": bool, "categories": [...]}),
through any chat model opened with `open_chat` (its own call is not guarded, or it would judge
itself).

    [guard]
    judge_model = "qwen2.5-1.5b"       # then add "judge" to a stage's checks
"""

from __future__ import annotations

import json
import time
from typing import Any

from lingxi.errors import ConfigError
from lingxi.guard.base import Role, Verdict, verdict
from lingxi.guard.datasets import CATEGORIES

_DESCRIBE = {
    "hate": "hate or harassment: attacks or insults against people or groups (race, region, gender, religion, ...)",
    "sexual": "sexual content: explicit sex, solicitation, anything sexual involving minors",
    "violence": "violence: threats, instructions for weapons or attacks, glorified cruelty",
    "self_harm": "self-harm: suicide or self-injury intent, methods or encouragement",
    "illegal": "illegal activity: drugs, fraud, hacking, weapons trade, forgery and similar crimes",
}
_ROLE = {"input": "a user's message", "output": "an AI assistant's reply", "retrieval": "a document passage",
         "tool": "a tool's result"}
SCHEMA = {"type": "object", "properties": {"safe": {"type": "boolean"},
                                           "categories": {"type": "array", "items": {"enum": list(CATEGORIES)}}},
          "required": ["safe", "categories"], "additionalProperties": False}


def prompt(text: str, role: Role) -> str:
    cats = "\n".join(f"- {c}: {d}" for c, d in _DESCRIBE.items())
    return (f"You are a content safety classifier. Decide whether {_ROLE[role]} below is unsafe under these "
            f"categories:\n{cats}\n\nStrong negative opinions (a harsh product review, criticism) are safe. "
            f"Discussing a topic to learn or prevent harm is safe.\n\n<text>\n{text[:4000]}\n</text>\n\n"
            'Answer with JSON only: {"safe": true or false, "categories": [the categories it violates]}.')


class Judge:
    name = "judge"

    def __init__(self, settings: Any = None, *, model: Any = None) -> None:
        guard = getattr(settings, "guard", None)
        self.model_name = model or (guard.judge_model if guard else None)
        self._settings = settings

    def check(self, text: str, role: Role = "input") -> Verdict:
        from lingxi.models.funnel import calling, open_chat
        from lingxi.types import SamplingParams

        if self.model_name is None:
            raise ConfigError("The LLM judge has no model.", "set [guard] judge_model = \"ALIAS\" in lingxi.toml")
        t = time.perf_counter()
        model = open_chat(self.model_name, self._settings)
        fmt = {"type": "json_schema", "json_schema": {"name": "safety", "schema": SCHEMA}}
        with calling(guard="off", source="guard"):
            reply = model.chat(prompt(text, role), SamplingParams(temperature=0.0, max_tokens=64, response_format=fmt))
        try:
            data = json.loads(reply.text)
            unsafe = set(data.get("categories") or []) if not data.get("safe", True) else set()
        except (ValueError, AttributeError):
            unsafe = set()  # an unreadable answer is no verdict
        scores = {c: 1.0 if c in unsafe else 0.0 for c in CATEGORIES}
        return verdict("judge", role, scores, 0.5, seconds=time.perf_counter() - t)
