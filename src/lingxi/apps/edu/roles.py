"""Roles for the server's API keys: admin, teacher or student (a student key names its student).

    info, key = create_role_key("小明的平板", "student", student="小明")
    role_of(key_id)        # {"role": "student", "student": "小明"}

What each role may do in /edu and /v1/edu/: admin everything (coverage, courses); teacher plans,
quizzes, grading and coverage; student the tutor, solving and their own mastery, on their own
courses only. A server run with --no-auth treats its local user as admin.
"""

from __future__ import annotations

from typing import Any

from lingxi.apps.edu.courses import db, student_id
from lingxi.errors import ConfigError

ROLES = ("admin", "teacher", "student")
ALLOWED = {
    "courses": {"admin", "teacher", "student"}, "coverage": {"admin", "teacher"}, "plan": {"admin", "teacher"},
    "quiz": {"admin", "teacher"}, "grade": {"admin", "teacher"}, "tutor": {"student", "admin", "teacher"},
    "solve": {"student", "admin", "teacher"}, "mastery": {"student", "admin", "teacher"},
}  # fmt: skip


def grant(key_id: int, role: str, student: str | None = None) -> dict[str, Any]:
    if role not in ROLES:
        raise ConfigError(f"Unknown role '{role}'.", f"use one of: {', '.join(ROLES)}")
    if role == "student" and not student:
        raise ConfigError("A student key must name its student.", "add --student NAME")
    with db() as conn:
        sid = student_id(conn, student) if student else None
        conn.execute("INSERT INTO edu_roles (key_id, role, student_id) VALUES (?,?,?) ON CONFLICT (key_id) "
                     "DO UPDATE SET role = excluded.role, student_id = excluded.student_id", (key_id, role, sid))  # fmt: skip
    return {"key_id": key_id, "role": role, "student": student}


def create_role_key(name: str, role: str, student: str | None = None) -> tuple[dict[str, Any], str]:
    """A new API key carrying `role`; returns its record and the key (shown only once)."""
    from lingxi.serve.keys import create_key

    if role not in ROLES:
        raise ConfigError(f"Unknown role '{role}'.", f"use one of: {', '.join(ROLES)}")
    with db() as conn:
        if student:
            student_id(conn, student)  # an unknown student fails before a key is made
        info, key = create_key(conn, name)
    return {"id": info.id, "name": info.name, "prefix": info.prefix, **grant(info.id, role, student)}, key


def role_of(key_id: int | None) -> dict[str, Any] | None:
    """The role of an API key (None: the local user, an admin); None when the key has no role."""
    if key_id is None:
        return {"role": "admin", "student": None}
    with db() as conn:
        row = conn.execute("SELECT r.role, s.name FROM edu_roles r LEFT JOIN edu_students s ON s.id = r.student_id "
                           "WHERE r.key_id = ?", (key_id,)).fetchone()  # fmt: skip
    return {"role": row["role"], "student": row["name"]} if row else None
