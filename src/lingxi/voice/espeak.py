"""The always-available voice: espeak-ng (Debian's `espeak-ng` package), run as a program.

Instant and robotic. Chinese is fed as numbered pinyin (pypinyin) to ``cmn-latn-pinyin``:
Debian 12's ``cmn`` voice mangles characters.
"""

from __future__ import annotations

import re
import shutil
import subprocess

from lingxi.config import Settings
from lingxi.errors import ModelError
from lingxi.voice.audio import read_wav
from lingxi.voice.base import Speech
from lingxi.voice.settings import VoiceSpec

WPM = 160  # espeak-ng's own default speed, words per minute
WPM_ZH = 112  # syllables: at 160 Whisper base hears espeak's Mandarin at CER 1.1-2.0, at 112 about 0.5-0.7 (110: 2.9 on one sentence)
VOICES = {"zh": "cmn-latn-pinyin", "en": "en-us"}
_PUNCT = str.maketrans({"，": ", ", "。": ". ", "！": "! ", "？": "? ", "；": "; ", "：": ": ", "、": ", ",
                        "（": " (", "）": ") ", "“": " ", "”": " ", "‘": " ", "’": " ", "《": " ", "》": " "})


def binary() -> str:
    found = shutil.which("espeak-ng") or shutil.which("espeak")
    if not found:
        raise ModelError("The espeak-ng program is not installed.", "install it: apt-get install espeak-ng")
    return found


def pinyin(text: str) -> str:
    """Chinese characters as numbered pinyin syllables ("ni3 hao3"); other text passes through."""
    try:
        from pypinyin import Style, lazy_pinyin
    except ImportError as exc:
        raise ModelError("Speaking Chinese with espeak-ng needs pypinyin.", "pip install 'lingxi[voice]'") from exc
    syllables = lazy_pinyin(text.translate(_PUNCT), style=Style.TONE3, neutral_tone_with_five=True, errors="default")
    return re.sub(r"\s+", " ", " ".join(syllables)).strip()


class Espeak:
    def __init__(self, name: str, spec: VoiceSpec, settings: Settings) -> None:
        self.name, self.spec = name, spec

    @classmethod
    def from_spec(cls, name: str, spec: VoiceSpec, settings: Settings) -> Espeak:
        return cls(name, spec, settings)

    def synthesize(self, text: str, language: str = "en", rate: float = 1.0) -> Speech:
        voice = self.spec.voice or VOICES.get(language, language)
        said = pinyin(text) if voice.startswith("cmn") else text
        wpm = (WPM_ZH if voice.startswith("cmn") else WPM) * rate
        cmd = [binary(), "-v", voice, "-s", str(max(80, min(450, int(wpm)))), "--stdout", "--", said]
        try:
            result = subprocess.run(cmd, capture_output=True, timeout=120, check=False)
        except subprocess.TimeoutExpired as exc:
            raise ModelError("espeak-ng took longer than 2 minutes.", "speak shorter texts") from exc
        if result.returncode != 0 or not result.stdout:
            raise ModelError(f"espeak-ng failed: {result.stderr.decode(errors='replace').strip()[:200] or 'no audio'}.",
                             "check the voice name: espeak-ng --voices")
        samples, sample_rate = read_wav(result.stdout)
        return Speech(samples=samples, sample_rate=sample_rate)
