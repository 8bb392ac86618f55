"""`lingxi edu coverage|quiz|grade|plan|tutor|solve|demo`: what the three roles do (registered on `edu.app`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from lingxi.cli.common import JsonOpt, ModelOpt, out, print_json
from lingxi.cli.edu import CourseArg, StudentOpt, _course, _show, app
from lingxi.errors import ConfigError

OutFile = Annotated[Path | None, typer.Option("--out", "-o", help="Write the result to this file (by its suffix: .md, .docx, .json).",
                                              show_default=False)]  # fmt: skip


@app.command("coverage")
def coverage_command(course: CourseArg, out_dir: Annotated[Path | None, typer.Option("--out", "-o", help="Folder for the heatmap PNG, Markdown and HTML report.", show_default=False)] = None,
                     model: ModelOpt = None, as_json: JsonOpt = False) -> None:  # fmt: skip
    """Administrator: which objectives the materials cover (covered / partial / missing), with evidence,
    and the gap report of questions the tutor could not answer.

    --json prints {"objectives": [{"id", "objective", "status", "score", "citations": [{"file", "page", "heading", "quote"}]}], "coverage", "counts", "gaps", "files"}."""
    from lingxi.apps.edu.coverage import coverage
    from lingxi.apps.edu.report import markdown, write_report

    chat = _maybe_model(model)
    report = coverage(_course(course), model=chat)
    files = write_report(report, out_dir) if out_dir else {}
    _show({**report.to_dict(), "files": files}, as_json, markdown(report) + "".join(f"\n{k}: {v}" for k, v in files.items()))


def _maybe_model(model: str | None) -> Any:
    if model is None:
        return None
    from lingxi.models.funnel import open_chat

    return open_chat(model)


def _fmt(path: Path | None, default: str) -> str:
    return {".md": "md", ".docx": "docx", ".json": "json"}.get(path.suffix.lower(), default) if path else default


@app.command("quiz")
def quiz_command(
    course: CourseArg,
    topic: Annotated[str | None, typer.Option("--topic", help="What the quiz is about (default: every objective).")] = None,
    n: Annotated[int, typer.Option("--n", "-n", help="Number of questions.")] = 10,
    kinds: Annotated[str, typer.Option("--kinds", help="Comma-separated: mc, short, truefalse.")] = "mc,short,truefalse",
    level: Annotated[str | None, typer.Option("--level", help="easy, medium or hard.")] = None,
    model: ModelOpt = None,
    no_model: Annotated[bool, typer.Option("--no-model", help="Only questions extracted from the passages (no generation).")] = False,
    out_file: OutFile = None,
    as_json: JsonOpt = False,
) -> None:
    """Teacher: generate questions from cited passages; a reviewer checks each and sends failures back.

    --json prints {"questions": [{"id", "question", "kind", "options", "answer", "explanation", "source": {"file", "heading", "quote"}, "review": {...}}], "stats"}."""
    from lingxi.apps.edu.export import quiz_markdown, write
    from lingxi.apps.edu.quiz import make_quiz

    if level is not None and level not in ("easy", "medium", "hard"):
        raise ConfigError(f"Unknown level '{level}'.", "use easy, medium or hard")
    if n < 1 or n > 100:
        raise ConfigError("--n must be between 1 and 100.", "e.g. --n 10")
    q = make_quiz(_course(course), topic=topic, n=n, kinds=[k.strip() for k in kinds.split(",") if k.strip()],
                  level=level, model=model, use_model=not no_model).to_dict()  # fmt: skip
    if out_file:
        q["file"] = str(write("quiz", q, _fmt(out_file, "json"), out_file))
    s = q["stats"]
    _show(q, as_json, quiz_markdown(q) + f"\n{s['accepted']} accepted; {s['rejected']} rejected by the reviewer, "
          f"{s['regenerated']} regenerated, {s['fallback']} extracted from the passages." + (f"\nwritten: {q['file']}" if out_file else ""))


@app.command("grade")
def grade_command(quiz: Annotated[Path, typer.Argument(help="The quiz JSON (lingxi edu quiz --out quiz.json).")],
                  answers: Annotated[Path, typer.Argument(help='The answers JSON: {"q1": "B", "q2": "漫反射", ...}.')],
                  student: Annotated[str | None, typer.Option("--student", "-s", help="Record the result and mastery for this student.")] = None,
                  as_json: JsonOpt = False) -> None:  # fmt: skip
    """Grade answers: exact for multiple choice and true/false, the verifier for short answers; feedback names the passage to re-read."""
    from lingxi.apps.edu.grade import grade

    r = grade(_read_json(quiz), _read_json(answers), student)
    lines = [f"{a['id']}: {a['feedback']}" for a in r["answers"]] + [f"score: {r['score']:g} / {r['total']} ({r['percent']}%)"]
    _show(r, as_json, "\n".join(lines))


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"Could not read the JSON file {path}: {exc}.", "give the file lingxi edu quiz --out wrote") from exc


@app.command("plan")
def plan_command(
    course: CourseArg,
    topic: Annotated[str, typer.Option("--topic", help="The lesson's topic.")],
    audience: Annotated[str, typer.Option("--audience", help="Who it is for.")] = "初二学生",
    minutes: Annotated[int, typer.Option("--minutes", help="Length of the lesson.")] = 45,
    fmt: Annotated[str, typer.Option("--format", help="md, docx or json (docx needs --out).")] = "md",
    section: Annotated[str | None, typer.Option("--section", help="Redo only this section of the plan given by --from.")] = None,
    base: Annotated[Path | None, typer.Option("--from", help="A plan JSON made before (for --section).")] = None,
    mark: Annotated[bool, typer.Option("--mark", help="Keep unsupported sentences, flagged [?], instead of dropping them.")] = False,
    model: ModelOpt = None,
    no_model: Annotated[bool, typer.Option("--no-model", help="Build the plan from the course only.")] = False,
    out_file: OutFile = None,
    as_json: JsonOpt = False,
) -> None:
    """Teacher: a lesson plan under a JSON schema whose factual sentences are verified against the course, with citations."""
    from lingxi.apps.edu.export import plan_markdown, write
    from lingxi.apps.edu.plan import make_plan

    if fmt not in ("md", "docx", "json"):
        raise ConfigError(f"Unknown format '{fmt}'.", "use md, docx or json")
    if fmt == "docx" and out_file is None:
        raise ConfigError("A docx plan needs a file to go to.", "add --out plan.docx")
    p = make_plan(_course(course), topic, audience, minutes, model=model, use_model=not no_model, section=section,
                  base=_read_json(base) if base else None, unsupported="mark" if mark else "drop")  # fmt: skip
    if out_file:
        p["file"] = str(write("plan", p, _fmt(out_file, fmt), out_file))
    if as_json or fmt == "json":
        print_json(p)
    else:
        out.print(plan_markdown(p) + (f"\nwritten: {p['file']}" if out_file else ""), markup=False)


@app.command("tutor")
def tutor_command(course: CourseArg, student: StudentOpt,
                  message: Annotated[str | None, typer.Option("--message", "-q", help="Ask one question and exit (else: a conversation; /exit ends it).")] = None,
                  model: ModelOpt = None, as_json: JsonOpt = False) -> None:  # fmt: skip
    """Student: a tutor grounded in the course, with citations; Socratic by default; remembers you."""
    from lingxi.apps.edu.tutor import tutor_turn

    c = _course(course)
    if message is not None:
        _print_turn(tutor_turn(c, student, message, model=model), as_json)
        return
    out.print(f"灵犀 tutor for {course} — hello {student}. Ask a question (/exit to leave).", markup=False)
    for line in sys.stdin:
        text = line.strip()
        if text in ("/exit", "/quit"):
            break
        if text:
            _print_turn(tutor_turn(c, student, text, model=model), as_json)


def _print_turn(t: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(t)
        return
    lines = [t["text"]] + [f"[{c['n']}] {Path(c['source']).name}" + (f": {c['quote']}" if c["quote"] else "")
                           for c in t.get("citations") or []]
    if t.get("practice"):
        lines.append("建议练习 practise next: " + "; ".join(f"{p['id']} {p['objective']}" for p in t["practice"]))
    out.print("\n".join(lines), markup=False)


@app.command("solve")
def solve_command(problem: Annotated[str, typer.Argument(help="A math word problem.")],
                  method: Annotated[str, typer.Option("--method", help="pal (program in the sandbox), cot or direct.")] = "pal",
                  model: ModelOpt = None, as_json: JsonOpt = False) -> None:  # fmt: skip
    """Solve a math word problem by program-aided reasoning; the answer comes from running the program.

    --json prints {"answer", "steps", "program", "checked", "error"}."""
    from lingxi.apps.edu.solve import solve

    s = solve(problem, model, method=method)
    if as_json:
        print_json(s.to_dict())
        return
    if s.answer is None:
        raise ConfigError(f"No answer: {s.error or 'the model found none'}.", "try --model qwen2.5-1.5b (lingxi models pull qwen2.5-1.5b)")
    out.print("\n".join([*(f"{i}. {st}" for i, st in enumerate(s.steps, start=1)), f"答案 answer: {s.answer}"]), markup=False)


@app.command("demo")
def demo_command(model: ModelOpt = None, out_dir: Annotated[Path | None, typer.Option("--out", "-o", help="Folder for the reports.")] = None,
                 as_json: JsonOpt = False) -> None:  # fmt: skip
    """All three roles on the sample course (光现象, a middle-school physics unit), on the embedded defaults."""
    from lingxi.apps.edu.demo import run_demo

    doc = run_demo(model=model, out_dir=out_dir, say=None if as_json else lambda s: out.print(s, markup=False))
    if as_json:
        print_json(doc)
