"""Evaluation: classification reports, QA EM/F1 (CMRC and SQuAD style), retrieval metrics,
LLM-as-judge, runs stored in the home database, Markdown + PNG reports. Imports load lazily."""

from __future__ import annotations

from lingxi._lazy import lazy

__all__, __getattr__ = lazy(__name__, {
    "classification_report": "classification", "qa_scores": "qa", "cmrc_f1": "qa", "cmrc_em": "qa",
    "squad_f1": "qa", "squad_em": "qa", "retrieval_scores": "retrieval", "judge_faithfulness": "judge",
    "judge_relevance": "judge", "save_run": "runs", "load_run": "runs", "compare_runs": "runs",
})
