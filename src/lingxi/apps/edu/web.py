"""The web side: `/edu` (one page for the three roles) and JSON routes under `/v1/edu/`.

Registered as a server application (registry kind "app", see lingxi.plugins); the server
includes its router. Every route authenticates like the rest of the API and then checks the
key's role (`lingxi.apps.edu.roles`): a student key sees only its own courses, its own tutor
and its own mastery; coverage, plans, quizzes and grading need a teacher or admin key.

    GET  /v1/edu/me                               the caller's role, student and courses
    GET  /v1/edu/courses                          courses the caller may see
    GET  /v1/edu/courses/{c}                      one course: objectives, settings
    POST /v1/edu/courses/{c}/coverage             {} -> the coverage report (admin, teacher)
    GET  /v1/edu/courses/{c}/heatmap.png          the heatmap (admin, teacher)
    POST /v1/edu/courses/{c}/quiz                 {"topic", "n", "kinds", "level"} (admin, teacher)
    POST /v1/edu/courses/{c}/plan                 {"topic", "audience", "minutes", "section", "base"} (admin, teacher)
    POST /v1/edu/grade                            {"quiz", "answers", "student"} (admin, teacher)
    POST /v1/edu/courses/{c}/tutor                {"message", "student"} (a student: always themselves)
    GET  /v1/edu/courses/{c}/mastery?student=S    mastery per objective
    POST /v1/edu/solve                            {"problem"}
    POST /v1/edu/export                           {"kind": "quiz"|"plan", "data", "format": "md"|"docx"} -> the file
"""

from __future__ import annotations

import asyncio
import tempfile
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from lingxi.errors import LingxiError, StoreError

router = APIRouter()
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class QuizBody(_Body):
    topic: str | None = None
    n: int = Field(5, ge=1, le=50)
    kinds: list[str] = Field(default_factory=lambda: ["mc", "short", "truefalse"])
    level: str | None = Field(None, pattern="^(easy|medium|hard)$")


class PlanBody(_Body):
    topic: str = Field(min_length=1, max_length=200)
    audience: str = "初二学生"
    minutes: int = Field(45, ge=5, le=300)
    section: str | None = None
    base: dict[str, Any] | None = None


class TutorBody(_Body):
    message: str = Field(min_length=1, max_length=4000)
    student: str | None = None


class GradeBody(_Body):
    quiz: dict[str, Any]
    answers: dict[str, Any] | list[Any]
    student: str | None = None


class SolveBody(_Body):
    problem: str = Field(min_length=1, max_length=2000)


class ExportBody(_Body):
    kind: str = Field(pattern="^(quiz|plan)$")
    data: dict[str, Any]
    format: str = Field("md", pattern="^(md|docx)$")


def _api_error(status: int, message: str, code: str) -> Exception:
    from lingxi.serve.errors import ApiError

    return ApiError(status, message, code=code)


class Who:
    def __init__(self, role: str, student: str | None, courses: list[str] | None) -> None:
        self.role, self.student, self.courses = role, student, courses  # courses None: all

    def need(self, action: str) -> None:
        from lingxi.apps.edu.roles import ALLOWED

        if self.role not in ALLOWED[action]:
            raise _api_error(403, f"A {self.role} key may not use {action}; ask for a key with the role "
                             f"{' or '.join(sorted(ALLOWED[action]))} (lingxi edu key create NAME --role ROLE).", "forbidden_role")

    def course(self, name: str) -> Any:
        from lingxi.apps.edu.courses import open_course

        if self.courses is not None and name not in self.courses:
            raise _api_error(404, f"No course named '{name}' among yours.", "course_not_found")
        try:
            return open_course(name)
        except StoreError as exc:
            raise _api_error(404, exc.message, "course_not_found") from exc


def who(request: Request) -> Who:
    from lingxi.apps.edu.courses import student_courses
    from lingxi.apps.edu.roles import role_of

    caller = request.app.state.lingxi.authenticate(request)
    r = role_of(caller.key.id if caller.key else None)
    if r is None:
        raise _api_error(403, "This API key has no role for /edu; give it one: lingxi edu key grant ID --role teacher.",
                         "no_role")
    courses = None
    if r["role"] == "student":
        try:
            courses = student_courses(r["student"])
        except StoreError:
            courses = []
    return Who(r["role"], r["student"], courses)


async def _run(fn: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return await asyncio.to_thread(fn, *args, **kwargs)
    except LingxiError as exc:
        raise _api_error(400, exc.message + (f" ({exc.hint})" if exc.hint else ""), "edu_error") from exc


@lru_cache(maxsize=4)
def _asset(name: str) -> bytes:
    return (files("lingxi.apps.edu") / "static" / name).read_bytes()


@router.get("/edu", response_class=HTMLResponse, include_in_schema=False)
async def page() -> HTMLResponse:
    return HTMLResponse(_asset("edu.html").decode("utf-8"), headers={"Content-Security-Policy": CSP, "Cache-Control": "no-cache"})


@router.get("/edu/edu.js", include_in_schema=False)
async def script() -> Response:
    return Response(_asset("edu.js"), media_type="text/javascript; charset=utf-8",
                    headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"})


@router.get("/v1/edu/me")
async def me(w: Who = Depends(who)) -> dict[str, Any]:
    from lingxi.apps.edu.courses import list_courses

    names = [c["name"] for c in await asyncio.to_thread(list_courses)]
    return {"role": w.role, "student": w.student, "courses": names if w.courses is None else w.courses}


@router.get("/v1/edu/courses")
async def courses(w: Who = Depends(who)) -> dict[str, Any]:
    from lingxi.apps.edu.courses import list_courses

    rows = await asyncio.to_thread(list_courses)
    return {"data": [r for r in rows if w.courses is None or r["name"] in w.courses]}


@router.get("/v1/edu/courses/{name}")
async def course(name: str, w: Who = Depends(who)) -> dict[str, Any]:
    c = await asyncio.to_thread(w.course, name)
    d = await asyncio.to_thread(c.to_dict)
    if w.role == "student":
        d.pop("students", None)
    return d


@router.post("/v1/edu/courses/{name}/coverage")
async def coverage(name: str, w: Who = Depends(who)) -> dict[str, Any]:
    from lingxi.apps.edu.coverage import coverage as run

    w.need("coverage")
    c = await asyncio.to_thread(w.course, name)
    return (await _run(run, c)).to_dict()


@router.get("/v1/edu/courses/{name}/heatmap.png")
async def heatmap(name: str, w: Who = Depends(who)) -> Response:
    from lingxi.apps.edu.coverage import coverage as run
    from lingxi.apps.edu.report import write_report

    w.need("coverage")
    c = await asyncio.to_thread(w.course, name)
    report = await _run(run, c, gaps=False)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path((await asyncio.to_thread(write_report, report, tmp))["png"]).read_bytes()
    return Response(data, media_type="image/png")


@router.post("/v1/edu/courses/{name}/quiz")
async def quiz(name: str, body: QuizBody, w: Who = Depends(who)) -> dict[str, Any]:
    from lingxi.apps.edu.quiz import make_quiz

    w.need("quiz")
    c = await asyncio.to_thread(w.course, name)
    q = await _run(make_quiz, c, topic=body.topic, n=body.n, kinds=body.kinds, level=body.level)
    return q.to_dict()


@router.post("/v1/edu/courses/{name}/plan")
async def plan(name: str, body: PlanBody, w: Who = Depends(who)) -> dict[str, Any]:
    from lingxi.apps.edu.plan import make_plan

    w.need("plan")
    c = await asyncio.to_thread(w.course, name)
    return await _run(make_plan, c, body.topic, body.audience, body.minutes, section=body.section, base=body.base)


@router.post("/v1/edu/grade")
async def grade(body: GradeBody, w: Who = Depends(who)) -> dict[str, Any]:
    from lingxi.apps.edu.grade import grade as run

    w.need("grade")
    return await _run(run, body.quiz, body.answers, body.student)


@router.post("/v1/edu/courses/{name}/tutor")
async def tutor(name: str, body: TutorBody, w: Who = Depends(who)) -> dict[str, Any]:
    from lingxi.apps.edu.tutor import tutor_turn

    w.need("tutor")
    student = w.student if w.role == "student" else body.student
    if not student:
        raise _api_error(400, "Say which student is asking: give \"student\".", "missing_student")
    c = await asyncio.to_thread(w.course, name)
    return await _run(tutor_turn, c, student, body.message)


@router.get("/v1/edu/courses/{name}/mastery")
async def mastery(name: str, request: Request, student: str | None = None, w: Who = Depends(who)) -> dict[str, Any]:
    from lingxi.apps.edu.mastery import mastery as run
    from lingxi.apps.edu.mastery import next_practice

    w.need("mastery")
    if w.role == "student":
        if student not in (None, w.student):
            raise _api_error(403, "A student key sees only its own mastery.", "forbidden_role")
        student = w.student
    if not student:
        raise _api_error(400, "Say whose mastery: ?student=NAME.", "missing_student")
    c = await asyncio.to_thread(w.course, name)
    return {"student": student, "mastery": await _run(run, student, c), "practice": await _run(next_practice, student, c)}


@router.post("/v1/edu/solve")
async def solve(body: SolveBody, w: Who = Depends(who)) -> dict[str, Any]:
    from lingxi.apps.edu.solve import solve as run

    w.need("solve")
    return (await _run(run, body.problem)).to_dict()


@router.post("/v1/edu/export")
async def export(body: ExportBody, w: Who = Depends(who)) -> Response:
    from lingxi.apps.edu.export import write

    w.need("quiz" if body.kind == "quiz" else "plan")
    with tempfile.TemporaryDirectory() as tmp:
        path = await _run(write, body.kind, body.data, body.format, Path(tmp) / f"{body.kind}.{body.format}")
        data = path.read_bytes()
    media = ("application/vnd.openxmlformats-officedocument.wordprocessingml.document" if body.format == "docx"
             else "text/markdown; charset=utf-8")
    return Response(data, media_type=media, headers={"Content-Disposition": f'attachment; filename="{body.kind}.{body.format}"'})
