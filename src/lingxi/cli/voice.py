"""`lingxi transcribe FILE` and `lingxi speak TEXT -o out.wav`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from lingxi.cli.common import JsonOpt, err, out, print_json, read_text
from lingxi.config import load_settings
from lingxi.errors import ConfigError

LANGUAGES = ("zh", "en", "auto")


def _language(language: str) -> str | None:
    if language not in LANGUAGES and not (len(language) == 2 and language.isalpha()):
        raise ConfigError(f"Unknown language '{language}'.", "use zh, en, auto or another two-letter code")
    return None if language == "auto" else language


def transcribe(
    file: Annotated[Path, typer.Argument(help="A recording: wav, mp3, m4a, ogg, webm, flac.", show_default=False)],
    language: Annotated[str, typer.Option("--language", "-l", help="zh, en or auto (detection is unreliable on short clips).")] = "auto",
    model: Annotated[str | None, typer.Option("--model", "-m", help="Speech model: whisper-base, whisper-tiny-en or an alias.", show_default=False)] = None,
    srt: Annotated[bool, typer.Option("--srt", help="Print SubRip subtitles.")] = False,
    vtt: Annotated[bool, typer.Option("--vtt", help="Print WebVTT subtitles.")] = False,
    words: Annotated[bool, typer.Option("--words", help="Word timestamps (in --json).")] = False,
    translate: Annotated[bool, typer.Option("--translate", help="Translate the speech into English.")] = False,
    prompt: Annotated[str | None, typer.Option("--prompt", help="Words the recording uses (names, terms), e.g. 灵犀.", show_default=False)] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file instead of the terminal.", show_default=False)] = None,
    as_json: JsonOpt = False,
) -> None:
    """Speech to text, offline (Whisper), with segment and word timestamps.

    --json prints {"text", "language", "duration", "segments": [{"id", "start", "end", "text", "words"}], "model", "seconds"}.
    """
    from lingxi.voice import formats
    from lingxi.voice.audio import decode
    from lingxi.voice.resolve import open_transcriber

    if sum((srt, vtt, as_json)) > 1:
        raise ConfigError("--srt, --vtt and --json each choose the output; pass only one.", "pick one format")
    settings = load_settings()
    lang = _language(language)
    samples = decode(file)  # unreadable audio fails here, before the model loads
    transcriber = open_transcriber(model, settings)
    transcript = transcriber.transcribe(samples, language=lang, task="translate" if translate else "transcribe",
                                        word_timestamps=words or as_json, progress=_progress(len(samples) / 16_000),
                                        prompt=prompt)
    if srt:
        text = formats.srt(transcript)
    elif vtt:
        text = formats.vtt(transcript)
    elif as_json:
        data = transcript.as_dict()
        if not words:
            for s in data["segments"]:
                s.pop("words", None)
        text = json.dumps(data, ensure_ascii=False, indent=2)
    else:
        text = transcript.text
    if output:
        output.write_text(text.rstrip("\n") + "\n", "utf-8")
        err.print(f"wrote {output} ({transcript.duration:.1f} s of audio, {len(transcript.segments)} segments)", markup=False)
    else:
        out.print(text, markup=False)


def _progress(duration: float):
    """A progress bar on the terminal for recordings longer than half a minute."""
    if duration < 30 or not err.is_terminal:
        return None
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(TextColumn("transcribing"), BarColumn(), TextColumn("{task.completed:.0f}/{task.total:.0f} s"),
                   TimeRemainingColumn(), console=err, transient=True)
    task = bar.add_task("t", total=duration)
    bar.start()

    def update(done: float, total: float) -> None:
        bar.update(task, completed=done, total=total)
        if done >= total - 0.5:
            bar.stop()

    return update


def speak(
    text: Annotated[str, typer.Argument(help="What to say; '-' reads standard input.", show_default=False)],
    output: Annotated[Path, typer.Option("--output", "-o", help="The audio file to write (.wav, or .mp3/.flac/.ogg).")] = Path("speech.wav"),
    voice: Annotated[str, typer.Option("--voice", "-v", help="zh, en, auto (each language its voice), or a voice: zh-baker, piper-joe, espeak, espeak:en-gb.")] = "auto",
    rate: Annotated[float, typer.Option("--rate", "-r", help="Speed: 1 is normal, 0.8 slower, 1.3 faster.")] = 1.0,
    as_json: JsonOpt = False,
) -> None:
    """Text to speech, offline: numbers, dates and units read out; Chinese and English mixed.

    --json prints {"file", "seconds", "sample_rate", "bytes"}.
    """
    from lingxi.voice.audio import encode
    from lingxi.voice.speak import speak as say

    fmt = {".wav": "wav", ".mp3": "mp3", ".flac": "flac", ".ogg": "opus", ".opus": "opus", ".aac": "aac"}.get(output.suffix.lower())
    if fmt is None:
        raise ConfigError(f"Cannot write audio as '{output.suffix or output.name}'.", "name the output .wav, .mp3, .flac or .ogg")
    speech = say(read_text(text), voice=voice, rate=rate, settings=load_settings())
    data = encode(speech.samples, speech.sample_rate, fmt)
    output.write_bytes(data)
    if as_json:
        print_json({"file": str(output), "seconds": round(speech.duration, 2), "sample_rate": speech.sample_rate, "bytes": len(data)})
    else:
        out.print(f"wrote {output} ({speech.duration:.1f} s)", markup=False)


def summarize(
    file: Annotated[Path, typer.Argument(help="A recording (wav, mp3, m4a, ...) or a text file (md, txt, pdf, ...).", show_default=False)],
    model: Annotated[str | None, typer.Option("--model", "-m", help="Chat model that writes the summaries (default: the configured one).", show_default=False)] = None,
    language: Annotated[str, typer.Option("--language", "-l", help="The recording's language: zh, en or auto.")] = "auto",
    chapter_chars: Annotated[int, typer.Option("--chapter-chars", help="Text per chapter, in characters.")] = 3000,
    as_json: JsonOpt = False,
) -> None:
    """Summarise a podcast, lecture or document: chapters with time ranges, key points, the whole.

    --json prints {"file", "kind", "duration_s", "summary", "key_points", "chapters": [{"n", "start_s", "end_s", "title", "summary"}], "model_calls", "seconds"}.
    """
    from lingxi.models.funnel import open_chat
    from lingxi.voice.audio import check_file
    from lingxi.voice.formats import span
    from lingxi.voice.summarize import summarize_file

    check_file(file)
    if chapter_chars < 200:
        raise ConfigError(f"--chapter-chars {chapter_chars} is too small.", "use at least 200")
    report = summarize_file(file, open_chat(model), language=_language(language), max_chars=chapter_chars)
    if as_json:
        print_json(report)
        return
    out.print(report["summary"], markup=False, style="bold")
    if report["key_points"]:
        out.print("\nKey points:", markup=False)
        for p in report["key_points"]:
            out.print(f"  - {p}", markup=False)
    out.print("\nChapters:", markup=False)
    for c in report["chapters"]:
        when = f"{span(c['start_s'], c['end_s'])}  " if c["start_s"] is not None else ""
        out.print(f"  {c['n']}. {when}{c['title']}", markup=False)
