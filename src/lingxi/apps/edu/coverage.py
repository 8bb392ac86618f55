"""The administrator's view: what the curriculum covers, objective by objective, and what is missing.

    report = coverage(open_course("light"))
    report.coverage, [o["status"] for o in report.objectives]
    write_report(report, "out/")                       # Markdown, HTML, heatmap PNG

An objective is cut into its parts (at commas, colons, semicolons; learning verbs such as 知道 /
理解 / understand removed) and each part is checked against the course's best passages with the
RAG verifier in its topic mode (a part such as 「光的直线传播」 is a topic, not a claim: a passage
covers it when it holds the topic's words; see `lingxi.rag.entail`). All parts supported: `covered`; some, or words close to the threshold: `partial`;
none: `missing`. The gap report adds the tutor's abstentions — questions students asked that the
material could not answer — clustered and named with `lingxi.nlp.cluster`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from lingxi.apps.edu import evidence as E
from lingxi.apps.edu.courses import Course, db
from lingxi.apps.edu.syllabus import Objective

_SPLIT = re.compile(r"[，,；;：:。]|例如|比如|解释|说明|以及|和|such as|e\.g\.|\band\b")
_VERBS = re.compile(r"^(?:并且|并|能够|能|会|知道|理解|了解|掌握|认识|区分|说出|举出|解释|描述|学会|用|运用|初步|"
                    r"什么是|understand|know|explain|describe|identify|recognise|recognize|distinguish|use|be able to)\s*", re.I)  # fmt: skip
_NOISE = re.compile(r"的?例子|举例|的?现象$")
PARTIAL_SCORE = 0.35


@dataclass
class CoverageReport:
    course: str
    objectives: list[dict[str, Any]]
    materials: list[str]
    matrix: list[list[float]]  # objectives x materials, 0..1
    gaps: dict[str, Any] = field(default_factory=dict)

    @property
    def coverage(self) -> float:
        if not self.objectives:
            return 0.0
        credit = {"covered": 1.0, "partial": 0.5, "missing": 0.0}
        return round(sum(credit[o["status"]] for o in self.objectives) / len(self.objectives), 4)

    def counts(self) -> dict[str, int]:
        return {s: sum(o["status"] == s for o in self.objectives) for s in ("covered", "partial", "missing")}

    def to_dict(self) -> dict[str, Any]:
        return {"course": self.course, "coverage": self.coverage, "counts": self.counts(), "objectives": self.objectives,
                "materials": self.materials, "matrix": self.matrix, "gaps": self.gaps}  # fmt: skip


def parts(objective: str) -> list[str]:
    """The checkable pieces of an objective (learning verbs and 'for example' removed)."""
    out = []
    for piece in _SPLIT.split(objective):
        p = piece.strip()
        for _ in range(3):
            p = _VERBS.sub("", p).strip()
        p = _NOISE.sub("", p).strip()
        if len(p) >= 2 and p not in out:
            out.append(p)
    return out or [objective.strip()]


def judge(objective: Objective, kb: Any, materials: list[str], k: int = 4) -> tuple[dict[str, Any], list[float]]:
    """The verdict for one objective, and its heatmap row: the share of its parts that each
    material supports (one retrieval and one verifier call per objective)."""
    ps = parts(objective.objective)
    sources = E.passages(kb, " ".join(ps), k=max(k, 2 * len(materials)))
    verdicts = E.check(ps, sources, kb, cite_all=True, mode="topic") or [None] * len(ps)
    by_n = {s.n: s for s in sources}
    scores, cites, ok, row = [], [], 0, [0.0] * len(materials)
    col = {m: i for i, m in enumerate(materials)}
    for part, v in zip(ps, verdicts, strict=True):
        if v is not None and v.verdict == "supported":
            ok += 1
            scores.append(max(v.lexical, 0.75))
            best = v.citations if v.check == "topic" else sorted(v.citations, key=lambda n: by_n[n].score, reverse=True)
            cites.append({**E.citation(by_n[best[0]], part), "part": part})
            for m in {E.file_name(by_n[n].source) for n in v.citations}:
                if m in col:
                    row[col[m]] += 1 / len(ps)
        else:
            scores.append((v.lexical if v is not None else 0.0) / 2)
    score = round(sum(scores) / len(scores), 4)
    status = "covered" if ok == len(ps) else ("partial" if ok or score >= PARTIAL_SCORE else "missing")
    unique = list({(c["chunk_id"], c["quote"]): c for c in cites}.values())
    return ({**objective.to_dict(), "parts": ps, "status": status, "score": score, "citations": unique},
            [round(x, 3) for x in row])


def coverage(course: Course, *, k: int = 4, gaps: bool = True, model: Any = None) -> CoverageReport:
    """Judge every objective of `course`; with `gaps`, add the tutor's clustered abstentions."""
    kb = course.kb()
    materials = sorted({E.file_name(s) for s in kb.sources()})
    rows, matrix = [], []
    for o in course.objectives:
        verdict, row = judge(o, kb, materials, k)
        rows.append(verdict)
        matrix.append(row)
    report = CoverageReport(course.name, rows, materials, matrix)
    if gaps:
        report.gaps = gap_report(course, model=model)
    return report


def abstentions(course: Course) -> list[str]:
    """Questions students asked the course's tutor that it could not answer from the material."""
    with db() as conn:
        rows = conn.execute(
            "SELECT m.id, m.role, m.content, m.meta FROM session_messages m JOIN sessions s ON s.id = m.session_id "
            "WHERE s.name LIKE ? ESCAPE '\\' ORDER BY m.session_id, m.id", (_like(f"edu-{course.name}-") + "%",)).fetchall()  # fmt: skip
    out, question = [], None
    for r in rows:
        if r["role"] == "user":
            question = r["content"]
        elif question is not None:
            if json.loads(r["meta"] or "{}").get("abstained"):
                out.append(question)
            question = None
    return list(dict.fromkeys(out))


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def gap_report(course: Course, *, model: Any = None, k: int | None = None) -> dict[str, Any]:
    """The abstentions, clustered (k-means on embeddings) and named (by `model`, else by the
    most central question)."""
    questions = abstentions(course)
    if len(questions) < 2:
        return {"questions": questions, "clusters": [{"name": q[:20], "size": 1, "examples": [q]} for q in questions]}
    from lingxi.nlp.cluster import cluster_texts

    result = cluster_texts(questions, k or min(4, max(1, len(questions) // 2)), embedder=course.kb().embedder, model=model)
    clusters = sorted(result.clusters, key=lambda c: -c.size)
    return {"questions": questions, "clusters": [{"name": c.name, "summary": c.summary, "size": c.size,
                                                  "examples": c.examples} for c in clusters]}  # fmt: skip
