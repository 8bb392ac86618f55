"""The two voice contracts, beside ChatModel and EmbeddingModel, and what they exchange.

    transcriber.transcribe("lecture.mp3", language="zh") -> Transcript (segments with times, words)
    synthesizer.synthesize("你好", language="zh", rate=1.0) -> Speech (float32 mono samples, rate)

Constructing a provider loads nothing; the first call does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

Progress = Callable[[float, float], None]  # (seconds transcribed, total seconds)


@dataclass
class Word:
    start: float
    end: float
    text: str
    probability: float = 0.0


@dataclass
class Segment:
    id: int
    start: float
    end: float
    text: str
    words: list[Word] = field(default_factory=list)
    avg_logprob: float = 0.0
    no_speech_prob: float = 0.0


@dataclass
class Transcript:
    text: str
    language: str
    duration: float
    segments: list[Segment] = field(default_factory=list)
    model: str = ""
    seconds: float = 0.0  # wall time spent transcribing

    def as_dict(self) -> dict:
        from dataclasses import asdict

        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Transcript:
        segs = [Segment(**{**s, "words": [Word(**w) for w in s.get("words", [])]}) for s in data.get("segments", [])]
        return cls(**{**data, "segments": segs})


@dataclass
class Speech:
    samples: np.ndarray  # float32 mono in [-1, 1]
    sample_rate: int

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate if self.sample_rate else 0.0


@runtime_checkable
class Transcriber(Protocol):
    """Speech to text. `language` is "zh", "en", ... or None to detect it (less reliable). `prompt`: words the
    recording uses (names, terms), as in OpenAI's API; a provider may ignore it."""

    name: str

    def transcribe(self, audio: str | Path | np.ndarray, language: str | None = None, *, task: str = "transcribe",
                   word_timestamps: bool = False, progress: Progress | None = None,
                   prompt: str | None = None) -> Transcript: ...


@runtime_checkable
class Synthesizer(Protocol):
    """Text to speech. `language` is "zh" or "en"; `rate` 1.0 is the voice's own speed."""

    name: str

    def synthesize(self, text: str, language: str = "en", rate: float = 1.0) -> Speech: ...
