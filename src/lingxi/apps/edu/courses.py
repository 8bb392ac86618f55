"""Courses, students and classes, kept in the home database (tables edu_*).

A course is a knowledge base (named ``edu-COURSE``) plus a syllabus of learning objectives and
its settings (Socratic tutoring, the homework policy, the model to use).

    course = create_course("light", "lessons/", "syllabus.csv")
    add_student("小明", course="light", class_name="初二(3)班")
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lingxi.apps.edu.syllabus import Objective, read_syllabus
from lingxi.db import connect
from lingxi.errors import ConfigError, StoreError

_NAME = re.compile(r"^[\w][\w.-]{0,56}$")
DEFAULTS: dict[str, Any] = {"socratic": True, "homework_policy": True, "model": None, "embedding": "e5"}
# the settings whose home holds the courses: None (the environment's home), or a running server's (see `home`)
_home: ContextVar[Any] = ContextVar("lingxi_edu_home", default=None)


@contextmanager
def home(settings: Any) -> Iterator[None]:
    """Courses, students, roles and knowledge bases read inside the block come from `settings`' home
    (the server runs each /v1/edu/ request in its own settings this way)."""
    token = _home.set(settings)
    try:
        yield
    finally:
        _home.reset(token)


def home_settings() -> Any:
    """The settings of the home in use (None: the environment's)."""
    return _home.get()


@dataclass
class Course:
    name: str
    kb_name: str
    materials: str | None
    settings: dict[str, Any]
    objectives: list[Objective] = field(default_factory=list)
    id: int = 0
    _kb: Any = field(default=None, repr=False)

    def kb(self) -> Any:
        """The course's KnowledgeBase (opened once)."""
        if self._kb is None:
            from lingxi import KnowledgeBase

            self._kb = KnowledgeBase.open(self.kb_name, settings=_home.get())
        return self._kb

    def students(self) -> list[dict[str, Any]]:
        with _db() as conn:
            rows = conn.execute("SELECT s.name, e.class_name FROM edu_enrolments e JOIN edu_students s ON s.id = e.student_id "
                                "WHERE e.course_id = ? ORDER BY s.name", (self.id,)).fetchall()  # fmt: skip
        return [{"name": r["name"], "class": r["class_name"]} for r in rows]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kb": self.kb_name, "materials": self.materials, "settings": self.settings,
                "objectives": [o.to_dict() for o in self.objectives], "students": self.students()}  # fmt: skip


class _db:
    """A short-lived connection to the home database (closed on exit)."""

    def __enter__(self) -> sqlite3.Connection:
        self.conn = connect(_home.get())
        return self.conn

    def __exit__(self, *exc: Any) -> None:
        self.conn.close()


def db() -> _db:
    return _db()


def _check(name: str, what: str = "course") -> str:
    if not _NAME.match(name or ""):
        raise ConfigError(f"'{name}' is not a valid {what} name.", "use letters (Chinese too), digits, '-', '_' or '.'")
    return name


def create_course(
    name: str, materials: str | Path, syllabus: str | Path | Sequence[Objective] | None = None, *,
    embedding: Any = "e5", settings: dict[str, Any] | None = None, progress: Any = None,
) -> Course:  # fmt: skip
    """Create the course `name`: ingest `materials` (a folder or file) into a new knowledge base
    and store the syllabus (a CSV / text path or a list of Objectives)."""
    from lingxi import KnowledgeBase

    _check(name)
    src = Path(materials).expanduser()
    if not src.exists():
        raise ConfigError(f"The materials folder {src} does not exist.", "give the folder of the course's lessons")
    objectives = list(syllabus) if isinstance(syllabus, Sequence) and not isinstance(syllabus, str) else (
        read_syllabus(syllabus) if syllabus else [])  # fmt: skip
    with db() as conn:
        if conn.execute("SELECT 1 FROM edu_courses WHERE name = ?", (name,)).fetchone():
            raise StoreError(f"A course named '{name}' already exists.", f"use it, or remove it: lingxi edu course rm {name}")
    conf = {**DEFAULTS, **(settings or {}), "embedding": embedding if isinstance(embedding, str) else "custom"}
    kb = KnowledgeBase.create(f"edu-{name}", embedding=embedding, exist_ok=True, settings=_home.get())
    kb.ingest(src, progress=progress)
    with db() as conn:
        conn.execute("BEGIN")
        cur = conn.execute("INSERT INTO edu_courses (name, kb, materials, settings, created_at) VALUES (?,?,?,?,?)",
                           (name, kb.name, str(src.resolve()), json.dumps(conf, ensure_ascii=False), time.time()))
        _save_objectives(conn, int(cur.lastrowid), objectives)
        conn.execute("COMMIT")
    course = open_course(name)
    course._kb = kb
    return course


def _save_objectives(conn: sqlite3.Connection, course_id: int, objectives: Sequence[Objective]) -> None:
    conn.execute("DELETE FROM edu_objectives WHERE course_id = ?", (course_id,))
    conn.executemany("INSERT INTO edu_objectives (course_id, code, objective, grade, subject, position) VALUES (?,?,?,?,?,?)",
                     [(course_id, o.id, o.objective, o.grade, o.subject, i) for i, o in enumerate(objectives)])  # fmt: skip


def open_course(name: str) -> Course:
    with db() as conn:
        row = conn.execute("SELECT * FROM edu_courses WHERE name = ?", (name,)).fetchone()
        if row is None:
            known = ", ".join(r["name"] for r in conn.execute("SELECT name FROM edu_courses ORDER BY name")) or "none yet"
            raise StoreError(f"No course named '{name}'.", f"create it with: lingxi edu course create {name} --materials DIR (known: {known})")
        objs = conn.execute("SELECT * FROM edu_objectives WHERE course_id = ? ORDER BY position", (row["id"],)).fetchall()
    return Course(row["name"], row["kb"], row["materials"], {**DEFAULTS, **json.loads(row["settings"])},
                  [Objective(o["code"], o["objective"], o["grade"] or "", o["subject"] or "") for o in objs], int(row["id"]))


def list_courses() -> list[dict[str, Any]]:
    with db() as conn:
        rows = conn.execute("SELECT c.name, c.kb, (SELECT count(*) FROM edu_objectives o WHERE o.course_id = c.id) AS objectives, "
                            "(SELECT count(*) FROM edu_enrolments e WHERE e.course_id = c.id) AS students "
                            "FROM edu_courses c ORDER BY c.name").fetchall()  # fmt: skip
    return [dict(r) for r in rows]


def remove_course(name: str) -> None:
    """Remove the course, its knowledge base, objectives, enrolments and mastery records."""
    from lingxi import KnowledgeBase

    course = open_course(name)
    with db() as conn:
        conn.execute("DELETE FROM edu_courses WHERE id = ?", (course.id,))
    if course.kb_name in KnowledgeBase.names():
        KnowledgeBase.remove(course.kb_name)


def set_setting(name: str, key: str, value: Any) -> Course:
    if key not in DEFAULTS:
        raise ConfigError(f"Unknown course setting '{key}'.", f"use one of: {', '.join(DEFAULTS)}")
    course = open_course(name)
    course.settings[key] = value
    with db() as conn:
        conn.execute("UPDATE edu_courses SET settings = ? WHERE id = ?", (json.dumps(course.settings, ensure_ascii=False), course.id))
    return course


def student_id(conn: sqlite3.Connection, name: str, create: bool = False) -> int:
    row = conn.execute("SELECT id FROM edu_students WHERE name = ?", (name,)).fetchone()
    if row:
        return int(row["id"])
    if not create:
        raise StoreError(f"No student named '{name}'.", f"add them: lingxi edu student add {name} --course COURSE")
    return int(conn.execute("INSERT INTO edu_students (name, created_at) VALUES (?, ?)", (_check(name, "student"), time.time())).lastrowid)


def add_student(name: str, course: str | None = None, class_name: str | None = None) -> dict[str, Any]:
    """Add a student (if new) and enrol them in `course` (in class `class_name`)."""
    c = open_course(course) if course else None
    with db() as conn:
        sid = student_id(conn, name, create=True)
        if c is not None:
            conn.execute("INSERT INTO edu_enrolments (course_id, student_id, class_name) VALUES (?,?,?) "
                         "ON CONFLICT (course_id, student_id) DO UPDATE SET class_name = excluded.class_name",
                         (c.id, sid, class_name))  # fmt: skip
    return {"name": name, "id": sid, "course": course, "class": class_name}


def list_students(course: str | None = None) -> list[dict[str, Any]]:
    with db() as conn:
        rows = conn.execute(
            "SELECT s.name, group_concat(c.name, ',') AS courses, group_concat(coalesce(e.class_name, ''), ',') AS classes "
            "FROM edu_students s LEFT JOIN edu_enrolments e ON e.student_id = s.id LEFT JOIN edu_courses c ON c.id = e.course_id "
            "GROUP BY s.id ORDER BY s.name").fetchall()  # fmt: skip
    out = [{"name": r["name"], "courses": [x for x in (r["courses"] or "").split(",") if x]} for r in rows]
    return [s for s in out if course is None or course in s["courses"]]


def student_courses(name: str) -> list[str]:
    with db() as conn:
        sid = student_id(conn, name)
        return [r["name"] for r in conn.execute("SELECT c.name FROM edu_enrolments e JOIN edu_courses c ON c.id = e.course_id "
                                                "WHERE e.student_id = ? ORDER BY c.name", (sid,))]  # fmt: skip
