"""`lingxi edu demo`: the three roles on the sample course, on the embedded defaults."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from lingxi.apps.edu.sample import SAMPLE_MATERIALS, SAMPLE_SYLLABUS

DEMO_COURSE = "sample-light"
STUDENT = "小明"
PROBLEM = "一段布剪去6米，正好剪去这段布的(2/5)，这段布还剩多少米？"
QUESTIONS = ("光在真空中的传播速度是多少？", "光在真空中的传播速度是多少？", "彩虹是怎么形成的？")


def ensure_sample(name: str = DEMO_COURSE) -> Any:
    """The sample course, created on first use."""
    from lingxi.apps.edu.courses import add_student, create_course, list_courses, open_course

    if not any(c["name"] == name for c in list_courses()):
        create_course(name, SAMPLE_MATERIALS, SAMPLE_SYLLABUS)
    add_student(STUDENT, name, "初二(3)班")
    return open_course(name)


def run_demo(model: Any = None, out_dir: str | Path | None = None, say: Callable[[str], None] | None = None) -> dict[str, Any]:
    from lingxi.apps.edu.coverage import coverage
    from lingxi.apps.edu.grade import grade
    from lingxi.apps.edu.plan import make_plan
    from lingxi.apps.edu.quiz import make_quiz
    from lingxi.apps.edu.report import write_report
    from lingxi.apps.edu.solve import solve
    from lingxi.apps.edu.tutor import tutor_turn
    from lingxi.config import load_settings
    from lingxi.models.funnel import open_chat

    say = say or (lambda s: None)
    chat = open_chat(model)
    say(f"== sample course: {DEMO_COURSE} (lessons on light, 10 objectives) ==")
    course = ensure_sample()
    doc: dict[str, Any] = {"course": DEMO_COURSE}
    say("\n== student: the tutor ==")
    turns = [tutor_turn(course, STUDENT, q, model=chat) for q in QUESTIONS]
    for q, t in zip(QUESTIONS, turns, strict=True):
        say(f"{STUDENT}: {q}\ntutor (hint level {t['hint_level']}): {t['text']}")
    sol = solve(PROBLEM, chat)
    say(f"{STUDENT}: {PROBLEM}\nsolve (PAL, run in the sandbox): answer {sol.answer}" + ("" if sol.checked else f" — {sol.error}"))
    doc["tutor"], doc["solve"] = turns, sol.to_dict()
    say("\n== teacher: a lesson plan and a reviewed quiz ==")
    plan = make_plan(course, "光的反射", "初二学生", 45, model=chat)
    v = plan["verification"]
    say(f"plan '光的反射': {len(plan['timeline'])} steps adding up to {sum(s['minutes'] for s in plan['timeline'])} min; "
        f"{v['supported']}/{v['factual']} factual sentences verified, citations {len(plan['citations'])}")
    quiz = make_quiz(course, n=4, model=chat).to_dict()
    for q in quiz["questions"]:
        say(f"- [{q['kind']}] {q['question']}  → {q['answer']}  ({q['source']['file']})")
    s = quiz["stats"]
    say(f"reviewer: {s['accepted']} accepted, {s['rejected']} rejected, {s['regenerated']} regenerated, {s['fallback']} extracted")
    answers = {q["id"]: (q["answer"] if i % 2 == 0 else "不知道") for i, q in enumerate(quiz["questions"])}
    graded = grade(quiz, answers, STUDENT)
    say(f"graded {STUDENT}: {graded['score']:g}/{graded['total']}")
    doc.update(plan=plan, quiz=quiz, grade=graded)
    say("\n== administrator: coverage ==")
    report = coverage(course, model=None)
    folder = Path(out_dir) if out_dir else load_settings().home_dir / "reports" / "edu-demo"
    files = write_report(report, folder)
    c = report.counts()
    say(f"coverage {report.coverage:.0%}: {c['covered']} covered, {c['partial']} partial, {c['missing']} missing")
    for o in report.objectives:
        if o["status"] != "covered":
            say(f"  {o['status']}: {o['id']} {o['objective']}")
    for cl in report.gaps.get("clusters") or []:
        say(f"  gap (tutor could not answer): {cl['name']} — {'; '.join(cl['examples'][:2])}")
    say(f"report: {files['html']}")
    doc["coverage"] = {**report.to_dict(), "files": files}
    return doc
