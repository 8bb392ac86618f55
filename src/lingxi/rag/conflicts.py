"""Sources that disagree: two retrieved passages stating different values for what is asked.

    c = find_conflict("How many vacation days do employees get?", sources)
    c.text   # "The sources disagree: [1] says 25 vacation days, [2] says 0 vacation days."
    c.verdict()  # a SentenceVerdict (check="conflict") the answer opens with, citing both

For each passage, the sentence that holds most of the question's terms (at least two, and 40 %
of them) is its statement about the question; when two passages' statements say the same thing
(their words, numbers aside, overlap) with numbers (Arabic or Chinese numerals, with their
units) that share no value, the sources disagree. The
answer then says so and cites both, whatever the model wrote: a poisoned passage is never
shown alone as the answer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from lingxi.knowledge.text import sentence_spans, terms
from lingxi.rag import checks
from lingxi.rag import lang as L
from lingxi.rag.answer import SentenceVerdict, Source

MIN_SHARE = 0.4  # a passage's statement holds this share of the question's terms (and at least two)
SAME_THING = 0.45  # two statements are about the same thing when their words (numbers aside) overlap this much (Jaccard)


@dataclass
class Statement:
    n: int  # source number
    sentence: str
    values: list[tuple[float, str]]
    shown: str  # "25 vacation days" / "25 天"


@dataclass
class Conflict:
    statements: list[Statement]
    lang: L.Lang

    @property
    def text(self) -> str:
        if self.lang == "zh":
            said = "，".join(f"[{s.n}] 说 {s.shown}" for s in self.statements)
            return f"资料之间不一致：{said}。"
        said = ", ".join(f"[{s.n}] says {s.shown}" for s in self.statements)
        return f"The sources disagree: {said}."

    def verdict(self) -> SentenceVerdict:
        ns = [s.n for s in self.statements]
        return SentenceVerdict(text=self.text, cited=ns, citations=ns, verdict="supported", lexical=1.0,
                               note="the retrieved passages state different values", entailment="contradicted",
                               check="conflict")  # fmt: skip


def statement(question: str, s: Source) -> Statement | None:
    """The passage sentence about the question, when it states a number the question does not hold."""
    q = set(terms(question))
    if not q:
        return None
    asked = {v for v, _ in checks.numbers(question)}
    best, share = None, 0.0
    for a, b in sentence_spans(s.text):
        sent = " ".join(s.text[a:b].split())
        have = len(q & set(terms(sent)))
        if have >= 2 and have / len(q) >= MIN_SHARE and have / len(q) > share:
            best, share = sent, have / len(q)
    if best is None:
        return None
    values = [(v, u) for v, u in checks.numbers(best) if v not in asked]
    if not values:
        return None
    return Statement(s.n, best, values, _shown(best, values[0][0]))


_EN_UNIT = re.compile(r"\s*((?:[A-Za-z][\w-]*\s+){0,1}[A-Za-z][\w-]*)")


def _shown(sentence: str, value: float) -> str:
    """The value as the sentence writes it, with its unit: '25 vacation days', '25 天'."""
    num = str(int(value)) if value == int(value) else str(value)
    m = re.search(rf"(?<![\d.]){re.escape(num)}(?![\d.])", sentence.replace(",", ""))
    if m is None:
        return num
    rest = sentence.replace(",", "")[m.end():]
    if re.match(r"\s*[\u3400-\u9fff]", rest):
        unit = rest.strip()[0]
        return f"{num} {unit}" if unit in checks._ZH_UNIT_CHARS else num
    u = _EN_UNIT.match(rest)
    words = [w for w in (u.group(1).split() if u else []) if w.lower() not in ("per", "a", "an", "the", "of", "in")]
    return " ".join([num, *words[:2]])


def find_conflict(question: str, sources: Sequence[Source]) -> Conflict | None:
    """Two (or more) passages whose statements about the question share no value."""
    found = [st for st in (statement(question, s) for s in sources) if st is not None]
    for i, a in enumerate(found):
        rivals = [b for b in found[i + 1:] if b.n != a.n and _disagree(a, b)]
        if rivals:
            side = [a, *[b for k, b in enumerate(rivals) if all(_disagree(b, c) for c in rivals[:k])]]
            _share_units(side)
            return Conflict(side, L.detect(question))
    return None


def _disagree(a: Statement, b: Statement) -> bool:
    """Two statements of the same thing (most words shared, apart from the numbers; a unit in common)
    that share no value. "X was founded in 1990" and "X was renamed in 2001" are not a conflict."""
    if {v for v, _ in a.values} & {v for v, _ in b.values} or a.sentence == b.sentence:
        return False
    ta, tb = _words(a.sentence), _words(b.sentence)
    if not ta or not tb or len(ta & tb) / len(ta | tb) < SAME_THING:
        return False
    ua, ub = {u for _, u in a.values}, {u for _, u in b.values}
    return bool(ua & ub) or not (ua - {""}) or not (ub - {""})


def _words(sentence: str) -> set[str]:
    return {t for t in terms(sentence) if not any(ch.isdigit() for ch in t)}


def _share_units(statements: list[Statement]) -> None:
    """A bare '0' next to '25 vacation days' reads '0 vacation days'."""
    unit = next((s.shown.split(" ", 1)[1] for s in statements if " " in s.shown), "")
    for s in statements:
        if unit and " " not in s.shown:
            s.shown = f"{s.shown} {unit}"
