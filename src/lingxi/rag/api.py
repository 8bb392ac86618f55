"""`ask`: the one call that answers from a knowledge base, optionally inside a conversation."""

from __future__ import annotations

import time
from typing import Any

from lingxi.rag.answer import Answer, Mode
from lingxi.rag.pipeline import OnToken, Options, answer_question


def open_kb(kb: Any) -> Any:
    """A KnowledgeBase from a name (or one passed through)."""
    if isinstance(kb, str):
        from lingxi.knowledge.kb import KnowledgeBase

        return KnowledgeBase.open(kb)
    if kb is None:
        from lingxi.errors import ConfigError

        raise ConfigError("No knowledge base was given.", "pass kb='NAME' (see: lingxi kb ls)")
    return kb


def open_model(model: Any, mode: str) -> Any:
    """A chat model from a name, None (the default model; none needed in extractive mode), or an instance."""
    if model is None and mode == "extractive":
        return None
    from lingxi.models.funnel import open_chat

    return open_chat(model)


def ask(
    question: str, kb: Any = None, model: Any = None, session: str | None = None, mode: Mode = "auto", *,
    memory: str | None = None, options: Options | None = None, on_token: OnToken | None = None,
    on_sentence: OnToken | None = None, settings: Any = None,
) -> Answer:  # fmt: skip
    """Answer `question` from the knowledge base `kb` (a name or a KnowledgeBase) with verified
    citations, or abstain. With `session`, the conversation is kept in the home database: a
    follow-up is rewritten into a standalone question, and the session's memory strategy
    (`memory`: buffer-window, summary, summary-buffer or entity) decides what history the
    model sees. `on_token` receives the draft answer as it streams; `on_sentence` only the
    sentences that passed verification, each as soon as it is complete. `settings` names the home
    whose database keeps the session (default: the environment's; a server passes its own)."""
    from lingxi.errors import ConfigError

    if not question or not question.strip():
        raise ConfigError("The question is empty.", "ask something, e.g. lingxi ask \"What is lingxi?\" --kb docs")
    from lingxi.guard.hooks import check_input

    check_input(question)  # refused before a knowledge base or model is opened (again, cached, in answer_question)
    kb, chat = open_kb(kb), open_model(model, mode)
    if session is None:
        return answer_question(question, kb, chat, mode, options=options, on_token=on_token, on_sentence=on_sentence)
    from lingxi.memory.rewrite import rewrite
    from lingxi.memory.sessions import Session

    s = Session.open(session, kb=kb.name, model_name=getattr(chat, "name", None), memory=memory, model=chat,
                     settings=settings)
    t = time.perf_counter()
    query = rewrite(question, s.turns(), chat)
    spent = time.perf_counter() - t
    answer = answer_question(question, kb, chat, mode, history=s.memory.context(question), query=query,
                             options=options, on_token=on_token, on_sentence=on_sentence)  # fmt: skip
    answer.timings.rewrite = spent
    answer.timings.total += spent
    s.record(question, query, answer)
    return answer
