"""The student's tutor: grounded in the course, Socratic by default, and it remembers each student.

    turn = tutor_turn(course, "小明", "光在真空中的速度是多少？")
    turn["text"], turn["citations"], turn["hint_level"], turn["practice"]

Each student has one session per course (``edu-COURSE-STUDENT``, entity memory) in the home
database; the answer comes from `lingxi.ask` over the course's knowledge base, so every sentence
is verified against the material (or the tutor says it does not know, which the coverage gap
report picks up). In Socratic mode (the course setting `socratic`, on by default) the first
question on a point gets a guiding question built from the verified passage, a second attempt a
hint, the third the explanation. Math word problems are solved by program-aided reasoning in
the sandbox; under the "no complete homework answers" policy (setting `homework_policy`) the
tutor shows the method and leaves the last step to the student.
"""

from __future__ import annotations

import re
from typing import Any

from lingxi.apps.edu import extract as X
from lingxi.apps.edu.courses import Course, home_settings
from lingxi.apps.edu.mastery import next_practice
from lingxi.knowledge.text import terms

_MATH = re.compile(r"\d.*(?:多少|几|求|是多少|how many|how much)|(?:多少|几).*\d", re.I)
_TAG = re.compile(r"</?source[^>]*>")
_UNITS = re.compile(r"[米元个本千克斤吨天小时分钟岁人只条块页]")


def session_name(course: Course, student: str) -> str:
    return f"edu-{course.name}-{student}"


def is_word_problem(text: str) -> bool:
    return bool(_MATH.search(text)) and bool(re.search(r"\d", text)) and bool(_UNITS.search(text) or "(" in text)


def _level(course: Course, student: str, message: str) -> int:
    """1 + how many of the student's last turns asked about the same point (at most 3)."""
    if not course.settings.get("socratic", True):
        return 3
    from lingxi.memory import Session

    try:
        past = Session.open(session_name(course, student), kb=course.kb_name, memory="entity",
                            settings=home_settings()).messages(last=6)
    except Exception:  # noqa: BLE001 - a new student: no history
        past = []
    mine = set(terms(message))
    level = 1
    for m in reversed([m for m in past if m["role"] == "user"]):
        other = set(terms(m["content"]))
        if mine and len(mine & other) / max(1, len(mine | other)) >= 0.5:
            level += 1
        else:
            break
    return min(level, 3)


def _socratic(answer: Any, level: int) -> str:
    """A guiding question (1) or a hint (2) from the answer's first verified sentence."""
    first = next((s for s in answer.sentences if s.verdict == "supported"), None)
    if first is None:
        return answer.text
    text = " ".join(_TAG.sub(" ", first.text).split())  # small models copy the passages' <source n="1"> fences
    cite = answer.citations[0] if answer.citations else None
    where = f"（看看资料 [{cite.n}]：{cite.source.split('/')[-1]}）" if cite else ""
    key = X.key_of(text)
    if level == 1 and key and key in text:
        return f"我们一起想一想：你能补全这句话吗？“{text.replace(key, X.BLANK, 1)}”{where}"
    if key and key in text:
        return f"提示：答案和“{key[0]}…”有关。再读一读这句：“{text.replace(key, key[0] + '…', 1)}”{where}"
    return f"提示：{text}{where}"


def _math(course: Course, student: str, message: str, model: Any, level: int) -> dict[str, Any]:
    from lingxi.apps.edu.solve import solve

    s = solve(message, model)
    policy = course.settings.get("homework_policy", True)
    if s.answer is None:
        text = "这道题我没能算出来。试着先写出已知量和要求的量，再列式。"
    elif policy and level < 3:
        shown = "\n".join(f"{i}. {st}" for i, st in enumerate(_without_answer(s.steps, s.answer), start=1))
        text = f"我们按步骤来（最后一步请你自己完成）：\n{shown}\n最后一步算出答案是多少？"
    else:
        text = "解题步骤：\n" + "\n".join(f"{i}. {st}" for i, st in enumerate(s.steps, start=1)) + f"\n答案：{s.answer}"
    return {"text": text, "kind": "math", "solution": s.to_dict() if (not policy or level >= 3) else
            {"steps": _without_answer(s.steps, s.answer), "program": None, "answer": None}, "citations": [], "abstained": False}  # fmt: skip


def _without_answer(steps: list[str], answer: str | None) -> list[str]:
    """The steps up to, not including, any that shows the final value."""
    from lingxi.apps.edu.solve import same

    out = []
    for st in steps:
        if st.startswith("答案") or (answer is not None and same(st.split("=", 1)[-1].strip(), answer)):
            break
        out.append(st)
    return out


def _cite(c: Any, level: int) -> dict[str, Any]:
    """A citation; before the explanation (Socratic levels 1-2) without its quote, which holds the answer."""
    d = c.model_dump()
    if level < 3:
        d["quote"] = ""
    return d


def tutor_turn(course: Course, student: str, message: str, *, model: Any = None, mode: str = "auto") -> dict[str, Any]:
    """One tutoring turn for `student`; returns text, citations, hint level and practice suggestions.
    `mode` is `lingxi.ask`'s: auto (generate, fall back to extraction), generate or extractive (the
    verified passage sentences themselves, no model: what a model too small for Chinese should use)."""
    import lingxi

    model = model if model is not None else course.settings.get("model")
    level = _level(course, student, message)
    if is_word_problem(message):
        out = _math(course, student, message, model, level)
        from lingxi.memory import Session

        s = Session.open(session_name(course, student), kb=course.kb_name, memory="entity",
                         settings=home_settings())
        s.record(message, message, lingxi.Answer(question=message, text=out["text"], lang="zh"))
    else:
        answer = lingxi.ask(message, kb=course.kb(), model=model, session=session_name(course, student), mode=mode,
                            memory="entity", settings=home_settings())
        text = answer.text if answer.abstained or level >= 3 else _socratic(answer, level)
        out = {"text": text, "kind": "grounded", "answer": answer.text if level >= 3 else None, "abstained": answer.abstained,
               "citations": [_cite(c, level) for c in answer.citations], "mode": answer.mode}
    practice = next_practice(student, course)
    return {**out, "student": student, "course": course.name, "hint_level": level,
            "socratic": bool(course.settings.get("socratic", True)), "practice": practice}
