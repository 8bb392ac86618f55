"""Looking inside a model: how it tokenizes a prompt and what it would say next."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from lingxi.errors import ModelError
from lingxi.models.base import ChatModel, TextModel
from lingxi.types import SamplingParams

# endpoints return at most this many alternatives per position
REMOTE_TOP_LOGPROBS = 20


@dataclass
class NextToken:
    token: str
    id: int | None
    prob: float
    logprob: float  # natural log of `prob` (after temperature)


def apply_temperature(logits: np.ndarray, temperature: float) -> np.ndarray:
    """Probabilities ∝ exp(logit / T); T = 0 puts all mass on the most likely token."""
    logits = np.asarray(logits, dtype=np.float64)
    if temperature == 0:
        probs = np.zeros_like(logits)
        probs[int(np.argmax(logits))] = 1.0
        return probs
    z = logits / temperature
    z -= z.max()
    e = np.exp(z)
    return e / e.sum()


def next_token_distribution(model: ChatModel, text: str, *, top: int = 10, temperature: float = 1.0) -> tuple[list[NextToken], bool]:
    """The `top` most likely next tokens after `text` (raw text, no chat template).

    Returns the tokens and whether the distribution is exact: a local GGUF gives
    the logits over the whole vocabulary; a remote endpoint gives only its top
    20 log-probabilities, which are renormalised among themselves.
    """
    if not 0 <= temperature <= 2:
        raise ModelError(f"temperature must be between 0 and 2, not {temperature}.", "pass --temperature 0..2")
    if top < 1:
        raise ModelError("--top must be at least 1.", "pass --top 10")
    if hasattr(model, "next_token_logits"):
        logits, vocab = model.next_token_logits(text)
        probs = apply_temperature(logits, temperature)
        order = np.argsort(-probs)[:top]
        return [NextToken(vocab[int(i)], int(i), float(probs[i]), _ln(probs[i])) for i in order], True
    if not isinstance(model, TextModel):
        raise ModelError(f"The model '{model.name}' cannot show next-token probabilities.", "use a llamacpp or openai model")
    out = model.complete(text, SamplingParams(temperature=0, max_tokens=1, logprobs=True, top_logprobs=REMOTE_TOP_LOGPROBS))
    lps = out.choices[0].logprobs
    if not lps or not lps[0].top:
        raise ModelError(f"The endpoint behind '{model.name}' returned no logprobs.", "use a server that supports logprobs")
    tokens = [t for t, _ in lps[0].top]
    probs = apply_temperature(np.array([lp for _, lp in lps[0].top]), temperature)
    order = np.argsort(-probs)[:top]
    return [NextToken(tokens[i], None, float(probs[i]), _ln(probs[i])) for i in order], False


def _ln(p: float) -> float:
    return math.log(p) if p > 0 else float("-inf")
