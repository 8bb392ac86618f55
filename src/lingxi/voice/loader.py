"""Audio files as knowledge-base documents (registry kind ``loader``, one entry per extension).

The recording is transcribed with the configured transcriber (``[voice] transcriber``; the
language from ``[voice] kb_language`` or detected); the transcript is cached in
``$LINGXI_HOME/cache/transcripts/<file hash>.json``, so re-ingesting, or ingesting the same
recording into another KB, does not transcribe again. The document's text is one line per
segment; its chunks carry ``start_s`` / ``end_s`` metadata, which citations show as
``lecture.wav @ 00:12–00:18``.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from lingxi.config import Settings, load_settings
from lingxi.errors import LingxiError
from lingxi.knowledge.encoding import LoadError
from lingxi.types import Document
from lingxi.voice.base import Transcript


def cache_path(settings: Settings, digest: str, model: str, language: str | None) -> Path:
    """One file per recording, transcriber and language (the transcriber's name is hashed: it may be a path)."""
    key = hashlib.sha256(f"{model}\0{language or 'auto'}\0{settings.voice.zh_prompt}".encode()).hexdigest()[:16]
    return settings.home_dir / "cache" / "transcripts" / f"{digest}-{key}.json"


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:32]


def transcript_for(path: Path, settings: Settings | None = None, language: str | None = None) -> Transcript:
    """The transcript of `path`, from the cache when this exact file was transcribed before."""
    from lingxi.voice.resolve import open_transcriber

    settings = settings or load_settings()
    language = language or settings.voice.kb_language
    model = settings.voice.transcriber
    cached = cache_path(settings, _digest(path), model, language)
    if cached.exists():
        try:
            return Transcript.from_dict(json.loads(cached.read_text("utf-8")))
        except (ValueError, TypeError):
            pass  # a damaged cache entry is transcribed again
    transcript = open_transcriber(model, settings).transcribe(path, language=language)
    cached.parent.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(transcript.as_dict(), ensure_ascii=False), "utf-8")
    tmp.replace(cached)
    return transcript


def transcript_document(path: Path, transcript: Transcript) -> Document:
    lines, table, at = [], [], 0
    for s in transcript.segments:
        if not s.text:
            continue
        lines.append(s.text)
        table.append([at, at + len(s.text), s.start, s.end])
        at += len(s.text) + 1
    return Document(id=str(path), source=str(path), text="\n".join(lines),
                    metadata={"kind": "transcript", "segments": table, "language": transcript.language,
                              "duration_s": transcript.duration, "transcriber": transcript.model})


def load_audio(path: Path, data: bytes | None = None) -> list[Document]:
    """A recording as one timed transcript document (the bytes, already read and size-capped by ingest, are not needed:
    the decoder reads the file itself)."""
    try:
        transcript = transcript_for(Path(path))
    except LoadError:
        raise
    except LingxiError as exc:
        raise LoadError(exc.message, exc.hint) from exc
    if not transcript.text.strip():
        raise LoadError(f"'{Path(path).name}' has no speech that could be transcribed.", "check the recording has speech")
    return [transcript_document(Path(path), transcript)]
