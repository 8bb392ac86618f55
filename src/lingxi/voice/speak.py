"""Speaking text: normalise it, split it by language, give each run to that language's voice,
and join the pieces at one sample rate.

    >>> speech = speak("灵犀 supports RAG，欢迎使用。", voice="auto")
    >>> open("out.wav", "wb").write(encode(speech.samples, speech.sample_rate))
"""

from __future__ import annotations

import re

import numpy as np

from lingxi.config import Settings, load_settings
from lingxi.errors import ConfigError
from lingxi.voice.audio import resample
from lingxi.voice.base import Speech
from lingxi.voice.normalize import normalize, split_languages
from lingxi.voice.resolve import open_synthesizer, voice_name

MAX_CHARS = 20_000
PAUSE_S = 0.12


def speak(text: str, voice: str | None = None, rate: float = 1.0, settings: Settings | None = None) -> Speech:
    """Speech for `text`. voice: "auto" (each language its configured voice), "zh"/"en" (the same,
    naming the main language), or a voice alias / PROVIDER:TARGET used for every run it can read."""
    settings = settings or load_settings()
    if not text or not text.strip():
        raise ConfigError("There is no text to speak.", "pass some words, e.g. lingxi speak \"你好\" -o a.wav")
    if len(text) > MAX_CHARS:
        raise ConfigError(f"The text is too long to speak at once ({len(text)} characters).",
                          f"split it into parts under {MAX_CHARS} characters")
    if not 0.25 <= rate <= 4.0:
        raise ConfigError(f"The speaking rate {rate} is out of range.", "use a rate between 0.25 and 4 (1 = normal)")
    pieces: list[Speech] = []
    for language, run in split_languages(text):
        said = normalize(run, language)
        if not re.search(r"\w", said):
            continue
        name = voice_name(voice, language, settings)
        synth = open_synthesizer(name, settings)
        only = getattr(getattr(synth, "spec", None), "language", None)
        if only and only != language:  # a one-language voice (piper-joe, zh-baker) hands other runs to their own voice
            synth = open_synthesizer(voice_name(language, language, settings), settings)
        pieces.append(synth.synthesize(said, language=language, rate=rate))
    if not pieces:
        raise ConfigError("The text has nothing to say aloud (only punctuation or symbols).", "pass some words")
    rate_out = max(p.sample_rate for p in pieces)
    gap = np.zeros(int(PAUSE_S * rate_out), dtype=np.float32)
    parts: list[np.ndarray] = []
    for n, p in enumerate(pieces):
        parts += ([gap] if n else []) + [resample(p.samples, p.sample_rate, rate_out)]
    return Speech(samples=np.concatenate(parts).astype(np.float32), sample_rate=rate_out)
