"""Prompting techniques, each a plain function over any `ChatModel`.

    r = chain_of_thought(model, "小明有3个苹果，又买了5个，一共几个？")
    r.answer, r.reasoning
    v = self_consistency(model, question, n=5, temperature=0.7)
    v.answer, v.votes          # majority over the extracted answers
    steps = chain_of_density(model, document, steps=5)     # lingxi.prompts.longform
    sot = skeleton_of_thought(model, question)              # lingxi.prompts.longform
    p = program_aided(model, question)                      # runs in the agents sandbox
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from lingxi.models.base import ChatModel, as_params
from lingxi.prompts.longform import DensityStep, Skeleton, chain_of_density, skeleton_of_thought
from lingxi.prompts.pal import ProgramResult, program_aided
from lingxi.types import Message, SamplingParams

__all__ = [
    "DensityStep", "ProgramResult", "Reasoned", "Skeleton", "Vote", "chain_of_density", "chain_of_thought",
    "direct", "extract_answer", "self_consistency", "skeleton_of_thought", "program_aided",
]

COT_SYSTEM = (
    "Solve the problem step by step. Show your reasoning, then give the final answer on its own last line "
    "as 'Answer: <answer>'. 请逐步推理，最后一行写 'Answer: <答案>'。"
)
DIRECT_SYSTEM = "Give only the final answer on one line as 'Answer: <answer>'. 只给出最终答案：'Answer: <答案>'。"

_ANSWER_TAGS = re.compile(r"(?:final answer|answer|答案|最终答案)\s*(?:is|是|为)?\s*[:：]\s*(.+)", re.IGNORECASE)
_BOXED = re.compile(r"\\boxed\{([^{}]*)\}")
_HASHES = re.compile(r"####\s*(.+)")
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


@dataclass
class Reasoned:
    answer: str
    reasoning: str
    text: str
    usage: dict[str, int] = field(default_factory=dict)


@dataclass
class Vote:
    answer: str
    votes: dict[str, int]
    samples: list[Reasoned]
    usage: dict[str, int] = field(default_factory=dict)

    @property
    def agreement(self) -> float:
        """Share of samples that gave the winning answer."""
        return self.votes.get(self.answer, 0) / max(1, len(self.samples))


def normalize_answer(answer: str) -> str:
    """Comparable form: trimmed, no trailing period, numbers without thousands commas or '.0'."""
    a = answer.strip().strip("*").strip().rstrip("。.").strip()
    a = re.sub(r"^\$\s*", "", a)
    number = _NUMBER.fullmatch(a.replace(" ", ""))
    if number:
        a = a.replace(",", "").replace(" ", "")
        if "." in a:
            a = a.rstrip("0").rstrip(".")
    return a


def extract_answer(text: str, numeric: bool = False) -> str:
    """The final answer in a model's reply: 'Answer: X', '答案：X', '#### X' or '\\boxed{X}', else the last
    number (numeric=True) or the last non-empty line."""
    found = None
    for pattern in (_BOXED, _HASHES, _ANSWER_TAGS):
        hits = pattern.findall(text)
        if hits:
            found = hits[-1].strip().splitlines()[0]
            break
    if numeric:
        numbers = _NUMBER.findall(found if found is not None else text)
        if numbers:
            return normalize_answer(numbers[-1] if found is None else numbers[0])
    if found is not None:
        return normalize_answer(found)
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return normalize_answer(lines[-1]) if lines else ""


def _ask(system: str, question: str) -> list[Message]:
    return [Message(role="system", content=system), Message(role="user", content=question)]


def _split(text: str, numeric: bool) -> Reasoned:
    answer = extract_answer(text, numeric=numeric)
    tail = max(text.rfind("Answer"), text.rfind("答案"))
    reasoning = text[:tail].strip() if tail >= 0 else text.strip()
    return Reasoned(answer=answer, reasoning=reasoning, text=text)


def _usage(c: Any) -> dict[str, int]:
    return {"prompt_tokens": c.usage.prompt_tokens, "completion_tokens": c.usage.completion_tokens}


def direct(model: ChatModel, question: str, params: SamplingParams | dict | None = None,
           numeric: bool = False) -> Reasoned:
    """The baseline: ask for the answer only."""
    c = model.chat(_ask(DIRECT_SYSTEM, question), as_params(params))
    r = _split(c.text, numeric)
    r.usage = _usage(c)
    return r


def chain_of_thought(model: ChatModel, question: str, params: SamplingParams | dict | None = None,
                     numeric: bool = False, system: str = COT_SYSTEM) -> Reasoned:
    """Ask for step-by-step reasoning, then extract the final answer."""
    c = model.chat(_ask(system, question), as_params(params))
    r = _split(c.text, numeric)
    r.usage = _usage(c)
    return r


def self_consistency(model: ChatModel, question: str, n: int = 5, temperature: float = 0.7,
                     params: SamplingParams | dict | None = None, numeric: bool = False,
                     system: str = COT_SYSTEM) -> Vote:
    """Sample n chain-of-thought answers at `temperature` and return the majority answer.

    Uses the provider's `n` where it can (one request), in batches of at most 16. Ties go to the
    answer seen first; empty answers never win while another answer exists.
    """
    base = as_params(params).model_copy(update={"temperature": temperature})
    texts: list[str] = []
    usage = {"prompt_tokens": 0, "completion_tokens": 0}
    while len(texts) < n:
        want = min(16, n - len(texts))
        seed = None if base.seed is None else base.seed + len(texts)
        c = model.chat(_ask(system, question), base.model_copy(update={"n": want, "seed": seed}))
        got = [ch.message.content or "" for ch in c.choices][:want]
        texts.extend(got or [""])
        for k, v in _usage(c).items():
            usage[k] += v
    samples = [_split(t, numeric) for t in texts[:n]]
    counts = Counter(s.answer for s in samples)
    order = {a: i for i, a in reversed(list(enumerate(s.answer for s in samples)))}
    ranked = sorted(counts, key=lambda a: (a == "", -counts[a], order[a]))
    winner = ranked[0] if ranked else ""
    return Vote(answer=winner, votes=dict(counts), samples=samples, usage=usage)
