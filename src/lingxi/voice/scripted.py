"""Deterministic fakes for tests: `scripted:TEXT` transcribes any audio as TEXT (one segment per
sentence, spread over the audio's duration); the scripted voice speaks a quiet tone whose
length follows the text."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from lingxi.config import Settings
from lingxi.voice.audio import SAMPLE_RATE, decode
from lingxi.voice.base import Progress, Segment, Speech, Transcript
from lingxi.voice.settings import VoiceSpec


class ScriptedTranscriber:
    def __init__(self, name: str, spec: VoiceSpec, settings: Settings) -> None:
        self.name, self.text = name, spec.voice or "scripted transcript"

    @classmethod
    def from_spec(cls, name: str, spec: VoiceSpec, settings: Settings) -> ScriptedTranscriber:
        return cls(name, spec, settings)

    def transcribe(self, audio: str | Path | np.ndarray, language: str | None = None, *, task: str = "transcribe",
                   word_timestamps: bool = False, progress: Progress | None = None,
                   prompt: str | None = None) -> Transcript:
        samples = audio if isinstance(audio, np.ndarray) else decode(audio)
        duration = round(len(samples) / SAMPLE_RATE, 2)
        sentences = [s for s in re.split(r"(?<=[.!?。！？])\s*", self.text) if s.strip()] or [self.text]
        step = duration / len(sentences)
        segments = [Segment(id=n, start=round(n * step, 2), end=round((n + 1) * step, 2), text=s)
                    for n, s in enumerate(sentences)]
        if progress:
            progress(duration, duration)
        return Transcript(text=" ".join(sentences), language=language or "en", duration=duration, segments=segments,
                          model=self.name)


class ScriptedSynthesizer:
    def __init__(self, name: str, spec: VoiceSpec, settings: Settings) -> None:
        self.name, self.spec = name, spec

    @classmethod
    def from_spec(cls, name: str, spec: VoiceSpec, settings: Settings) -> ScriptedSynthesizer:
        return cls(name, spec, settings)

    def synthesize(self, text: str, language: str = "en", rate: float = 1.0) -> Speech:
        rate_hz = 16_000
        seconds = max(0.2, 0.06 * len(text) / rate)
        t = np.arange(int(seconds * rate_hz)) / rate_hz
        return Speech(samples=(0.1 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), sample_rate=rate_hz)
