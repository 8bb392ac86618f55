"""Speech to text and text to speech, offline, behind the `Transcriber` and `Synthesizer` protocols.

    from lingxi.voice import open_transcriber, speak
    transcript = open_transcriber("whisper-base").transcribe("lecture.mp3", language="zh")
    speech = speak("你好，欢迎来到灵犀。", voice="zh")

Importing this package loads nothing heavy (lingxi.config imports its settings).
"""

from __future__ import annotations

from typing import Any

__all__ = ["Segment", "Speech", "Synthesizer", "Transcriber", "Transcript", "Word", "open_synthesizer",
           "open_transcriber", "speak"]


def __getattr__(name: str) -> Any:
    if name in ("Segment", "Speech", "Synthesizer", "Transcriber", "Transcript", "Word"):
        from lingxi.voice import base

        return getattr(base, name)
    if name in ("open_transcriber", "open_synthesizer"):
        from lingxi.voice import resolve

        return getattr(resolve, name)
    if name == "speak":
        from lingxi.voice.speak import speak

        return speak
    raise AttributeError(name)
