"""Grounded answers with verified citations.

    >>> from lingxi.rag import ask
    >>> answer = ask("灵犀能离线运行吗？", kb="docs")
    >>> answer.text, answer.citations, answer.abstained

The pipeline is a handful of plain functions (`retrieve`, `fit`, `build_messages`,
`generate`, `split_claims`, `verify`, `extract`) composed by `answer_question`;
`ask` adds names, sessions and follow-up rewriting. `verify_claims` / `verify_pairs` fact-check
any text against a KB or given passages (the same entailment check `verify` uses). Imports are lazy.
"""

from __future__ import annotations

from lingxi._lazy import lazy

__all__, __getattr__ = lazy(__name__, {
    "ask": "api", "open_kb": "api", "open_model": "api", "Answer": "answer", "Source": "answer", "SentenceVerdict": "answer",
    "Thresholds": "answer", "Timings": "answer", "answer_question": "pipeline", "Options": "pipeline",
    "generate": "pipeline", "retrieve": "context", "fit": "context", "relevant": "context",
    "build_messages": "prompt", "split_claims": "verify", "verify": "verify", "Vectors": "verify",
    "extract": "extractive", "verify_claims": "claims", "verify_pairs": "claims", "ClaimCheck": "claims",
    "Entailment": "entail", "find_conflict": "conflicts",
})
