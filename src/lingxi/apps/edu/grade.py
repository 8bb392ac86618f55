"""Grading: exact for multiple choice and true/false, the RAG verifier for short answers.

    result = grade(quiz_dict, {"q1": "B", "q2": "漫反射"}, student="小明")
    result["score"], result["answers"][0]["feedback"]

Each answer gets feedback naming the passage to re-read; the student's mastery per objective
is updated (table edu_mastery).
"""

from __future__ import annotations

from typing import Any

from lingxi.apps.edu import evidence as E
from lingxi.apps.edu.courses import open_course
from lingxi.apps.edu.review import _letter, norm, stem, truth
from lingxi.errors import ConfigError
from lingxi.knowledge.text import terms
from lingxi.rag import Source


def answers_of(data: Any) -> dict[str, str]:
    """{"q1": "B", ...}, {"answers": {...}} or [{"id": "q1", "answer": "B"}, ...] as one mapping."""
    if isinstance(data, dict) and "answers" in data:
        data = data["answers"]
    if isinstance(data, list):
        try:
            return {str(a["id"]): str(a.get("answer", "")) for a in data}
        except (KeyError, TypeError) as exc:
            raise ConfigError("Each answer needs an id and an answer.", 'e.g. [{"id": "q1", "answer": "B"}]') from exc
    if isinstance(data, dict):
        return {str(k): str(v) for k, v in data.items()}
    raise ConfigError("The answers are not a JSON object or list.", 'give {"q1": "B", "q2": "漫反射"}')


def _short(q: dict[str, Any], given: str, kb: Any) -> tuple[float, str]:
    key, g = norm(q["answer"]), norm(given)
    if not g:
        return 0.0, "no answer"
    if key and (key == g or key in g):
        return 1.0, "matches the key"
    want, have = set(terms(str(q["answer"]))), set(terms(given))
    overlap = len(want & have) / max(1, len(want))
    src = q.get("source") or {}
    passage = Source(n=1, chunk_id=src.get("chunk_id") or "", source=src.get("file") or "", text=src.get("quote") or "")
    statement = stem(str(q["question"])).replace("____", given)
    ok, _ = E.supported(statement, [passage], None) if passage.text else (False, None)
    if ok and overlap >= 0.5:
        return 1.0, "the passage supports the answer"
    return (0.5, "partly right") if overlap >= 0.5 else (0.0, "not what the passage says")


def _one(q: dict[str, Any], given: str | None, kb: Any) -> dict[str, Any]:
    given = (given or "").strip()
    if q["kind"] == "mc":
        chosen = _letter(given, q.get("options") or []) or given
        credit, how = (1.0, "right option") if norm(chosen) == norm(q["answer"]) else (0.0, "wrong option")
    elif q["kind"] == "truefalse":
        credit = 1.0 if truth(given) is not None and truth(given) == truth(q["answer"]) else 0.0
        how = "right" if credit else "wrong"
    else:
        credit, how = _short(q, given, kb)
    src = q.get("source") or {}
    where = src.get("file", "") + (f" § {src['heading']}" if src.get("heading") else "")
    feedback = ("正确！" if credit == 1 else "部分正确。" if credit else "不对。") + (
        "" if credit == 1 else f"正确答案：{q['answer']}。请重读 {where}：“{src.get('quote', '')}”")
    return {"id": q.get("id"), "kind": q["kind"], "given": given, "answer": q["answer"], "credit": credit,
            "how": how, "feedback": feedback, "objective": q.get("objective"), "reread": src}


def grade(quiz: dict[str, Any], answers: Any, student: str | None = None, course: str | None = None) -> dict[str, Any]:
    """Grade `answers` against `quiz` (as `make_quiz(...).to_dict()` writes it); with `student`,
    record the result and update their mastery."""
    questions = quiz.get("questions") if isinstance(quiz, dict) else None
    if not questions:
        raise ConfigError("The quiz has no questions.", "give the JSON that lingxi edu quiz --json (or --out) wrote")
    given = answers_of(answers)
    rows = [_one(q, given.get(str(q.get("id"))), None) for q in questions]
    score = sum(r["credit"] for r in rows)
    out = {"student": student, "course": course or quiz.get("course"), "score": score, "total": len(rows),
           "percent": round(100 * score / len(rows), 1), "answers": rows}
    if student and out["course"]:
        _save(student, out)
    return out


def _save(student: str, result: dict[str, Any]) -> None:
    import json
    import time

    from lingxi.apps.edu import mastery
    from lingxi.apps.edu.courses import db, student_id

    c = open_course(result["course"])
    mastery.record(student, c, [(r["objective"], r["credit"]) for r in result["answers"]])
    with db() as conn:
        conn.execute("INSERT INTO edu_results (student_id, course_id, ts, score, total, details) VALUES (?,?,?,?,?,?)",
                     (student_id(conn, student), c.id, time.time(), result["score"], result["total"],
                      json.dumps(result["answers"], ensure_ascii=False)))  # fmt: skip
    result["mastery"] = mastery.mastery(student, c)
