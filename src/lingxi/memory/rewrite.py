"""Turn a follow-up question into a standalone one, so retrieval finds the right passages.

    rewrite("Does it run on Windows?", [("What is lingxi?", "lingxi is …")], model)
    -> "Does lingxi run on Windows?"

Only questions that look like follow-ups (a pronoun, "and …", "那…", or very short)
are rewritten. The model's rewrite is used when it is plausible (one line, same
language, keeps most of the question's words, adds something from the
conversation); otherwise the topic of the previous question is put in front of
the follow-up ("lingxi: Does it run on Windows?"), which is what keyword and
vector search need.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from lingxi.knowledge.text import STOPWORDS, terms
from lingxi.rag import lang as L

Turn = tuple[str, str]  # (standalone question, answer)

_EN_FOLLOW = re.compile(r"^(?:and|but|also|so|then|what about|how about)\b|\b(?:it|its|they|them|their|this|that|"
                        r"these|those|he|she|him|his|her|there|one|ones)\b", re.I)  # fmt: skip
_ZH_FOLLOW = re.compile(r"^(?:那|那么|还有|然后|而且|另外|再)|它|他们|她们|它们|其|这个|那个|这些|那些|该|此|他|她|呢[？?]?$")
_EN_WH = frozenset("what which who whom whose when where why how does do did is are was were can could should "
                   "would will tell me about please".split())  # fmt: skip
_ZH_WH = re.compile(r"什么|哪[几一]?[种个位些样里儿年]?|几[种个]|怎么样|怎么|怎样|如何|为什么|多少|是否|吗|呢|请问|告诉我|"
                    r"介绍一下|[？?！!。，,]")


def is_follow_up(question: str) -> bool:
    q = question.strip()
    if L.detect(q) == "zh":
        return bool(_ZH_FOLLOW.search(q)) or len(re.sub(r"\W", "", q)) <= 4
    return bool(_EN_FOLLOW.search(q)) or len(q.split()) <= 2


def topic(question: str) -> str:
    """The subject words of a standalone question (what a follow-up is about)."""
    if L.detect(question) == "zh":
        return " ".join(re.sub(r"[是有]", " ", _ZH_WH.sub(" ", question)).split())
    words = [w for w in re.findall(r"[\w.+-]+", question) if w.lower() not in _EN_WH and w.lower() not in STOPWORDS]
    return " ".join(words)


def heuristic(question: str, turns: Sequence[Turn]) -> str:
    """'SUBJECT: question', the subject taken from the previous standalone question (whose own
    subject is reused when it was itself rewritten this way, so subjects do not pile up)."""
    previous = turns[-1][0] if turns else ""
    earlier = re.match(r"^(.+?)(?:：|: )", previous)
    subject = earlier.group(1).strip() if earlier else topic(previous)
    if not subject:
        return question
    return f"{subject}：{question}" if L.detect(question) == "zh" else f"{subject}: {question}"


def plausible(candidate: str, question: str, turns: Sequence[Turn]) -> bool:
    """A model's rewrite is kept when it is one short line in the question's language that keeps
    at least half of the question's terms and adds a term from the conversation."""
    if not candidate or "\n" in candidate or len(candidate) > max(3 * len(question), len(question) + 120):
        return False
    if L.detect(candidate) != L.detect(question):
        return False
    mine, theirs = set(terms(question)), set(terms(candidate))
    if mine and len(mine & theirs) < 0.5 * len(mine):
        return False
    past = set().union(*(terms(q) for q, _ in turns)) if turns else set()
    return bool((theirs - mine) & past)


def rewrite(question: str, turns: Sequence[Turn], model: Any = None) -> str:
    """The standalone form of `question` given the previous (question, answer) turns."""
    if not turns or not is_follow_up(question):
        return question
    if model is not None:
        candidate = _ask_model(question, turns, model)
        if plausible(candidate, question, turns):
            return candidate
    return heuristic(question, turns)


def _ask_model(question: str, turns: Sequence[Turn], model: Any) -> str:
    from lingxi.types import SamplingParams

    language = L.detect(question)
    history = "\n".join(f"Q: {q}\nA: {a[:300]}" for q, a in turns[-3:])
    prompt = L.REWRITE[language].format(history=history, question=question)
    text = model.chat(prompt, SamplingParams(temperature=0.0, max_tokens=64)).text.strip()
    first = text.splitlines()[0] if text else ""
    return re.sub(r"^(?:standalone question|完整问题|改写)\s*[:：]\s*", "", first, flags=re.I).strip(" \"'“”")
