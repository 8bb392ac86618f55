"""The reviewer: every generated question is checked against the passage it cites.

    verdict = review(question, source, kb, accepted=[...], level="easy")
    verdict["ok"], verdict["problems"]

Checks (each a sentence in `problems` when it fails):
- `supported`: the key is backed by the cited passage — the RAG verifier supports the key
  statement (the explanation, else the question with its answer), and for extractive kinds the
  answer's words are stated in the passage;
- `one_right`: multiple choice has distinct options, the answer among them exactly once, and
  exactly one option stated by the evidence sentence (true/false: the answer matches whether the
  statement is supported);
- `unique`: not a near-duplicate of an accepted question;
- `no_leak`: the answer is not given away in the question;
- `level`: how much of the question is copied verbatim from the passage fits the level asked
  (a heuristic: verbatim recall is easy, paraphrase and inference are harder).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from lingxi.apps.edu import evidence as E
from lingxi.knowledge.text import terms
from lingxi.rag import Source

LEVELS = ("easy", "medium", "hard")
TRUE = {"正确", "对", "true", "t", "yes", "√", "是", "✓"}
FALSE = {"错误", "错", "false", "f", "no", "×", "否", "✗"}
_PREFIX = re.compile(r"^(?:填空|判断对错|选择正确的一项填空|判断)[:：]\s*")


def norm(text: Any) -> str:
    return re.sub(r"[\s。．.，,！!？?“”\"'：:（）()]+", "", str(text or "")).lower()


def truth(answer: Any) -> bool | None:
    a = norm(answer)
    return True if a in TRUE else False if a in FALSE else None


def stem(question: str) -> str:
    return _PREFIX.sub("", question.strip())


def key_statement(q: dict[str, Any]) -> str:
    """The sentence whose support proves the key right."""
    if q.get("explanation"):
        return str(q["explanation"])
    s = stem(q["question"])
    return s.replace(E_BLANK, str(q["answer"])) if E_BLANK in s else f"{s} {q['answer']}"


E_BLANK = "____"


def _stated(text: str, sentence: str) -> bool:
    """All of `text`'s terms occur in `sentence` (a phrase the sentence states)."""
    want, have = set(terms(text)), set(terms(sentence))
    return bool(want) and want <= have or norm(text) in norm(sentence)


def _supported(q: dict[str, Any], src: Source, kb: Any) -> tuple[bool, str, dict[str, Any]]:
    claim = key_statement(q)
    ok, v = E.supported(claim, [src], kb)
    info = {"claim": claim, "lexical": getattr(v, "lexical", 0.0), "cosine": getattr(v, "cosine", 0.0)}
    if not ok:
        return False, "the key is not supported by the cited passage", info
    if q["kind"] in ("short", "mc") and not _stated(str(q["answer"]), src.text):
        return False, "the answer is not stated in the cited passage", info
    return True, "", info


def _one_right(q: dict[str, Any], src: Source, kb: Any) -> str:
    if q["kind"] == "truefalse":
        t = truth(q["answer"])
        if t is None:
            return "a true/false answer must be 正确 or 错误 (true or false)"
        said, _ = E.supported(stem(q["question"]), [src], kb)
        evidence = E.best_sentence(stem(q["question"]), src.text, limit=10_000)
        said = said and _negated(stem(q["question"])) == _negated(evidence)  # words alone miss a 不
        verbatim = norm(stem(q["question"])) in norm(src.text)
        if t and not said:
            return "the statement is marked true but the passage does not support it"
        if not t and verbatim:
            return "the statement is marked false but the passage states it"
        return ""
    if q["kind"] != "mc":
        return ""
    options = [str(o) for o in q.get("options") or []]
    if len(options) < 2:
        return "a multiple-choice question needs at least two options"
    if len({norm(o) for o in options}) != len(options):
        return "two options are the same"
    hits = [o for o in options if norm(o) == norm(q["answer"]) or _letter(q["answer"], options) == o]
    if len(hits) != 1:
        return "the answer must be exactly one of the options"
    evidence = E.best_sentence(key_statement(q), src.text, limit=10_000)
    right = [o for o in options if _stated(o, evidence)]
    if len(right) != 1 or right[0] != hits[0]:
        return f"{len(right)} options are stated by the passage's sentence; exactly one (the answer) should be"
    return ""


_NEGATION = re.compile(r"不|没有|并非|无法|未|\bnot\b|\bno\b|n't", re.I)


def _negated(text: str) -> bool:
    return len(_NEGATION.findall(text)) % 2 == 1


def _letter(answer: Any, options: Sequence[str]) -> str | None:
    a = str(answer).strip().upper().rstrip(".、)）")
    if len(a) == 1 and "A" <= a <= "Z" and ord(a) - 65 < len(options):
        return options[ord(a) - 65]
    return None


def _similar(a: str, b: str) -> float:
    x, y = set(terms(a)), set(terms(b))
    return len(x & y) / max(1, len(x | y))


def level_of(q: dict[str, Any], src: Source) -> str:
    """easy when the question copies the passage, hard when it mostly does not."""
    words = set(terms(stem(q["question"])))
    if not words:
        return "medium"
    share = len(words & set(terms(src.text))) / len(words)
    return "easy" if share >= 0.7 else "medium" if share >= 0.4 else "hard"


def review(q: dict[str, Any], src: Source | None, kb: Any = None, *, accepted: Sequence[dict[str, Any]] = (),
           level: str | None = None) -> dict[str, Any]:  # fmt: skip
    """The reviewer's verdict on one question: {"ok", "problems", "checks", ...}."""
    problems, checks = [], {}
    if src is None or not q.get("question") or q.get("answer") in (None, ""):
        return {"ok": False, "problems": ["the question, its answer or its cited passage is missing"], "checks": {}}
    ok, why, info = _supported(q, src, kb)
    checks["supported"] = ok
    problems += [why] if why else []
    why = _one_right(q, src, kb)
    checks["one_right"] = not why
    problems += [why] if why else []
    dup = max((_similar(q["question"], a["question"]) for a in accepted), default=0.0)
    checks["unique"] = dup < 0.8
    problems += [] if checks["unique"] else ["it repeats an accepted question"]
    a = norm(q["answer"])
    leak = q["kind"] in ("mc", "short") and len(a) >= 2 and a in norm(stem(q["question"]))
    checks["no_leak"] = not leak
    problems += ["the answer is given away in the question"] if leak else []
    est = level_of(q, src)
    fits = level is None or abs(LEVELS.index(est) - LEVELS.index(level)) <= 1
    checks["level"] = fits
    problems += [] if fits else [f"it reads as {est}, not {level}"]
    return {"ok": not problems, "problems": problems, "checks": checks, "level": est, **info}
