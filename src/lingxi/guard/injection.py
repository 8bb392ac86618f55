"""Prompt-injection detection: heuristics (`lingxi.guard.heuristics`), an e5 classifier head,
and, as an optional extra, the packaged English model ``metatronnanoguard``.

``deep="auto"`` asks the e5 head only when a text has a cue word (ignore, system, 指令, 扮演, ...)
and the heuristics did not already decide: benign short prompts cost microseconds.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Literal

from lingxi.errors import missing_extra
from lingxi.guard import heads as H
from lingxi.guard import heuristics
from lingxi.guard.base import Role, Span, Verdict, verdict

Deep = Literal["auto", "always", "never", "lexicon"]
THRESHOLD = 0.5


class Injection:
    name = "injection"

    def __init__(self, settings: Any = None, *, deep: Deep = "auto", threshold: float = THRESHOLD) -> None:
        self.deep = getattr(getattr(settings, "guard", None), "deep", None) or deep  # [guard] deep, when given
        self.threshold = threshold

    def scores(self, text: str) -> tuple[dict[str, float], list[Span]]:
        rule_score, hits = heuristics.score(text)
        spans = [Span(s, e, name, w) for name, w, s, e in hits if w >= self.threshold]
        model = 0.0
        ask = self.deep == "always" or (self.deep == "auto" and rule_score < 0.9 and heuristics.CUE.search(text))
        if ask and text.strip():
            from lingxi.guard.embed import embed

            model = float(H.load().e5(embed([text]))["injection"][0])
        return {"injection": max(rule_score, model)}, spans

    def check(self, text: str, role: Role = "input") -> Verdict:
        t = time.perf_counter()
        scores, spans = self.scores(text)
        v = verdict("injection", role, scores, self.threshold, spans, time.perf_counter() - t)
        if v.flagged and spans:
            v.reason = f"injection: {spans[0].label} ({scores['injection']:.2f})"
        return v


class NanoGuardCheck:
    """``nanoguard``: the packaged English injection classifier (pip install 'lingxi[nanoguard]')."""

    name = "nanoguard"
    _model: Any = None
    _lock = threading.Lock()

    def __init__(self, settings: Any = None, *, threshold: float = 0.5) -> None:
        self.threshold = threshold

    @classmethod
    def model(cls) -> Any:
        with cls._lock:
            if cls._model is None:
                try:
                    from nanoguard import NanoGuard
                except ImportError as exc:
                    raise missing_extra("metatronnanoguard", "nanoguard") from exc
                cls._model = NanoGuard(device="cpu")
            return cls._model

    def check(self, text: str, role: Role = "input") -> Verdict:
        t = time.perf_counter()
        result = self.model().scan(text)
        return verdict("nanoguard", role, {"injection": float(result.injection_score)}, self.threshold,
                       seconds=time.perf_counter() - t)
