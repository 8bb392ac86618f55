"""lingxi for schools: curriculum coverage for administrators, lesson plans and reviewed quizzes
for teachers, a grounded tutor for students — every role checked against the school's own material.

    >>> from lingxi.apps import edu
    >>> course = edu.create_course("light", edu.SAMPLE_MATERIALS, edu.SAMPLE_SYLLABUS)
    >>> edu.coverage(course).coverage          # share of objectives the materials cover
    >>> edu.make_quiz(course, n=5).questions   # generated, reviewed against the cited passages
    >>> edu.solve("一段布剪去6米，正好剪去这段布的(2/5)，这段布还剩多少米？").answer   # '9'

Built only on the platform's public parts: `KnowledgeBase`, the RAG retrieval and verifier
(`lingxi.rag.retrieve`, `split_claims`, `verify`), `lingxi.ask` with sessions and memory, the
PAL sandbox (`lingxi.agents`), clustering (`lingxi.nlp`), charts (`lingxi.evals`) and the funnel
(`lingxi.models.funnel.open_chat`). Imports are lazy.
"""

from __future__ import annotations

from lingxi._lazy import lazy

__all__, __getattr__ = lazy(__name__, {
    "Course": "courses", "Objective": "courses", "create_course": "courses", "open_course": "courses",
    "list_courses": "courses", "remove_course": "courses", "add_student": "courses", "read_syllabus": "syllabus",
    "SAMPLE_MATERIALS": "sample", "SAMPLE_SYLLABUS": "sample", "coverage": "coverage", "CoverageReport": "coverage",
    "make_quiz": "quiz", "Quiz": "quiz", "review": "review", "grade": "grade", "make_plan": "plan",
    "tutor_turn": "tutor", "solve": "solve", "Solution": "solve",
})
