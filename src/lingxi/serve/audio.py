"""OpenAI's audio API, offline: speech to text and text to speech.

    POST /v1/audio/transcriptions   multipart: file, model, language, prompt, response_format
                                    (json | text | srt | verbose_json | vtt), timestamp_granularities[]
    POST /v1/audio/translations     the same, into English
    POST /v1/audio/speech           JSON {model, input, voice, response_format, speed} -> audio bytes

OpenAI's model names (whisper-1, gpt-4o-transcribe, tts-1, ...) and voices (alloy, nova, ...)
mean lingxi's configured transcriber and voices; lingxi's own names (whisper-base, piper-joe,
espeak, zh, en) work as well.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.datastructures import UploadFile

from lingxi.errors import LingxiError
from lingxi.serve.errors import ApiError, from_exception, validation_error
from lingxi.serve.state import Caller, read_json

router = APIRouter()
MAX_AUDIO_BYTES = 25 * 1024 * 1024  # OpenAI's own limit for an uploaded file
OPENAI_ASR = {"whisper-1", "gpt-4o-transcribe", "gpt-4o-mini-transcribe"}
OPENAI_TTS = {"tts-1", "tts-1-hd", "gpt-4o-mini-tts"}
OPENAI_VOICES = {"alloy", "ash", "ballad", "coral", "echo", "fable", "onyx", "nova", "sage", "shimmer", "verse"}
FORMATS = ("json", "text", "srt", "verbose_json", "vtt")
MEDIA = {"wav": "audio/wav", "mp3": "audio/mpeg", "flac": "audio/flac", "opus": "audio/ogg", "aac": "audio/aac",
         "pcm": "audio/L16"}
_LOCK = threading.Lock()  # one transcription at a time per process: the model uses every core it has


class TranscriptionForm(BaseModel):
    """The multipart fields of /v1/audio/transcriptions (declared in the OpenAPI document)."""

    model_config = ConfigDict(extra="ignore")

    file: bytes = Field(json_schema_extra={"format": "binary"})
    model: str = "whisper-1"
    language: str | None = Field(None, max_length=16)
    prompt: str | None = Field(None, max_length=2000)
    response_format: Literal["json", "text", "srt", "verbose_json", "vtt"] = "json"
    temperature: float = Field(0.0, ge=0.0, le=1.0)


class SpeechRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    model: str = Field("tts-1", max_length=200)
    input: str = Field(min_length=1, max_length=4096)
    voice: str = Field("alloy", max_length=200)
    response_format: Literal["mp3", "opus", "aac", "flac", "wav", "pcm"] = "mp3"
    speed: float = Field(1.0, ge=0.25, le=4.0)
    instructions: str | None = Field(None, max_length=4096)


FORMS = {"/v1/audio/transcriptions": TranscriptionForm, "/v1/audio/translations": TranscriptionForm}
BODIES = {"/v1/audio/speech": SpeechRequest}


def _caller(request: Request) -> Caller:
    return request.app.state.lingxi.authenticate(request)


async def _form(request: Request) -> dict[str, Any]:
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise ApiError(400, "Send the audio as multipart/form-data with a 'file' field.", param="file", code="invalid_value")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_AUDIO_BYTES + 65536:
        raise ApiError(413, f"The upload is {int(declared) >> 20} MiB; send at most 25 MiB of audio.", param="file",
                       code="file_too_large")
    try:
        form = await request.form(max_files=1, max_fields=32, max_part_size=MAX_AUDIO_BYTES)
    except Exception as exc:  # starlette's MultiPartException and the parser's own errors
        raise ApiError(400, f"The multipart body could not be read: {exc}.", code="invalid_value") from exc
    fields: dict[str, Any] = {"granularity": []}
    for key, value in form.multi_items():
        if key.startswith("timestamp_granularities"):
            fields["granularity"].append(str(value))
        elif isinstance(value, UploadFile):
            fields[key] = await value.read(MAX_AUDIO_BYTES + 1)
            fields[f"{key}.name"] = value.filename or "audio"
        else:
            fields.setdefault(key, value)
    if not isinstance(fields.get("file"), bytes):
        raise ApiError(400, "The 'file' field is missing: attach the audio as a file.", param="file", code="invalid_value")
    if len(fields["file"]) > MAX_AUDIO_BYTES:
        raise ApiError(413, "The audio is over 25 MiB; split it.", param="file", code="file_too_large")
    return fields


def _transcriber_name(model: str, settings: Any) -> str | None:
    return None if model in OPENAI_ASR or not model else model


def _run(srv: Any, fields: dict[str, Any], task: str, granularity: list[str]) -> Any:
    from lingxi.voice.audio import decode
    from lingxi.voice.resolve import open_transcriber

    samples = decode(fields["file"], name=fields.get("file.name", ""))
    transcriber = open_transcriber(_transcriber_name(fields["model"], srv.settings), srv.settings)
    with _LOCK:
        return transcriber.transcribe(samples, language=fields.get("language"), task=task,
                                      word_timestamps="word" in granularity, prompt=fields["prompt"])


async def _transcribe(request: Request, task: str) -> Response:
    from lingxi.voice import formats

    srv = request.app.state.lingxi
    fields = await _form(request)
    granularity = fields.pop("granularity")
    try:
        form = TranscriptionForm.model_validate(fields)
    except ValidationError as exc:
        raise validation_error(exc.errors()) from exc
    if form.language and not form.language.isalpha():
        raise ApiError(400, f"Unknown language '{form.language}'; use an ISO-639-1 code such as zh or en.",
                       param="language", code="invalid_value")
    args = {**fields, "model": form.model, "language": (form.language or None) if task == "transcribe" else None,
            "prompt": (form.prompt or "").strip() or None}
    try:
        t = await asyncio.to_thread(_run, srv, args, task, granularity)
    except LingxiError as exc:
        raise _api_error(exc) from exc
    fmt = form.response_format
    if fmt == "text":
        return PlainTextResponse(t.text + "\n")
    if fmt == "srt":
        return PlainTextResponse(formats.srt(t), media_type="application/x-subrip")
    if fmt == "vtt":
        return PlainTextResponse(formats.vtt(t), media_type="text/vtt")
    if fmt == "verbose_json":
        return JSONResponse(formats.verbose_json(t, task, words="word" in granularity))
    return JSONResponse({"text": t.text, "usage": {"type": "duration", "seconds": int(round(t.duration))}})


def _api_error(exc: LingxiError, param: str = "model") -> ApiError:
    from lingxi.errors import ConfigError
    from lingxi.voice.audio import AudioError

    if isinstance(exc, AudioError):
        return ApiError(400, str(exc), param="file", code="invalid_audio")
    if isinstance(exc, ConfigError):
        return ApiError(400, str(exc), param=param, code="invalid_value")
    return from_exception(exc)


@router.post("/v1/audio/transcriptions")
async def transcriptions(request: Request, who: Caller = Depends(_caller)) -> Response:
    return await _transcribe(request, "transcribe")


@router.post("/v1/audio/translations")
async def translations(request: Request, who: Caller = Depends(_caller)) -> Response:
    return await _transcribe(request, "translate")


def _speech(req: SpeechRequest, settings: Any) -> tuple[bytes, str]:
    from lingxi.voice.audio import encode, mp3_available
    from lingxi.voice.speak import speak

    fmt = req.response_format
    if fmt == "mp3" and not mp3_available():
        fmt = "wav"  # said in the Content-Type; no mp3 encoder in this PyAV build
    voice = req.voice if req.voice not in OPENAI_VOICES else "auto"
    if req.model not in OPENAI_TTS and req.model not in ("auto", "zh", "en") and voice == "auto":
        voice = req.model  # a lingxi voice named as the model
    speech = speak(req.input, voice=voice, rate=req.speed, settings=settings)
    return encode(speech.samples, speech.sample_rate, fmt), fmt


@router.post("/v1/audio/speech")
async def speech(request: Request, who: Caller = Depends(_caller)) -> Response:
    srv = request.app.state.lingxi
    try:
        req = SpeechRequest.model_validate(await read_json(request, srv.serve.max_body_bytes))
    except ValidationError as exc:
        raise validation_error(exc.errors()) from exc
    try:
        data, fmt = await asyncio.to_thread(_speech, req, srv.settings)
    except LingxiError as exc:
        raise _api_error(exc, param="voice") from exc
    return Response(data, media_type=MEDIA[fmt])
