"""Mastery per student and objective (table edu_mastery): what each student finds hard."""

from __future__ import annotations

import time
from typing import Any

from lingxi.apps.edu.courses import Course, db, student_id


def record(student: str, course: Course, results: list[tuple[str | None, float]]) -> None:
    """Add graded answers: (objective id, credit 0..1) pairs; answers without an objective are skipped."""
    now = time.time()
    with db() as conn:
        sid = student_id(conn, student)
        for objective, credit in results:
            if not objective:
                continue
            conn.execute("INSERT INTO edu_mastery (student_id, course_id, objective, correct, attempts, updated_at) "
                         "VALUES (?,?,?,?,1,?) ON CONFLICT (student_id, course_id, objective) DO UPDATE SET "
                         "correct = correct + excluded.correct, attempts = attempts + 1, updated_at = excluded.updated_at",
                         (sid, course.id, objective, float(credit), now))  # fmt: skip


def mastery(student: str, course: Course) -> list[dict[str, Any]]:
    """Every objective of the course with the student's share right (None: never practised)."""
    with db() as conn:
        sid = student_id(conn, student)
        rows = {r["objective"]: r for r in conn.execute(
            "SELECT objective, correct, attempts FROM edu_mastery WHERE student_id = ? AND course_id = ?", (sid, course.id))}
    out = []
    for o in course.objectives:
        r = rows.get(o.id)
        out.append({"id": o.id, "objective": o.objective, "attempts": r["attempts"] if r else 0,
                    "mastery": round(r["correct"] / r["attempts"], 3) if r and r["attempts"] else None})
    return out


def next_practice(student: str, course: Course, n: int = 2) -> list[dict[str, Any]]:
    """What to practise next: the weakest objectives tried, then ones never tried."""
    rows = mastery(student, course)
    tried = sorted((r for r in rows if r["mastery"] is not None and r["mastery"] < 0.8), key=lambda r: r["mastery"])
    fresh = [r for r in rows if r["mastery"] is None]
    return (tried + fresh)[:n]
