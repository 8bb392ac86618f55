"""Reading and writing audio: decoding through PyAV (the library faster-whisper brings, no
ffmpeg download), WAV through the standard library, MP3 through PyAV when its build has an
encoder. Every failure is an `AudioError` sentence naming the file."""

from __future__ import annotations

import io
import os
import stat
import wave
from pathlib import Path

import numpy as np

from lingxi.errors import LingxiError
from lingxi.voice.settings import AUDIO_EXTS  # noqa: F401  (re-exported)

SAMPLE_RATE = 16_000  # what Whisper listens at
MAX_AUDIO_BYTES = 1 << 30


class AudioError(LingxiError):
    exit_code = 2


def check_file(path: str | Path) -> Path:
    """The path of a regular, non-empty file, or an AudioError saying why not (fifo, folder, empty, missing)."""
    path = Path(path).expanduser()
    try:
        st = path.stat()
    except FileNotFoundError:
        raise AudioError(f"The audio file '{path}' does not exist.", "check the path") from None
    except OSError as exc:
        raise AudioError(f"Could not read '{path}': {exc.strerror}.", "check its permissions") from exc
    if not stat.S_ISREG(st.st_mode):
        what = "a named pipe" if stat.S_ISFIFO(st.st_mode) else "a folder" if stat.S_ISDIR(st.st_mode) else "not a regular file"
        raise AudioError(f"'{path}' is {what}, not an audio file.", "pass a recording such as a .wav, .mp3 or .m4a file")
    if st.st_size == 0:
        raise AudioError(f"'{path.name}' is empty (0 bytes).", "record or export the audio again")
    if st.st_size > MAX_AUDIO_BYTES:
        raise AudioError(f"'{path.name}' is too large ({st.st_size >> 20} MiB).", "split it into parts under 1 GiB")
    if not os.access(path, os.R_OK):
        raise AudioError(f"Could not read '{path}': permission denied.", "check its permissions")
    return path


def decode(source: str | Path | bytes, sample_rate: int = SAMPLE_RATE, name: str = "") -> np.ndarray:
    """Any audio file PyAV can read (wav, mp3, m4a, ogg, webm, flac...) as float32 mono at `sample_rate`."""
    try:
        from faster_whisper.audio import decode_audio
    except ImportError as exc:
        raise AudioError("Reading audio needs the voice extra.", "pip install 'lingxi[voice]'") from exc
    if isinstance(source, bytes):
        if not source:
            raise AudioError(f"The audio{f' {name!r}' if name else ''} is empty (0 bytes).", "send a recording")
        label, stream = name or "the uploaded audio", io.BytesIO(source)
    else:
        path = check_file(source)
        label, stream = path.name, str(path)
    try:
        samples = decode_audio(stream, sampling_rate=sample_rate)
    except Exception as exc:  # PyAV raises its own InvalidDataError, EOFError, ValueError...
        raise AudioError(f"'{label}' is not audio that lingxi can decode ({type(exc).__name__}).",
                         "use a wav, mp3, m4a, ogg, webm or flac file; a renamed text file or a damaged download cannot be read") from exc
    if samples.size == 0:
        raise AudioError(f"'{label}' contains no audio samples.", "record or export the audio again")
    return samples.astype(np.float32, copy=False)


def to_pcm16(samples: np.ndarray) -> bytes:
    return (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2").tobytes()


def wav_bytes(samples: np.ndarray, sample_rate: int) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(to_pcm16(samples))
    return buf.getvalue()


def read_wav(data: bytes) -> tuple[np.ndarray, int]:
    """16-bit PCM WAV bytes (what espeak-ng writes) as float32 mono samples and their rate."""
    with wave.open(io.BytesIO(data), "rb") as w:
        rate, channels, width = w.getframerate(), w.getnchannels(), w.getsampwidth()
        frames = w.readframes(w.getnframes())
    if width != 2:
        raise AudioError(f"Only 16-bit WAV is supported here, not {8 * width}-bit.", "convert it to 16-bit PCM")
    samples = np.frombuffer(frames, dtype="<i2").astype(np.float32) / 32768.0
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1)
    return samples, rate


def resample(samples: np.ndarray, src: int, dst: int) -> np.ndarray:
    """Linear resampling: enough for joining voices that speak at different rates."""
    if src == dst or samples.size == 0:
        return samples
    n = int(round(len(samples) * dst / src))
    return np.interp(np.linspace(0, len(samples) - 1, n), np.arange(len(samples)), samples).astype(np.float32)


def mp3_available() -> bool:
    try:
        import av

        av.codec.Codec("libmp3lame", "w")
        return True
    except Exception:
        return False


def encode(samples: np.ndarray, sample_rate: int, fmt: str = "wav") -> bytes:
    """Encode as "wav", "pcm" (raw 16-bit little-endian) or, where PyAV has an encoder, "mp3"/"flac"/"opus"/"aac"."""
    if fmt == "wav":
        return wav_bytes(samples, sample_rate)
    if fmt == "pcm":
        return to_pcm16(samples)
    return _encode_av(samples, sample_rate, fmt)


_AV = {"mp3": ("mp3", "libmp3lame"), "flac": ("flac", "flac"), "opus": ("ogg", "libopus"), "aac": ("adts", "aac")}


def _encode_av(samples: np.ndarray, sample_rate: int, fmt: str) -> bytes:
    if fmt not in _AV:
        raise AudioError(f"Unknown audio format '{fmt}'.", f"use one of: wav, pcm, {', '.join(_AV)}")
    try:
        import av
    except ImportError as exc:
        raise AudioError(f"Encoding {fmt} needs PyAV.", "pip install 'lingxi[voice]', or ask for wav") from exc
    container_fmt, codec = _AV[fmt]
    rate = 48_000 if fmt == "opus" else sample_rate
    data = resample(samples, sample_rate, rate)
    buf = io.BytesIO()
    try:
        with av.open(buf, "w", format=container_fmt) as out:
            stream = out.add_stream(codec, rate=rate, layout="mono")
            frame = av.AudioFrame.from_ndarray((np.clip(data, -1, 1) * 32767).astype(np.int16)[None, :], format="s16", layout="mono")
            frame.sample_rate = rate
            for packet in stream.encode(frame):
                out.mux(packet)
            for packet in stream.encode(None):
                out.mux(packet)
    except Exception as exc:
        raise AudioError(f"This PyAV build cannot encode {fmt} ({type(exc).__name__}).", "ask for wav instead") from exc
    return buf.getvalue()
