"""JSON output for the hf provider: a token mask from llguidance when it is installed, else a check afterwards."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from lingxi.errors import ConfigError, ModelError

JSON_HINT = "pip install llguidance to constrain hf output to JSON, or use a llamacpp or openai model"


class JsonGuide:
    """Masks the logits so that only tokens continuing valid JSON (for the schema) can be drawn."""

    def __init__(self, ll_tokenizer: Any, schema: dict[str, Any]) -> None:
        import llguidance

        try:
            grammar = llguidance.LLMatcher.grammar_from_json_schema(schema or {"type": "object"})
        except ValueError as exc:
            raise ConfigError(f"The JSON schema is not valid: {exc}.", "fix response_format.json_schema.schema") from exc
        self.matcher = llguidance.LLMatcher(ll_tokenizer, grammar, log_level=0)
        self._check()

    def _check(self) -> None:
        if self.matcher.is_error():
            raise ModelError(f"JSON-constrained generation failed: {self.matcher.get_error()}.", "simplify the JSON schema")

    def mask(self, logits: Any) -> None:
        import torch

        allowed = torch.from_numpy(np.frombuffer(self.matcher.compute_logit_bias(), dtype=np.uint8) > 0)
        logits[: len(allowed)][~allowed] = float("-inf")
        logits[len(allowed) :] = float("-inf")

    def consume(self, token: int) -> bool:
        """Advance past `token`; True when the JSON value is complete and nothing more may follow."""
        self.matcher.consume_token(token)
        self._check()
        return self.matcher.is_stopped()


def check_json(text: str, finish: str) -> None:
    if finish == "length":
        return  # cut by max_tokens: incomplete, as every provider returns it
    try:
        json.loads(text)
    except ValueError as exc:
        raise ModelError(
            f"JSON output was asked for, but the hf model replied with text that is not JSON ({exc}); "
            "without llguidance the hf provider cannot constrain its output.",
            JSON_HINT,
        ) from exc
