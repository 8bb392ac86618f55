"""Transcripts as text, SubRip (.srt), WebVTT (.vtt), JSON, and time labels ("01:02–01:09")."""

from __future__ import annotations

from lingxi.voice.base import Transcript


def clock(seconds: float) -> str:
    """"12:34" (or "1:02:03" past an hour) for a time in a recording."""
    total = int(round(max(seconds, 0.0)))
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


def span(start: float | None, end: float | None) -> str:
    return f"{clock(start or 0.0)}–{clock(end if end is not None else start or 0.0)}"


def _stamp(seconds: float, sep: str) -> str:
    ms = int(round(max(seconds, 0.0) * 1000))
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def srt(t: Transcript) -> str:
    blocks = [f"{n}\n{_stamp(s.start, ',')} --> {_stamp(s.end, ',')}\n{s.text}\n"
              for n, s in enumerate(t.segments, start=1)]
    return "\n".join(blocks)


def vtt(t: Transcript) -> str:
    blocks = [f"{_stamp(s.start, '.')} --> {_stamp(s.end, '.')}\n{s.text}\n" for s in t.segments]
    return "WEBVTT\n\n" + "\n".join(blocks)


def verbose_json(t: Transcript, task: str = "transcribe", words: bool = False) -> dict:
    """OpenAI's verbose_json shape: text, language, duration, segments (and words on request)."""
    out: dict = {"task": task, "language": t.language, "duration": t.duration, "text": t.text,
                 "segments": [{"id": s.id, "seek": 0, "start": s.start, "end": s.end, "text": s.text, "tokens": [],
                               "temperature": 0.0, "avg_logprob": s.avg_logprob, "compression_ratio": 0.0,
                               "no_speech_prob": s.no_speech_prob} for s in t.segments]}
    if words:
        out["words"] = [{"word": w.text.strip(), "start": w.start, "end": w.end} for s in t.segments for w in s.words]
    return out
