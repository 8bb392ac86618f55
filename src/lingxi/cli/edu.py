"""`lingxi edu …`: the education application — courses, coverage, quizzes, grading, plans, the tutor.

    lingxi edu course create light --materials lessons/ --syllabus syllabus.csv
    lingxi edu coverage light --out reports/
    lingxi edu quiz light --n 10 --kinds mc,short,truefalse --out quiz.json
    lingxi edu tutor light --student 小明
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from lingxi.cli.common import JsonOpt, ModelOpt, out, print_json
from lingxi.errors import ConfigError

app = typer.Typer(help="灵犀 for schools: coverage for administrators, plans and reviewed quizzes for teachers, "
                  "a grounded tutor for students.", no_args_is_help=True)  # fmt: skip
course_app = typer.Typer(help="Courses: a knowledge base of materials plus a syllabus.", no_args_is_help=True)
student_app = typer.Typer(help="Students and classes.", no_args_is_help=True)
key_app = typer.Typer(help="API keys that carry a role (admin, teacher, student) for /edu and /v1/edu.", no_args_is_help=True)
app.add_typer(course_app, name="course")
app.add_typer(student_app, name="student")
app.add_typer(key_app, name="key")

CourseArg = Annotated[str, typer.Argument(help="The course name.")]
StudentOpt = Annotated[str, typer.Option("--student", "-s", help="The student's name.")]


def _course(name: str) -> Any:
    from lingxi.apps.edu.courses import open_course

    return open_course(name)


def _show(doc: Any, as_json: bool, text: str) -> None:
    if as_json:
        print_json(doc)
    else:
        out.print(text, markup=False)


@course_app.command("create")
def course_create(
    name: CourseArg,
    materials: Annotated[Path, typer.Option("--materials", help="Folder (or file) of the course's lessons.")],
    syllabus: Annotated[Path | None, typer.Option("--syllabus", help="Objectives: CSV (id,objective,grade,subject) or one per line.")] = None,
    socratic: Annotated[bool, typer.Option("--socratic/--no-socratic", help="The tutor asks and hints before it explains.")] = True,
    as_json: JsonOpt = False,
) -> None:
    """Create a course: ingest the materials into a knowledge base and store the syllabus."""
    from lingxi.apps.edu.courses import create_course

    c = create_course(name, materials, syllabus, settings={"socratic": socratic})
    info = c.kb().info()
    _show({**c.to_dict(), "chunks": info["chunks"], "sources": info["sources"]}, as_json,
          f"Created course '{name}': {info['sources']} file(s), {info['chunks']} passages, {len(c.objectives)} objectives.")


@course_app.command("list")
def course_list(as_json: JsonOpt = False) -> None:
    """List courses."""
    from lingxi.apps.edu.courses import list_courses

    rows = list_courses()
    _show(rows, as_json, "\n".join(f"{r['name']}\t{r['objectives']} objectives\t{r['students']} students" for r in rows)
          or "No courses yet: lingxi edu course create NAME --materials DIR")


@course_app.command("show")
def course_show(name: CourseArg, as_json: JsonOpt = False) -> None:
    """A course's settings, syllabus and students."""
    c = _course(name)
    d = c.to_dict()
    lines = [f"{c.name} (knowledge base {c.kb_name}; materials {c.materials})", f"settings: {json.dumps(c.settings, ensure_ascii=False)}"]
    lines += [f"  {o.id}\t{o.objective}" for o in c.objectives]
    lines += [f"student: {s['name']}" + (f" ({s['class']})" if s["class"] else "") for s in d["students"]]
    _show(d, as_json, "\n".join(lines))


@course_app.command("rm")
def course_rm(name: CourseArg, yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
              as_json: JsonOpt = False) -> None:
    """Remove a course with its knowledge base, enrolments and mastery records."""
    from lingxi.apps.edu.courses import remove_course

    _course(name)
    if not yes:
        if as_json:
            raise ConfigError("Removing a course with --json needs --yes (there is no prompt to answer).",
                              f"lingxi edu course rm {name} --yes --json")
        typer.confirm(f"Remove the course '{name}' and its knowledge base?", abort=True)
    remove_course(name)
    _show({"removed": name}, as_json, f"Removed course '{name}'.")


@course_app.command("set")
def course_set(name: CourseArg, key: Annotated[str, typer.Argument(help="socratic, homework_policy or model.")],
               value: Annotated[str, typer.Argument(help="true/false, or a model name.")], as_json: JsonOpt = False) -> None:
    """Change a course setting (e.g. lingxi edu course set light socratic false)."""
    from lingxi.apps.edu.courses import set_setting

    parsed: Any = {"true": True, "false": False, "on": True, "off": False, "none": None}.get(value.lower(), value)
    c = set_setting(name, key, parsed)
    _show({"course": name, "settings": c.settings}, as_json, f"{name}: {key} = {json.dumps(c.settings[key], ensure_ascii=False)}")


@student_app.command("add")
def student_add(name: Annotated[str, typer.Argument(help="The student's name.")],
                course: Annotated[str | None, typer.Option("--course", "-c", help="Enrol in this course.")] = None,
                class_name: Annotated[str | None, typer.Option("--class", help="The class, e.g. 初二(3)班.")] = None,
                as_json: JsonOpt = False) -> None:  # fmt: skip
    """Add a student and enrol them in a course."""
    from lingxi.apps.edu.courses import add_student

    d = add_student(name, course, class_name)
    _show(d, as_json, f"Added {name}" + (f" to {course}" if course else "") + (f" ({class_name})" if class_name else "") + ".")


@student_app.command("list")
def student_list(course: Annotated[str | None, typer.Option("--course", "-c", help="Only this course.")] = None,
                 as_json: JsonOpt = False) -> None:
    """List students and their courses."""
    from lingxi.apps.edu.courses import list_students

    rows = list_students(course)
    _show(rows, as_json, "\n".join(f"{r['name']}\t{', '.join(r['courses'])}" for r in rows) or "No students yet.")


@student_app.command("show")
def student_show(name: Annotated[str, typer.Argument(help="The student's name.")],
                 course: Annotated[str, typer.Option("--course", "-c", help="The course.")], as_json: JsonOpt = False) -> None:
    """A student's mastery per objective and what to practise next."""
    from lingxi.apps.edu.mastery import mastery, next_practice

    c = _course(course)
    rows, nxt = mastery(name, c), next_practice(name, c)
    lines = [f"{r['id']}\t{_pct(r['mastery'])}\t{r['objective']}" for r in rows]
    _show({"student": name, "course": course, "mastery": rows, "practice": nxt}, as_json,
          "\n".join(lines + ["practise next: " + ", ".join(r["id"] for r in nxt)]))


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x:.0%}"


@key_app.command("create")
def key_create(name: Annotated[str, typer.Argument(help="What the key is for.")],
               role: Annotated[str, typer.Option("--role", help="admin, teacher or student.")],
               student: Annotated[str | None, typer.Option("--student", help="The student a student key belongs to.")] = None,
               as_json: JsonOpt = False) -> None:  # fmt: skip
    """Create an API key with a role and print it once (--json: {"id", "name", "prefix", "role", "student", "key"})."""
    from lingxi.apps.edu.roles import create_role_key

    info, key = create_role_key(name, role, student)
    if as_json:
        print_json({**info, "key": key})
        return
    typer.echo(key)
    typer.echo(f"Created {role} key {info['id']} '{name}'. Copy it now: it is not shown again.", err=True)


@key_app.command("grant")
def key_grant(key_id: Annotated[int, typer.Argument(help="The key's id (lingxi keys list).")],
              role: Annotated[str, typer.Option("--role", help="admin, teacher or student.")],
              student: Annotated[str | None, typer.Option("--student", help="For a student key.")] = None,
              as_json: JsonOpt = False) -> None:  # fmt: skip
    """Give an existing API key a role."""
    from lingxi.apps.edu.roles import grant

    d = grant(key_id, role, student)
    _show(d, as_json, f"Key {key_id} is now {d['role']}" + (f" for {student}" if student else "") + ".")


from lingxi.cli import edu_roles  # noqa: E402  (the role commands register themselves on `app`)

__all__ = ["app", "edu_roles"]
