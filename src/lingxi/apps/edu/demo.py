"""`lingxi edu demo`: the three roles on the sample course, on the embedded defaults.

With the embedded default (SmolLM2-135M, which cannot write Chinese) the tutor answers
extractively, the plan is built from the course and the quiz extracted from it, each verified
and reviewed as usual; the model writes the math program (Python). Any other model generates
all of them. The whole demo takes a few minutes on two cores.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from lingxi.apps.edu.sample import SAMPLE_MATERIALS, SAMPLE_SYLLABUS

DEMO_COURSE = "sample-light"
STUDENT = "小明"
PROBLEM = "一段布剪去6米，正好剪去这段布的(2/5)，这段布还剩多少米？"
QUESTIONS = ("光在真空中的传播速度是多少？", "光在真空中的传播速度是多少？", "彩虹是怎么形成的？")
QUIZ_N = 3


def weak_at_chinese(model: Any) -> bool:
    """Whether `model` (a name, None for the default, or an instance) is one measured unable to write Chinese."""
    from lingxi.models.packs import WEAK_AT_CHINESE

    if model is not None and not isinstance(model, str):
        return False  # an instance (a test's scripted model, an endpoint): let it generate
    from lingxi.config import load_settings

    return (model or load_settings().default_model) in WEAK_AT_CHINESE


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
    generate = not weak_at_chinese(model)
    say(f"== sample course: {DEMO_COURSE} (lessons on light, 10 objectives) ==")
    if not generate:
        say(f"(the model {getattr(chat, 'name', model)} is too small to write Chinese: the tutor answers, the plan and the quiz "
            "are extracted from the course and verified; the model writes the math program. For generated ones: "
            "lingxi models pull qwen2.5-1.5b, then lingxi edu demo --model qwen2.5-1.5b)")
    course = ensure_sample()
    doc: dict[str, Any] = {"course": DEMO_COURSE, "model": getattr(chat, "name", str(model)), "generated": generate}
    say("\n== student: the tutor ==")
    turns = [tutor_turn(course, STUDENT, q, model=chat, mode="auto" if generate else "extractive") for q in QUESTIONS]
    for q, t in zip(QUESTIONS, turns, strict=True):
        say(f"{STUDENT}: {q}\ntutor (hint level {t['hint_level']}): {t['text']}")
    sol = solve(PROBLEM, chat)
    say(f"{STUDENT}: {PROBLEM}\nsolve (PAL, run in the sandbox): answer {sol.answer}" + ("" if sol.checked else f" — {sol.error}"))
    doc["tutor"], doc["solve"] = turns, sol.to_dict()
    say("\n== teacher: a lesson plan and a reviewed quiz ==")
    plan = make_plan(course, "光的反射", "初二学生", 45, model=chat, use_model=generate)
    v = plan["verification"]
    say(f"plan '光的反射': {len(plan['timeline'])} steps adding up to {sum(s['minutes'] for s in plan['timeline'])} min; "
        f"{v['supported']}/{v['factual']} factual sentences verified, citations {len(plan['citations'])}")
    quiz = make_quiz(course, n=QUIZ_N, model=chat, use_model=generate).to_dict()
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
