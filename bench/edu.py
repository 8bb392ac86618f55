"""The education app: math solving (direct vs CoT vs PAL on Math23K), reviewed quizzes and coverage
over CMRC 2018 passages, and lesson-plan quality.

    .venv/bin/python bench/edu.py [--model smollm2] [--solve-n 100] [--quiz-n 50] [--articles 40]
        [--plan-n 20] [--only solve,quiz,coverage,coverage_body,plan] [--name edu] [--out bench/results]
    .venv/bin/python bench/edu.py --merge a.json,b.json      # parts measured by parallel runs, into edu.json/.md

Math23K (../shared/data/math23k, validation): a fixed sample (seed 0); answers compared as numbers
(fractions, decimals and percentages normalised; tolerance 1e-4). Quizzes: CMRC 2018 trial passages
(one Markdown file per article, its title as heading) as a course; the share of accepted questions
whose key the verifier supports (by construction 1.0: the reviewer only accepts those) and whose
answer is found verbatim in the cited passage, the share of model questions the reviewer rejected
and sent back, and seconds per accepted question. Coverage: a syllabus of CMRC article titles, half
of the articles ingested; precision and recall of `covered` (and of covered-or-partial) against
"ingested". Plans: topics from the ingested titles. Writes NAME.json/.md after every part.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def load_avg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


# -- math -----------------------------------------------------------------------------------
def bench_solve(model: str, n: int, methods: list[str], out: dict[str, Any] | None = None,
                save: Any = None) -> dict[str, Any]:
    from lingxi.agents import Sandbox, SandboxLimits
    from lingxi.apps.edu.solve import same, solve
    from lingxi.models.funnel import open_chat

    rows = json.loads((DATA / "math23k" / "validset.json").read_text(encoding="utf-8"))
    sample = random.Random(0).sample(rows, n)
    chat, box = open_chat(model), Sandbox(SandboxLimits(timeout_s=5, memory_mb=512))
    out = out if out is not None else {}
    out.update(n=n, load_before=load_avg())
    for method in methods:
        right, t0, failed = 0, time.perf_counter(), 0
        for i, r in enumerate(sample):
            if i and i % 20 == 0:
                print(f"solve {model} {method}: {i}/{n} after {time.perf_counter() - t0:.0f}s", file=sys.stderr, flush=True)
            try:
                s = solve(r["original_text"], chat, method=method, sandbox=box, retries=0)
            except Exception:  # noqa: BLE001 - a failing item counts as wrong
                failed += 1
                continue
            right += bool(s.answer is not None and same(s.answer, r["ans"]))
        spent = time.perf_counter() - t0
        out[method] = {"accuracy": round(right / n, 4), "s_per_item": round(spent / n, 2), "errors": failed}
        print(f"solve {model} {method}: {right}/{n} in {spent:.0f}s", file=sys.stderr)
        out["load_after"] = load_avg()
        if save is not None:
            save()  # after each method: a run stopped later keeps what it measured
    out["load_after"] = load_avg()
    return out


# -- CMRC course ------------------------------------------------------------------------------
def cmrc_articles(count: int) -> list[tuple[str, str]]:
    d = json.loads((DATA / "cmrc2018" / "cmrc2018_trial.json").read_text(encoding="utf-8"))["data"]
    seen, out = set(), []
    for a in d:
        title = a["title"].strip()
        if title in seen or "/" in title:
            continue
        seen.add(title)
        out.append((title, " ".join(p["context"] for p in a["paragraphs"])))
    return random.Random(0).sample(out, count)


def make_course(name: str, articles: list[tuple[str, str]], syllabus: list[str], folder: Path, headings: bool = True) -> Any:
    from lingxi.apps.edu.courses import create_course
    from lingxi.apps.edu.syllabus import Objective

    mats = folder / name
    mats.mkdir(parents=True)
    for i, (title, text) in enumerate(articles):
        head = f"# {title}\n\n" if headings else ""  # without: the title's words only where the text has them
        (mats / f"{i:03d}.md").write_text(f"{head}{text}\n", encoding="utf-8")
    return create_course(name, mats, [Objective(f"T{i}", t) for i, t in enumerate(syllabus)])


def bench_quiz(course: Any, model: str, n: int) -> dict[str, Any]:
    from lingxi.apps.edu.quiz import make_quiz
    from lingxi.apps.edu.review import norm

    t0 = time.perf_counter()
    quiz = make_quiz(course, n=n, model=model, retries=1)
    spent = time.perf_counter() - t0
    qs = quiz.questions
    kb = course.kb()
    texts = {c.id: c.text for c in kb.store.iter_chunks()} if hasattr(kb.store, "iter_chunks") else {}
    span = [q for q in qs if q["kind"] in ("short", "mc")]
    found = sum(norm(q["answer"]) in norm(texts.get(q["source"]["chunk_id"], q["source"]["quote"])) for q in span)
    s = quiz.stats
    return {"requested": n, "accepted": len(qs), "by_origin": {o: sum(q["origin"] == o for q in qs) for o in ("model", "extractive")},
            "key_supported": round(sum(q["review"]["checks"]["supported"] for q in qs) / max(1, len(qs)), 4),
            "answer_span_found": round(found / max(1, len(span)), 4), "extractive_kinds": len(span),
            "model_attempts": s["generated"], "model_rejected": s["rejected"],
            "rejected_share": round(s["rejected"] / max(1, s["generated"]), 4), "regenerated": s["regenerated"],
            "fallback": s["fallback"], "dropped": s["dropped"], "s_per_accepted": round(spent / max(1, len(qs)), 2),
            "load": load_avg()}  # fmt: skip


def bench_coverage(course: Any, ingested: set[str]) -> dict[str, Any]:
    from lingxi.apps.edu.coverage import coverage

    t0 = time.perf_counter()
    r = coverage(course, gaps=False)
    out: dict[str, Any] = {"objectives": len(r.objectives), "ingested": len(ingested), "seconds": round(time.perf_counter() - t0, 1)}
    for name, positive in (("covered", {"covered"}), ("covered_or_partial", {"covered", "partial"})):
        tp = sum(o["status"] in positive and o["objective"] in ingested for o in r.objectives)
        fp = sum(o["status"] in positive and o["objective"] not in ingested for o in r.objectives)
        fn = sum(o["status"] not in positive and o["objective"] in ingested for o in r.objectives)
        out[name] = {"precision": round(tp / max(1, tp + fp), 4), "recall": round(tp / max(1, tp + fn), 4)}
    out["counts"] = r.counts()
    out["load"] = load_avg()
    return out


def bench_plans(course: Any, topics: list[str], model: str) -> dict[str, Any]:
    from lingxi.apps.edu import plan as P
    from lingxi.models.funnel import open_chat

    chat = open_chat(model)
    valid = add_up = model_made = 0
    factual = supported = 0
    t0 = time.perf_counter()
    for i, topic in enumerate(topics):
        p = P.make_plan(course, topic, "初二学生", 45, model=chat)
        valid += p["generation"]["schema_valid"]
        add_up += p["generation"]["minutes_added_up"]
        print(f"plan {i + 1}/{len(topics)}: {p['origin']}, {p['verification']['supported']}/{p['verification']['factual']} verified",
              file=sys.stderr, flush=True)
        model_made += p["origin"] == "model"
        factual += p["verification"]["factual"]
        supported += p["verification"]["supported"]
        assert sum(s["minutes"] for s in p["timeline"]) == 45
    n = len(topics)
    return {"topics": n, "schema_valid": round(valid / n, 4), "minutes_add_up_before_repair": round(add_up / n, 4),
            "minutes_add_up_after_repair": 1.0, "model_plans": model_made, "factual_sentences": factual,
            "verified_sentence_rate": round(supported / max(1, factual), 4), "s_per_plan": round((time.perf_counter() - t0) / n, 2),
            "load": load_avg()}  # fmt: skip


def merge_plans(x: dict[str, Any], y: dict[str, Any]) -> dict[str, Any]:
    """Two plan runs over different topics as one: rates weighted by topics (sentences for the verified rate)."""
    n = x["topics"] + y["topics"]
    out = {"topics": n, "factual_sentences": x["factual_sentences"] + y["factual_sentences"],
           "model_plans": x["model_plans"] + y["model_plans"], "minutes_add_up_after_repair": 1.0}
    for k in ("schema_valid", "minutes_add_up_before_repair", "s_per_plan"):
        out[k] = round((x[k] * x["topics"] + y[k] * y["topics"]) / n, 4)
    out["verified_sentence_rate"] = round((x["verified_sentence_rate"] * x["factual_sentences"] + y["verified_sentence_rate"]
                                           * y["factual_sentences"]) / max(1, out["factual_sentences"]), 4)
    out["load"] = f"{x['load']} / {y['load']}"
    return out


def markdown(doc: dict[str, Any]) -> str:
    lines = [f"# Education app benchmark ({doc['model']}, {doc['machine']})", "",
             "Timings are noisy: 2 shared cores; the load average is recorded with each part.", ""]
    for model_name, s in doc.get("solve", {}).items():
        lines += [f"## Math23K ({model_name}, n={s['n']}, load {s['load_before']} → {s['load_after']})", "",
                  "| method | accuracy | s/item |", "| --- | ---: | ---: |"]
        lines += [f"| {m} | {s[m]['accuracy']:.1%} | {s[m]['s_per_item']} |" for m in ("direct", "cot", "pal") if m in s]
        lines.append("")
    if "quiz" in doc:
        q = doc["quiz"]
        lines += [f"## Quizzes over CMRC passages (load {q['load']})", "", "| measure | value |", "| --- | ---: |"]
        lines += [f"| {k} | {v} |" for k, v in q.items() if k != "load"]
        lines.append("")
    if "coverage" in doc:
        c = doc["coverage"]
        lines += [f"## Coverage: CMRC titles as syllabus, {c['ingested']} of {c['objectives']} ingested (load {c['load']})", "",
                  "| positive | precision | recall |", "| --- | ---: | ---: |",
                  f"| covered | {c['covered']['precision']} | {c['covered']['recall']} |",
                  f"| covered or partial | {c['covered_or_partial']['precision']} | {c['covered_or_partial']['recall']} |", ""]
    if "coverage_body" in doc:
        c = doc["coverage_body"]
        lines += [f"## Coverage, the same syllabus over the articles' text without their title headings (load {c['load']})", "",
                  "| positive | precision | recall |", "| --- | ---: | ---: |",
                  f"| covered | {c['covered']['precision']} | {c['covered']['recall']} |",
                  f"| covered or partial | {c['covered_or_partial']['precision']} | {c['covered_or_partial']['recall']} |", ""]
    if "plan" in doc:
        p = doc["plan"]
        lines += [f"## Lesson plans (load {p['load']})", "", "| measure | value |", "| --- | ---: |"]
        lines += [f"| {k} | {v} |" for k, v in p.items() if k != "load"]
        lines.append("")
    if doc.get("notes"):  # how the runs were made, and what the numbers mean
        lines += ["## Notes", "", *(f"- {n}" for n in doc["notes"])]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="smollm2")
    ap.add_argument("--solve-models", default="", help="comma-separated models for the math part (default: --model)")
    ap.add_argument("--solve-n", type=int, default=100)
    ap.add_argument("--methods", default="direct,cot,pal")
    ap.add_argument("--quiz-n", type=int, default=50)
    ap.add_argument("--articles", type=int, default=40)
    ap.add_argument("--plan-n", type=int, default=20)
    ap.add_argument("--only", default="solve,quiz,coverage,plan")
    ap.add_argument("--merge", default="", help="comma-separated NAME.json files of separate runs to merge into this one")
    ap.add_argument("--merge-plans", action="store_true", help="with --merge: add up plan runs over different topics")
    ap.add_argument("--plan-offset", type=int, default=0, help="skip this many topics (a second plan run over the next ones)")
    ap.add_argument("--name", default="edu")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results"))
    a = ap.parse_args()
    parts = set(a.only.split(","))
    out = Path(a.out)
    jpath = out / f"{a.name}.json"
    doc: dict[str, Any] = json.loads(jpath.read_text()) if jpath.exists() else {}
    doc.update(model=a.model, machine=f"{platform.machine()}, {os.cpu_count()} cpus")

    def save() -> None:
        jpath.write_text(json.dumps(doc, ensure_ascii=False, indent=2), encoding="utf-8")
        (out / f"{a.name}.md").write_text(markdown(doc), encoding="utf-8")

    if a.merge:  # parts measured by separate (parallel) runs: solve per model, the other parts whole
        for f in a.merge.split(","):
            part = json.loads(Path(f).read_text(encoding="utf-8"))
            for key, value in part.items():
                if key == "solve":
                    doc.setdefault("solve", {}).update(value)
                elif key == "plan" and "plan" in doc and a.merge_plans:  # two runs over different topics: one table
                    doc["plan"] = merge_plans(doc["plan"], value)
                elif key not in ("model", "machine"):
                    doc[key] = value
        save()
        return
    if "solve" in parts:
        for m in (a.solve_models or a.model).split(","):
            part = doc.setdefault("solve", {})[m] = {}
            bench_solve(m, a.solve_n, a.methods.split(","), part, save)
            save()
    if "coverage_body" in parts:  # the same syllabus over the articles' text alone (no title headings)
        with tempfile.TemporaryDirectory() as tmp:
            os.environ["LINGXI_HOME"] = str(Path(tmp) / "home")
            arts = cmrc_articles(a.articles)
            half = arts[: len(arts) // 2]
            course = make_course("cmrc-body", half, [t for t, _ in arts], Path(tmp), headings=False)
            doc["coverage_body"] = bench_coverage(course, {t for t, _ in half})
            save()
    if parts & {"quiz", "coverage", "plan"}:
        with tempfile.TemporaryDirectory() as tmp:
            os.environ["LINGXI_HOME"] = str(Path(tmp) / "home")
            arts = cmrc_articles(a.articles)
            half = arts[: len(arts) // 2]
            course = make_course("cmrc", half, [t for t, _ in arts], Path(tmp))
            if "coverage" in parts:  # cheapest first: a run stopped at a deadline keeps the most parts
                doc["coverage"] = bench_coverage(course, {t for t, _ in half})
                save()
            if "plan" in parts:
                doc["plan"] = bench_plans(course, [t for t, _ in half][a.plan_offset: a.plan_offset + a.plan_n], a.model)
                save()
            if "quiz" in parts:
                doc["quiz"] = bench_quiz(course, a.model, a.quiz_n)
                save()
    save()


if __name__ == "__main__":
    main()
