"""Stream what the user will keep: each sentence of the draft is verified as soon as it is
complete, and only the supported ones are handed on (with their [n] markers).

    sv = SentenceStream(sources, question, vectors, thresholds, language, on_sentence=print)
    for piece in model_stream: sv.feed(piece)
    verdicts = sv.finish()            # every claim's verdict (the ones streamed included), in order

A claim is complete once the next one has begun (a marker right after a full stop still
belongs to the sentence before it: "… port 8700. [1] It …"), or when the draft ends.
Echoed prompt text ("Question: … Answer in English, citing sources like [1]:") is cut off
(`clean_draft`), so it is neither verified nor shown.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from typing import Any

from lingxi.rag import lang as L
from lingxi.rag.answer import SentenceVerdict, Source, Thresholds
from lingxi.rag.verify import Claim, _with_marks, split_claims, verify

# the prompt's own lines, as small models echo them (lingxi.rag.lang.USER)
_ECHO = re.compile(r"^\s*(?:question|sources?|answer in english[^\n]*|问题|资料|请用中文回答[^\n]*)\s*[:：]", re.I | re.M)
STOP = ["\nQuestion:", "\nSources:", "\n问题：", "\n资料：", "<source", "</source"]  # stop sequences for generation


def clean_draft(text: str) -> str:
    """The draft without echoed prompt lines: a leading echo is skipped, a later one ends the draft."""
    lines = text.split("\n")
    kept: list[str] = []
    for line in lines:
        if _ECHO.match(line):
            if any(k.strip() for k in kept):
                break  # the model started over with the prompt: the answer ended before
            continue
        kept.append(line)
    return "\n".join(kept).strip()


class SentenceStream:
    """Incremental verification of a streamed draft (see the module docstring)."""

    def __init__(self, sources: Sequence[Source], question: str, vectors: Any, thresholds: Thresholds | None,
                 language: L.Lang, on_sentence: Callable[[str], None] | None = None, judge_model: Any = None) -> None:  # fmt: skip
        self.sources, self.question, self.vectors, self.thresholds = sources, question, vectors, thresholds
        self.language, self.on_sentence, self.judge_model = language, on_sentence, judge_model
        self.text = ""
        self.verdicts: list[SentenceVerdict] = []
        self._claims: list[Claim] = []
        self._judge: Any = None
        self.shown = 0  # sentences handed on
        self.spent = 0.0  # seconds spent verifying while the draft streamed

    def feed(self, piece: str) -> None:
        self.text += piece
        t = time.perf_counter()
        claims = split_claims(clean_draft(self.text))
        self._settle(claims[:-1])  # the last one may still grow
        self.spent += time.perf_counter() - t

    def finish(self) -> list[SentenceVerdict]:
        self._settle(split_claims(clean_draft(self.text)))
        return self.verdicts

    def _settle(self, claims: list[Claim]) -> None:
        new = claims[len(self.verdicts):]
        if not new:
            return
        if self._judge is None:
            from lingxi.rag.entail import Entailment

            t = self.thresholds or Thresholds()
            self._judge = Entailment(self.vectors.kb.embedder if self.vectors is not None else None,
                                     judge_model=self.judge_model, threshold=t.support_head,
                                     cross_threshold=t.support_head_cross)  # fmt: skip
        for v in verify(new, self.sources, self.question, self.vectors, self.thresholds, judge=self._judge):
            self.verdicts.append(v)
            if v.verdict == "supported" and self.on_sentence is not None:
                sep = "" if self.language == "zh" or not self.shown else " "
                self.on_sentence(sep + _with_marks(v.text, v.citations, self.language))
                self.shown += 1
