"""A recording or a text file summarised as a tree: parts (chapters, with their time range in a
recording), key points, and the whole — the same chunk -> section -> document tree that
`lingxi kb summarize` builds (lingxi.knowledge.summary), without a knowledge base.

    >>> report = summarize_file(Path("lecture.mp3"), open_chat("qwen2.5-1.5b"), language="zh")
    >>> report["chapters"][0]  # {"n": 1, "start_s": 0.0, "end_s": 312.4, "title": ..., "summary": ...}
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from lingxi.knowledge import summary as tree
from lingxi.knowledge.splitter import Splitter
from lingxi.types import Chunk, SamplingParams

POINTS = ("List the {n} most important points of the following summary, in the language it is written in, "
          "one per line, each starting with '- '. Reply with the list only.\n\n{text}")


def _chunks(path: Path, language: str | None) -> tuple[list[Chunk], str]:
    from lingxi.knowledge.loaders import load_file
    from lingxi.voice.loader import transcript_document, transcript_for
    from lingxi.voice.settings import AUDIO_EXTS

    if path.suffix.lower() in AUDIO_EXTS:
        docs, kind = [transcript_document(path, transcript_for(path, language=language))], "audio"
    else:
        docs, kind = load_file(path), "text"
    splitter = Splitter(max_tokens=256, overlap=0)
    return [c for d in docs for c in splitter.split(d)], kind


def _points(text: str) -> list[str]:
    lines = [re.sub(r"^\s*(?:[-*•]|\d+[.)、])\s*", "", line).strip() for line in text.splitlines()]
    return [line for line in lines if line]


def summarize_file(path: Path, model: Any, *, language: str | None = None, max_chars: int = 3000,
                   points: int = 5, max_tokens: int = 256) -> dict[str, Any]:
    """{"file", "kind", "duration_s", "summary", "key_points", "chapters": [{"n", "start_s", "end_s", "title",
    "summary"}], "model_calls", "seconds"}; times are None for text files."""
    started = time.perf_counter()
    chunks, kind = _chunks(path, language)
    if not chunks:
        from lingxi.errors import ConfigError

        raise ConfigError(f"'{path.name}' has no text to summarise.", "check the file has words or speech in it")
    params = SamplingParams(max_tokens=max_tokens, temperature=0.0)
    calls = 0

    def ask(prompt: str) -> str:
        nonlocal calls
        calls += 1
        return (model.chat([{"role": "user", "content": prompt}], params).text or "").strip()

    parts = list(tree._sections(chunks, max_chars))
    chapters = []
    for n, part in enumerate(parts, start=1):
        text = ask(tree.PROMPT.format(sentences=3, text=tree._joined(part, max_chars)))
        title = re.split(r"(?<=[.!?。！？])\s*", text, maxsplit=1)[0][:80]
        times = [(c.metadata.get("start_s"), c.metadata.get("end_s")) for c in part]
        chapters.append({"n": n, "start_s": times[0][0], "end_s": times[-1][1], "title": title, "summary": text})
    if len(chapters) == 1:
        whole = chapters[0]["summary"]
    else:
        joined = "\n\n".join(c["summary"] for c in chapters)[:max_chars]
        whole = ask(tree.PROMPT.format(sentences=4, text=joined))
    listed = _points(ask(POINTS.format(n=points, text="\n\n".join([whole, *(c["summary"] for c in chapters)])[:max_chars])))
    duration = chunks[-1].metadata.get("duration_s") if kind == "audio" else None
    return {"file": str(path), "kind": kind, "duration_s": duration, "summary": whole, "key_points": listed[:points],
            "chapters": chapters, "model_calls": calls, "seconds": round(time.perf_counter() - started, 3)}
