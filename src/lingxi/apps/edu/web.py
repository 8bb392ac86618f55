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

Each route works in the running server's settings (its home: courses, keys, knowledge bases) and
its models: an action that generates takes the course's model, else the server's default, from
the server's pool (`lingxi.serve.pool`), waits in that model's queue like a chat request, and runs
on a budget (`lingxi.apps.edu.budget`): at most the server's default_max_tokens per model call
and TIMEOUT_S in all, after which the request gets a 504 saying to ask for less.
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

from lingxi.errors import LingxiError, ModelError, StoreError

router = APIRouter()
TIMEOUT_S = 25.0  # one /v1/edu/ action, model calls included (clients commonly give up at 30 s)
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
    def __init__(self, role: str, student: str | None, courses: list[str] | None, srv: Any = None,
                 caller: Any = None) -> None:
        self.role, self.student, self.courses = role, student, courses  # courses None: all
        self.srv, self.caller = srv, caller  # the running server (lingxi.serve.state.Server) and its caller

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
            with self.home():
                return open_course(name)
        except StoreError as exc:
            raise _api_error(404, exc.message, "course_not_found") from exc

    def home(self) -> Any:
        from lingxi.apps.edu.courses import home

        return home(self.srv.settings if self.srv is not None else None)

    async def run(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """`fn(*args, **kwargs)` in a worker thread, in the server's home; lingxi errors become 400s."""
        def work() -> Any:
            with self.home():
                return fn(*args, **kwargs)

        try:
            return await asyncio.to_thread(work)
        except LingxiError as exc:
            raise _api_error(400, exc.message + (f" ({exc.hint})" if exc.hint else ""), "edu_error") from exc

    async def generate(self, route: str, course: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """`fn(*args, model=M, **kwargs)` with M the course's (else the server's default) model from the
        server's pool, behind that model's queue, on the request's budget (TIMEOUT_S; each call at most the
        server's default_max_tokens)."""
        from lingxi.apps.edu.budget import OutOfTime, bounded
        from lingxi.serve.errors import from_exception

        srv = self.srv
        name = ((course.settings.get("model") if course is not None else None) or srv.settings.default_model)
        served = srv.pool.get(name)

        def work() -> Any:
            with self.home():
                return fn(*args, model=bounded(served.model, TIMEOUT_S, srv.serve.default_max_tokens), **kwargs)

        with srv.calling(route, self.caller):
            try:
                async with asyncio.timeout(TIMEOUT_S + 5):  # the budget stops new calls; this, one that hangs
                    result, _queue_s = await srv.pool.call(served, work)
            except (TimeoutError, OutOfTime) as exc:
                raise _api_error(504, f"{route} ran out of time ({TIMEOUT_S:g} s) before it was done; ask for less "
                                 "(fewer questions, a shorter problem) or retry when the server is less busy.",
                                 "edu_timeout") from exc
            except ModelError as exc:  # as the chat routes report it (503 for a crashed worker, ...)
                raise from_exception(exc) from exc
            except LingxiError as exc:
                raise _api_error(400, exc.message + (f" ({exc.hint})" if exc.hint else ""), "edu_error") from exc
        return result


def who(request: Request) -> Who:
    from lingxi.apps.edu.courses import home, student_courses
    from lingxi.apps.edu.roles import role_of

    srv = request.app.state.lingxi
    caller = srv.authenticate(request)
    with home(srv.settings):
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
    return Who(r["role"], r["student"], courses, srv, caller)


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

    names = [c["name"] for c in await w.run(list_courses)]
    return {"role": w.role, "student": w.student, "courses": names if w.courses is None else w.courses}


@router.get("/v1/edu/courses")
async def courses(w: Who = Depends(who)) -> dict[str, Any]:
    from lingxi.apps.edu.courses import list_courses

    rows = await w.run(list_courses)
    return {"data": [r for r in rows if w.courses is None or r["name"] in w.courses]}


@router.get("/v1/edu/courses/{name}")
async def course(name: str, w: Who = Depends(who)) -> dict[str, Any]:
    c = await asyncio.to_thread(w.course, name)
    d = await w.run(c.to_dict)
    if w.role == "student":
        d.pop("students", None)
    return d


@router.post("/v1/edu/courses/{name}/coverage")
async def coverage(name: str, w: Who = Depends(who)) -> dict[str, Any]:
    from lingxi.apps.edu.coverage import coverage as run

    w.need("coverage")
    c = await asyncio.to_thread(w.course, name)
    return (await w.generate("/v1/edu/coverage", c, run, c)).to_dict()


@router.get("/v1/edu/courses/{name}/heatmap.png")
async def heatmap(name: str, w: Who = Depends(who)) -> Response:
    from lingxi.apps.edu.coverage import coverage as run
    from lingxi.apps.edu.report import write_report

    w.need("coverage")
    c = await asyncio.to_thread(w.course, name)
    report = await w.run(run, c, gaps=False)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path((await asyncio.to_thread(write_report, report, tmp))["png"]).read_bytes()
    return Response(data, media_type="image/png")


@router.post("/v1/edu/courses/{name}/quiz")
async def quiz(name: str, body: QuizBody, w: Who = Depends(who)) -> dict[str, Any]:
    from lingxi.apps.edu.quiz import make_quiz

    w.need("quiz")
    c = await asyncio.to_thread(w.course, name)
    q = await w.generate("/v1/edu/quiz", c, make_quiz, c, topic=body.topic, n=body.n, kinds=body.kinds, level=body.level)
    return q.to_dict()


@router.post("/v1/edu/courses/{name}/plan")
async def plan(name: str, body: PlanBody, w: Who = Depends(who)) -> dict[str, Any]:
    from lingxi.apps.edu.plan import make_plan

    w.need("plan")
    c = await asyncio.to_thread(w.course, name)
    return await w.generate("/v1/edu/plan", c, make_plan, c, body.topic, body.audience, body.minutes, section=body.section,
                            base=body.base)


@router.post("/v1/edu/grade")
async def grade(body: GradeBody, w: Who = Depends(who)) -> dict[str, Any]:
    from lingxi.apps.edu.grade import grade as run

    w.need("grade")
    return await w.run(run, body.quiz, body.answers, body.student)


@router.post("/v1/edu/courses/{name}/tutor")
async def tutor(name: str, body: TutorBody, w: Who = Depends(who)) -> dict[str, Any]:
    from lingxi.apps.edu.tutor import tutor_turn

    w.need("tutor")
    student = w.student if w.role == "student" else body.student
    if not student:
        raise _api_error(400, "Say which student is asking: give \"student\".", "missing_student")
    c = await asyncio.to_thread(w.course, name)
    return await w.generate("/v1/edu/tutor", c, tutor_turn, c, student, body.message)


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
    return {"student": student, "mastery": await w.run(run, student, c), "practice": await w.run(next_practice, student, c)}


@router.post("/v1/edu/solve")
async def solve(body: SolveBody, w: Who = Depends(who)) -> dict[str, Any]:
    from lingxi.apps.edu.solve import solve as run

    w.need("solve")
    return (await w.generate("/v1/edu/solve", None, run, body.problem)).to_dict()


@router.post("/v1/edu/export")
async def export(body: ExportBody, w: Who = Depends(who)) -> Response:
    from lingxi.apps.edu.export import write

    w.need("quiz" if body.kind == "quiz" else "plan")
    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = await w.run(write, body.kind, body.data, body.format, Path(tmp) / f"{body.kind}.{body.format}")
        except (KeyError, TypeError, ValueError, AttributeError) as exc:  # a body that is not a quiz / plan document
            raise _api_error(400, f"'data' is not a {body.kind} as lingxi writes it ({type(exc).__name__}: {exc}); "
                                  f"send the JSON that /v1/edu/{body.kind} returned", "invalid_data") from exc
        data = path.read_bytes()
    media = ("application/vnd.openxmlformats-officedocument.wordprocessingml.document" if body.format == "docx"
             else "text/markdown; charset=utf-8")
    return Response(data, media_type=media, headers={"Content-Disposition": f'attachment; filename="{body.kind}.{body.format}"'})
