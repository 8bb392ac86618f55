"""Grounded answering as plain functions: retrieve → fit → prompt → generate → verify.

    answer = answer_question("灵犀能离线运行吗？", kb, model)          # one question
    answer = ask("And on Windows?", kb="docs", session="work")         # with a conversation

Modes: ``generate`` (the model writes, every sentence is verified, unsupported ones are
dropped; nothing verified → "I don't know"), ``extractive`` (the best passage
sentences verbatim, no generation) and ``auto`` (generate, and fall back to
extractive when no sentence of the model's answer survives verification).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from lingxi.errors import ConfigError
from lingxi.guard.hooks import check_input
from lingxi.rag import lang as L
from lingxi.rag.answer import Answer, Mode, SentenceVerdict, Source, Thresholds, Timings
from lingxi.rag.conflicts import find_conflict
from lingxi.rag.context import budget_for, fit, relevant, retrieve
from lingxi.rag.extractive import extract
from lingxi.rag.prompt import build_messages, fixed_text
from lingxi.rag.stream import STOP, SentenceStream, clean_draft
from lingxi.rag.verify import Vectors, citations, render, says_dont_know
from lingxi.types import Message, SamplingParams, Usage

MODES = ("auto", "generate", "extractive")
OnToken = Callable[[str], None]


@dataclass
class Options:
    """Knobs of the pipeline (the defaults suit the small embedded model)."""

    k: int = 4  # passages retrieved
    max_tokens: int = 256  # longest answer
    temperature: float = 0.0
    context_tokens: int = 1536  # most prompt tokens spent on passages
    unsupported: str = "drop"  # or "mark": keep unsupported sentences flagged [?]
    thresholds: Thresholds = field(default_factory=Thresholds)
    filters: Any = None  # KB search filters, e.g. {"source": "*.md"}
    # a chat model (an instance or a name for the funnel) that confirms, as a grammar-constrained judge
    # (entailed / contradicted / not stated), each sentence the entailment head passed; None: no LLM call
    judge: Any = None


def answer_question(
    question: str, kb: Any, model: Any = None, mode: Mode = "auto", *, history: Sequence[Message] = (),
    query: str | None = None, options: Options | None = None, on_token: OnToken | None = None,
    on_sentence: OnToken | None = None,
) -> Answer:  # fmt: skip
    """Answer `question` from the knowledge base `kb`; `query` (default: the question) is what
    is searched, `history` is conversation memory shown to the model before the sources.
    `on_token` receives the raw draft as it streams; `on_sentence` only its verified sentences,
    each as soon as it is complete and supported (what a user should watch)."""
    if mode not in MODES:
        raise ConfigError(f"Unknown answer mode '{mode}'.", "use auto, generate or extractive")
    if mode != "extractive" and model is None:
        raise ConfigError("Generating an answer needs a model.", "pass model=..., or use mode='extractive'")
    o = options or Options()
    check_input(question)  # the guard's input stage, before anything is searched (raises when blocked)
    started, tm = time.perf_counter(), Timings()
    base = Answer(question=question, query=query or question, text="", lang=L.detect(question),
                  model=getattr(model, "name", "") if model is not None else "")  # fmt: skip
    t = time.perf_counter()
    sources = retrieve(kb, base.query, o.k, o.filters)
    tm.retrieve = time.perf_counter() - t
    if not relevant(sources, o.thresholds, base.lang, base.query):
        why = "the knowledge base is empty" if not sources else "no passage is close enough to the question"
        return _abstain(base, sources[:3], L.DONT_KNOW, why, tm, started)
    vectors = Vectors(kb) if any(s.cosine is not None for s in sources) else None
    if mode == "extractive":
        return _extractive(base, sources, vectors, tm, started, "extractive mode")
    return _generate(base, sources, model, mode, history, vectors, o, (on_token, on_sentence), tm, started)


def _generate(
    base: Answer, sources: list[Source], model: Any, mode: Mode, history: Sequence[Message],
    vectors: Vectors | None, o: Options, callbacks: tuple[OnToken | None, OnToken | None], tm: Timings,
    started: float,
) -> Answer:  # fmt: skip
    t = time.perf_counter()
    fixed = fixed_text(base.question, base.lang) + "".join(m.content or "" for m in history)
    shown = fit(sources, model, budget_for(model, fixed, o.max_tokens, o.context_tokens)) or sources[:1]
    messages = build_messages(base.question, shown, base.lang, history)
    tm.prompt = time.perf_counter() - t
    on_token, on_sentence = callbacks
    live = SentenceStream(shown, base.query, vectors, o.thresholds, base.lang, on_sentence, judge_model=_judge(o.judge))

    def feed(piece: str) -> None:
        live.feed(piece)
        if on_token:
            on_token(piece)

    draft, usage, tm.first_token, tm.generate = generate(model, messages, o, feed)
    draft = clean_draft(draft)
    base = base.model_copy(update={"draft": draft, "usage": usage, "sources": shown})
    if says_dont_know(draft):
        if mode == "auto":
            return _extractive(base, shown, vectors, tm, started, "the model declined; extracted from the sources")
        return _abstain(base, shown, L.DONT_KNOW, "the model found no answer in the sources", tm, started)
    t = time.perf_counter()
    verdicts = live.finish()  # most sentences were verified while the draft streamed
    tm.verify = time.perf_counter() - t + live.spent
    if not any(v.verdict == "supported" for v in verdicts):
        if mode == "auto":
            return _extractive(base, shown, vectors, tm, started, "the model's answer failed verification")
        return _abstain(base, shown, L.DONT_KNOW_UNVERIFIED, "no sentence could be verified", tm, started, verdicts)
    dropped = sum(v.verdict != "supported" for v in verdicts)
    did = "flagged" if o.unsupported == "mark" else "dropped"
    return _done(base, verdicts, shown, "generate", tm, started, o.unsupported,
                 f"{dropped} unsupported sentence(s) {did}" if dropped else "")


def _judge(judge: Any) -> Any:
    if judge is None or not isinstance(judge, str):
        return judge
    from lingxi.models.funnel import open_chat

    return open_chat(judge)


def generate(model: Any, messages: list[Message], o: Options, on_token: OnToken | None) -> tuple[str, Usage, float | None, float]:
    """Stream the model's answer (handing each piece to `on_token`); return text, usage,
    seconds to the first token and seconds in total."""
    params = SamplingParams(temperature=o.temperature, max_tokens=o.max_tokens, stop=STOP)
    t0 = time.perf_counter()
    pieces, usage, first = [], Usage(), None
    for d in model.stream(messages, params):
        if d.text:
            first = first if first is not None else time.perf_counter() - t0
            pieces.append(d.text)
            if on_token:
                on_token(d.text)
        if d.usage:
            usage = d.usage
    return "".join(pieces).strip(), usage, first, time.perf_counter() - t0


def _extractive(
    base: Answer, sources: list[Source], vectors: Vectors | None, tm: Timings, started: float, reason: str
) -> Answer:  # fmt: skip
    t = time.perf_counter()
    verdicts = extract(base.question, sources, vectors, query=base.query)
    tm.verify += time.perf_counter() - t
    if not verdicts:
        return _abstain(base, sources, L.DONT_KNOW, "no passage sentence answers the question", tm, started)
    return _done(base, verdicts, sources, "extractive", tm, started, "drop", reason)


def _done(
    base: Answer, verdicts: list[SentenceVerdict], sources: list[Source], mode: str, tm: Timings, started: float,
    unsupported: str, reason: str,
) -> Answer:  # fmt: skip
    conflict = find_conflict(base.question, sources) or (find_conflict(base.query, sources) if base.query != base.question else None)
    if conflict is not None:  # the answer opens with the disagreement, citing every side
        verdicts = [conflict.verdict(), *verdicts]
        reason = "; ".join(r for r in ("the sources disagree", reason) if r)
    tm.total = time.perf_counter() - started
    return base.model_copy(update={
        "text": render(verdicts, base.lang, unsupported), "mode": mode, "reason": reason,
        "citations": citations(verdicts, sources), "sentences": verdicts, "sources": sources, "timings": tm,
    })  # fmt: skip


def _abstain(
    base: Answer, closest: list[Source], texts: dict[str, str], reason: str, tm: Timings, started: float,
    verdicts: Sequence[SentenceVerdict] = (),
) -> Answer:  # fmt: skip
    tm.total = time.perf_counter() - started
    return base.model_copy(update={
        "text": texts[base.lang], "mode": "abstain", "abstained": True, "reason": reason, "citations": [],
        "sentences": list(verdicts), "sources": list(closest), "timings": tm,
    })  # fmt: skip
