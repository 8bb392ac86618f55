"""LLM-as-judge: faithfulness (is the answer supported by the context?) and answer relevance
(does it address the question?). Any chat model can judge; its prompt is public
(`JUDGE_PROMPTS`, `lingxi eval judge --show-prompt`) so the scores can be audited.

Each verdict is a 1-5 score with a reason, asked for under a JSON schema; the
score is also reported normalised to 0-1.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from lingxi.models.base import ChatModel
from lingxi.types import Message, SamplingParams

Kind = Literal["faithfulness", "relevance"]

JUDGE_PROMPTS: dict[str, str] = {
    "faithfulness": (
        "You are a strict fact checker. Judge whether every claim in the ANSWER is supported by the CONTEXT. "
        "Do not use outside knowledge.\n\n"
        "CONTEXT:\n{context}\n\nQUESTION:\n{question}\n\nANSWER:\n{answer}\n\n"
        "Score 1-5: 5 = every claim is supported by the context; 4 = nearly all, one minor unsupported detail; "
        "3 = some claims unsupported; 2 = most claims unsupported; 1 = contradicts the context or is entirely "
        "unsupported. An answer that honestly says the context does not contain the answer scores 5.\n"
        'Reply as JSON: {{"score": <1-5>, "reason": "<one sentence>"}}'
    ),
    "relevance": (
        "You judge whether an ANSWER addresses the QUESTION that was asked (not whether it is true).\n\n"
        "QUESTION:\n{question}\n\nANSWER:\n{answer}\n\n"
        "Score 1-5: 5 = answers exactly what was asked, directly and completely; 4 = answers it with some "
        "padding or a small gap; 3 = partly answers; 2 = mostly off the point; 1 = does not address it.\n"
        'Reply as JSON: {{"score": <1-5>, "reason": "<one sentence>"}}'
    ),
}
_SCHEMA = {"type": "object", "properties": {"score": {"type": "integer", "enum": [1, 2, 3, 4, 5]},
                                            "reason": {"type": "string"}}, "required": ["score", "reason"]}


@dataclass
class Verdict:
    kind: str
    score: int | None  # 1-5, None when the judge's reply could not be read
    reason: str
    raw: str

    @property
    def normalized(self) -> float | None:
        return None if self.score is None else (self.score - 1) / 4


def judge_prompt(kind: Kind, question: str = "{question}", answer: str = "{answer}", context: str = "{context}") -> str:
    return JUDGE_PROMPTS[kind].format(question=question, answer=answer, context=context)


def parse_verdict(kind: str, text: str) -> Verdict:
    match = re.search(r"\{.*\}", text, re.DOTALL)
    score, reason = None, ""
    if match:
        try:
            data = json.loads(match.group(0))
            score, reason = int(data.get("score")), str(data.get("reason", ""))
        except (ValueError, TypeError):
            pass
    if score is None:
        digits = re.findall(r"\b([1-5])\b", text)
        score = int(digits[0]) if digits else None
        reason = reason or text.strip()[:200]
    if score is not None and not 1 <= score <= 5:
        score = None
    return Verdict(kind=kind, score=score, reason=reason, raw=text)


def judge(model: ChatModel, kind: Kind, question: str, answer: str, context: str = "") -> Verdict:
    fmt = {"type": "json_schema", "json_schema": {"name": "verdict", "schema": _SCHEMA}}
    params = SamplingParams(temperature=0.0, max_tokens=200, response_format=fmt)
    prompt = judge_prompt(kind, question, answer, context)
    return parse_verdict(kind, model.chat([Message(role="user", content=prompt)], params).text)


def judge_faithfulness(model: ChatModel, question: str, answer: str, context: str) -> Verdict:
    return judge(model, "faithfulness", question, answer, context)


def judge_relevance(model: ChatModel, question: str, answer: str) -> Verdict:
    return judge(model, "relevance", question, answer)


def judge_rows(model: ChatModel, rows: Sequence[dict[str, Any]],
               kinds: Sequence[Kind] = ("faithfulness", "relevance")) -> dict[str, Any]:
    """Judge rows of {question, answer, context}; means of the 1-5 scores and of the 0-1 scores per kind."""
    items = []
    for row in rows:
        verdicts = {}
        for kind in kinds:
            ctx = row.get("context") or "\n\n".join(row.get("contexts") or [])
            verdicts[kind] = asdict(judge(model, kind, row["question"], row["answer"], ctx))
        items.append({"question": row["question"], **verdicts})
    out: dict[str, Any] = {"judge": getattr(model, "name", "?"), "n": len(rows)}
    for kind in kinds:
        scores = [it[kind]["score"] for it in items if it[kind]["score"] is not None]
        out[f"{kind}_mean"] = sum(scores) / len(scores) if scores else None
        out[kind] = sum((s - 1) / 4 for s in scores) / len(scores) if scores else None
        out[f"{kind}_unreadable"] = len(items) - len(scores)
    out["items"] = items
    return out
