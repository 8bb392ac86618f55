"""Quizzes with a reviewer: one model writes the questions, the reviewer checks them against the material.

    quiz = make_quiz(course, topic="光的反射", n=10, kinds=["mc", "short", "truefalse"], level="easy")
    quiz.questions[0]["source"], quiz.questions[0]["review"]

For each slot the generator picks a passage of the course (the best one for each objective, or
for the topic), and asks the model for one question as JSON under a schema, through the funnel.
The reviewer (`lingxi.apps.edu.review`) checks it; a failure goes back to the model with the
reviewer's reasons (`retries` times), and then to the extraction-based builder
(`lingxi.apps.edu.extract`), whose questions are reviewed too. What no attempt can make pass
is dropped. With the tiny default model most accepted questions come from extraction; a
stronger model (`--model qwen2.5-1.5b`, or any endpoint) writes its own.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from lingxi.apps.edu import evidence as E
from lingxi.apps.edu import extract as X
from lingxi.apps.edu.courses import Course
from lingxi.apps.edu.review import review
from lingxi.errors import ConfigError, LingxiError
from lingxi.rag import Source
from lingxi.types import Message, SamplingParams

KINDS = ("mc", "short", "truefalse")
SCHEMA = {
    "type": "object",
    "properties": {
        "question": {"type": "string", "minLength": 4},
        "options": {"type": "array", "items": {"type": "string"}, "maxItems": 6},
        "answer": {"type": "string", "minLength": 1},
        "explanation": {"type": "string"},
    },
    "required": ["question", "answer", "explanation"],
}
KIND_ZH = {"mc": "单项选择题（给出 4 个选项，answer 是正确选项的原文）", "short": "简答题（答案是资料中的一个短语）",
           "truefalse": "判断题（question 是一个陈述，answer 是 正确 或 错误）"}
SYSTEM = ("你是一名中学教师，根据给定的资料出一道题。题目和答案必须完全来自资料；explanation 用资料中的原句说明答案。"
          "只输出 JSON。")


@dataclass
class Quiz:
    course: str
    questions: list[dict[str, Any]] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"course": self.course, "questions": self.questions, "stats": self.stats}


def _slots(course: Course, topic: str | None, n: int) -> list[tuple[Source, str | None]]:
    """(passage, objective id) pairs to write questions about, spread over the course."""
    kb = course.kb()
    if topic:
        found = E.passages(kb, topic, k=max(4, n))
        return [(s, _objective_for(course, s)) for s in found]
    out = []
    for o in course.objectives:
        for s in E.passages(kb, o.objective, k=1):
            out.append((s, o.id))
    return out or [(s, None) for s in E.passages(kb, course.name, k=max(4, n))]


def _objective_for(course: Course, s: Source) -> str | None:
    from lingxi.knowledge.text import terms

    have = set(terms(s.text))
    best = max(course.objectives, key=lambda o: len(set(terms(o.objective)) & have), default=None)
    return best.id if best else None


def _sentences(src: Source) -> list[str]:
    return [x for x in E.sentences_of(src.text) if len(x) >= 12 and not x.startswith("#")]


def _ask_model(chat: Any, src: Source, sentence: str, kind: str, level: str | None, feedback: list[str]) -> dict | None:
    user = (f"资料：\n{' '.join(src.text.split())}\n\n请围绕这句话出题：{sentence}\n题型：{KIND_ZH[kind]}\n"
            f"难度：{level or 'medium'}\n")
    if feedback:
        user += "上一道题被审核退回，原因：" + "；".join(feedback) + "。请重新出题。\n"
    params = SamplingParams(temperature=0.3, max_tokens=320,
                            response_format={"type": "json_schema", "json_schema": {"name": "question", "schema": SCHEMA}})
    try:
        text = chat.chat([Message(role="system", content=SYSTEM), Message(role="user", content=user)], params).text
        data = json.loads(text)
    except (LingxiError, ValueError):
        return None
    if not isinstance(data, dict) or not data.get("question") or not data.get("answer"):
        return None
    options = [str(o) for o in data.get("options") or []] if kind == "mc" else (["正确", "错误"] if kind == "truefalse" else [])
    answer = str(data["answer"]).strip()
    if kind == "mc":
        from lingxi.apps.edu.review import _letter

        answer = _letter(answer, options) or answer  # "B" -> the option's text
    return {"kind": kind, "question": str(data["question"]), "options": options, "answer": answer,
            "explanation": str(data.get("explanation") or "")}


def make_quiz(
    course: Course, *, topic: str | None = None, n: int = 10, kinds: Sequence[str] = KINDS, level: str | None = None,
    model: Any = None, retries: int = 1, use_model: bool = True,
) -> Quiz:  # fmt: skip
    """Generate and review `n` questions (fewer when the material runs out)."""
    bad = [k for k in kinds if k not in KINDS]
    if bad or not kinds:
        raise ConfigError(f"Unknown question kind(s): {', '.join(bad) or 'none given'}.", "use mc, short and/or truefalse")
    chat = None
    if use_model:
        from lingxi.models.funnel import open_chat

        chat = open_chat(model if model is not None else course.settings.get("model"))
    kb = course.kb()
    pool = X.pool_of([x for s in E.passages(kb, topic or " ".join(o.objective for o in course.objectives[:6]) or course.name, k=12)
                      for x in _sentences(s)])  # fmt: skip
    quiz, stats = Quiz(course.name), {"generated": 0, "rejected": 0, "regenerated": 0, "fallback": 0, "dropped": 0}
    started = time.perf_counter()
    slots = [(s, o, sent) for s, o in _slots(course, topic, n) for sent in _sentences(s)]
    # one sentence per passage first, then the second ones, ...: questions spread over the material
    order = sorted(range(len(slots)), key=lambda i: (sum(1 for j in range(i) if slots[j][0].chunk_id == slots[i][0].chunk_id), i))
    used: set[str] = set()
    for i in order:
        if len(quiz.questions) >= n:
            break
        src, objective, sentence = slots[i]
        if sentence in used:
            continue
        used.add(sentence)
        kind = kinds[len(quiz.questions) % len(kinds)]
        q = _one(chat, kb, src, sentence, kind, level, pool, quiz.questions, retries, stats)
        if q is None:
            stats["dropped"] += 1
            continue
        q.update(id=f"q{len(quiz.questions) + 1}", objective=objective, level=level or q["review"]["level"],
                 source=E.citation(src, q["explanation"] or sentence))
        quiz.questions.append(q)
    spent = time.perf_counter() - started
    stats.update(accepted=len(quiz.questions), seconds=round(spent, 3),
                 seconds_per_accepted=round(spent / len(quiz.questions), 3) if quiz.questions else None)
    quiz.stats = stats
    return quiz


def _one(chat: Any, kb: Any, src: Source, sentence: str, kind: str, level: str | None, pool: list[str],
         accepted: list[dict[str, Any]], retries: int, stats: dict[str, Any]) -> dict[str, Any] | None:  # fmt: skip
    """One reviewed question: the model's (regenerated on rejection), else an extracted one."""
    feedback: list[str] = []
    attempts = []
    for attempt in range(retries + 1 if chat is not None else 0):
        q = _ask_model(chat, src, sentence, kind, level, feedback)
        stats["generated"] += 1
        if attempt:
            stats["regenerated"] += 1
        if q is None:
            feedback = ["回复不是符合格式的 JSON"]
            attempts.append({"problems": feedback})
            stats["rejected"] += 1
            continue
        verdict = review(q, src, kb, accepted=accepted, level=level)
        if verdict["ok"]:
            return {**q, "origin": "model", "review": {**verdict, "attempts": attempts}}
        stats["rejected"] += 1
        attempts.append({"question": q["question"], "problems": verdict["problems"]})
        feedback = verdict["problems"]
    q = X.build(kind, sentence, pool)
    if q is None:
        return None
    verdict = review(q, src, kb, accepted=accepted, level=level)
    if not verdict["ok"]:
        return None
    stats["fallback"] += 1
    return {**q, "origin": "extractive", "review": {**verdict, "attempts": attempts}}
