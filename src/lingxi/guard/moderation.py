"""Moderation, Chinese and English: hate/harassment, sexual, violence, self-harm, illegal activity.

Three readers, cheapest first:
1. the lexicon (`lingxi.guard.lexicon`): strong phrases flag on their own;
2. the character model (hashed char 1-3-grams, trained on all of COLD train): offensive or not,
   in tens of microseconds;
3. the e5 heads (one per category on multilingual-e5-small vectors): meaning, in either language.

``deep="auto"`` (the default) asks e5 only when the cheap readers are unsure: a lexicon hit, a
character score between 0.2 and 0.8, or a text that is mostly not Chinese (the character model
learned Chinese). ``"always"`` asks it for every text, ``"never"`` never; ``"lexicon"`` reads phrases only (the
per-token pass over a stream). A category's score is
the highest of its readers'; e5 scores are calibrated so that 0.5 is each head's flag line
(at most 0.5% of the training negatives above it, cross-validated: see heads.json).
"""

from __future__ import annotations

import re
import time
from typing import Any, Literal

from lingxi.guard import heads as H
from lingxi.guard import lexicon
from lingxi.guard.base import Role, Span, Verdict, verdict
from lingxi.guard.datasets import CATEGORIES

Deep = Literal["auto", "always", "never", "lexicon"]
MIN_HAN = 4  # the character model reads texts of at least this many Chinese characters (one character says nothing)
THRESHOLD = 0.5
_HAN = re.compile(r"[\u4e00-\u9fff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
UNSURE = (0.2, 0.8)


def mostly_chinese(text: str) -> bool:
    return len(_HAN.findall(text)) >= len(_LATIN_WORD.findall(text))


class Moderation:
    name = "moderation"

    def __init__(self, settings: Any = None, *, deep: Deep = "auto", threshold: float = THRESHOLD,
                 thresholds: dict[str, float] | None = None) -> None:
        self.deep = getattr(getattr(settings, "guard", None), "deep", None) or deep  # [guard] deep, when given
        self.thresholds = {c: threshold for c in CATEGORIES} | (thresholds or {})

    def scores(self, text: str) -> tuple[dict[str, float], list[Span], bool]:
        """Per-category scores, lexicon spans, and whether e5 was asked."""
        heads = H.load()
        lex, hits = lexicon.scan(text)
        han = len(_HAN.findall(text))
        char = float(heads.char([text])[0]) if han >= MIN_HAN and self.deep != "lexicon" else 0.0
        deep = self.deep == "always" or (self.deep == "auto" and (
            bool(lex) or UNSURE[0] <= char <= UNSURE[1]))
        model = {c: 0.0 for c in CATEGORIES}
        model["hate"] = char
        if deep and text.strip():
            from lingxi.guard.embed import embed

            e5 = heads.e5(embed([text]))
            for c in CATEGORIES:
                model[c] = max(model[c], float(e5[c][0]))  # hate: the higher of the char and e5 models
        scores = {c: max(model[c], lex.get(c, 0.0)) for c in CATEGORIES}
        spans = [Span(s, e, c, w) for s, e, c, w in hits if w >= self.thresholds[c]]
        return scores, spans, deep

    def check(self, text: str, role: Role = "input") -> Verdict:
        t = time.perf_counter()
        scores, spans, _deep = self.scores(text)
        return verdict("moderation", role, scores, self.thresholds, spans, time.perf_counter() - t)
