"""Voice without a model: normalisation, language runs, subtitle formats, audio errors, the registry."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from lingxi.cli import main
from lingxi.registry import default_registry
from lingxi.voice import formats
from lingxi.voice.base import Segment, Transcript
from lingxi.voice.metrics import cer
from lingxi.voice.normalize import normalize_en, normalize_zh, split_languages


@pytest.mark.parametrize(("text", "said"), [
    ("2024年5月1日气温25℃，增长12.5%", "二零二四年五月一日气温二十五摄氏度，增长百分之十二点五"),
    ("会议15:30开始，票价¥99.5，跑了10km，共3000人，第3章", "会议十五点三十分开始，票价九十九点五元，跑了十公里，共三千人，第三章"),
    ("电话13800138000，编号007", "电话一三八零零一三八零零零，编号零零七"),
    ("2024-05-01", "二零二四年五月一日"),
])
def test_chinese_numbers_dates_units_are_read_out(text: str, said: str) -> None:
    assert normalize_zh(text) == said


@pytest.mark.parametrize(("text", "said"), [
    ("On 2024-05-01 it was 25°C, up 12.5%", "On May first, twenty twenty-four it was twenty-five degrees Celsius, up twelve point five percent"),
    ("at 3:30 or 10:05 for $4.99", "at three thirty or ten oh five for four dollars and ninety-nine cents"),
    ("1,250 people, the 21st time in 1999, 2.5kg", "one thousand two hundred fifty people, the twenty-first time in nineteen ninety-nine, two point five kilograms"),
])
def test_english_numbers_dates_units_are_read_out(text: str, said: str) -> None:
    assert normalize_en(text) == said


def test_a_huge_number_is_not_read_digit_by_digit() -> None:
    from lingxi.voice.normalize import normalize

    assert normalize("0" * 4096, "en") == "a four thousand ninety-six digit number"
    assert normalize("共" + "9" * 30 + "个", "zh") == "共一个三十位数个"


def test_mixed_text_splits_by_language_and_numbers_stay_with_their_words() -> None:
    assert split_languages("灵犀 supports RAG 和 agents") == [("zh", "灵犀 "), ("en", "supports RAG "), ("zh", "和 "), ("en", "agents")]
    assert split_languages("我们用Python 3.11写了10km的代码。") == [("zh", "我们用"), ("en", "Python 3.11"), ("zh", "写了10km的代码。")]
    assert split_languages("Chapter 3: 你好") == [("en", "Chapter 3: "), ("zh", "你好")]


def test_cer_ignores_punctuation_and_case() -> None:
    assert cer("你好，欢迎来到灵犀。", "你好欢迎来到灵犀") == 0
    assert cer("Hello, World.", "hello world") == 0
    assert cer("abcd", "abed") == pytest.approx(0.25)


def test_subtitles_follow_srt_and_vtt() -> None:
    t = Transcript(text="a b", language="en", duration=70.0,
                   segments=[Segment(id=0, start=0.0, end=1.5, text="a"), Segment(id=1, start=61.25, end=65.0, text="b")])
    assert formats.srt(t).splitlines()[:3] == ["1", "00:00:00,000 --> 00:00:01,500", "a"]
    assert "00:01:01.250 --> 00:01:05.000\nb" in formats.vtt(t) and formats.vtt(t).startswith("WEBVTT\n\n")
    assert formats.span(12.4, 18.6) == "00:12–00:19" and formats.clock(3725) == "1:02:05"


def test_voice_providers_and_audio_loaders_are_registry_kinds() -> None:
    reg = default_registry()
    assert {"faster-whisper", "scripted"} <= set(reg.names("transcriber"))
    assert {"espeak", "piper", "scripted"} <= set(reg.names("synthesizer"))
    assert {".wav", ".mp3", ".m4a", ".ogg", ".webm"} <= set(reg.names("loader"))


@pytest.mark.parametrize(("make", "says"), [
    (lambda p: p.write_text("not audio at all\n" * 20), "is not audio that lingxi can decode"),
    (lambda p: p.write_bytes(b""), "is empty (0 bytes)"),
    (lambda p: os.mkfifo(p), "is a named pipe"),
    (lambda p: p.mkdir(), "is a folder"),
    (lambda p: None, "does not exist"),
])
def test_unreadable_audio_is_one_sentence(tmp_path, capsys, make, says) -> None:
    pytest.importorskip("faster_whisper", reason="needs: pip install 'lingxi[voice]'")
    path = tmp_path / "clip.wav"
    make(path)
    assert main(["transcribe", str(path), "--model", "scripted:never"]) == 2
    text = capsys.readouterr().err
    assert says in text and "hint:" in text and "Traceback" not in text


def test_scripted_transcriber_through_the_cli_prints_json_and_srt(tmp_path, capsys) -> None:
    pytest.importorskip("faster_whisper", reason="needs: pip install 'lingxi[voice]'")
    from lingxi.voice.audio import wav_bytes

    wav = tmp_path / "tone.wav"
    wav.write_bytes(wav_bytes(np.zeros(32_000, np.float32), 16_000))
    assert main(["transcribe", str(wav), "--model", "scripted:One. Two.", "--json", "--language", "en"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["duration"] == 2.0 and [s["text"] for s in data["segments"]] == ["One.", "Two."]
    assert main(["transcribe", str(wav), "--model", "scripted:One. Two.", "--srt"]) == 0
    assert "00:00:01,000 --> 00:00:02,000\nTwo." in capsys.readouterr().out


@pytest.mark.parametrize(("args", "says"), [
    (["   "], "no text to speak"),
    (["hi", "--rate", "9"], "out of range"),
    (["hi", "-o", "x.txt"], "Cannot write audio"),
    (["hi", "--voice", "nosuchvoice"], "Unknown voice"),
])
def test_speak_refuses_bad_requests_in_one_sentence(tmp_path, capsys, args, says) -> None:
    os.chdir(tmp_path)
    assert main(["speak", *args]) != 0
    assert says in capsys.readouterr().err


def test_audio_encodes_and_decodes_through_pyav(tmp_path) -> None:
    pytest.importorskip("faster_whisper", reason="needs: pip install 'lingxi[voice]'")
    from lingxi.voice.audio import decode, encode, mp3_available

    tone = (0.3 * np.sin(np.arange(22_050) / 8)).astype(np.float32)
    for fmt in ["wav", "flac"] + (["mp3"] if mp3_available() else []):
        path = tmp_path / f"t.{fmt}"
        path.write_bytes(encode(tone, 22_050, fmt))
        assert abs(len(decode(path)) - 16_000) < 1200, fmt


def test_audio_chunks_keep_their_time_range(tmp_path) -> None:
    from lingxi.knowledge.splitter import Splitter
    from lingxi.voice.loader import transcript_document

    segs = [Segment(id=n, start=n * 5.0, end=n * 5.0 + 4.5, text=f"Sentence number {n} talks about topic {n}.") for n in range(40)]
    doc = transcript_document(tmp_path / "talk.wav", Transcript(text="", language="en", duration=200.0, segments=segs))
    chunks = Splitter(max_tokens=64, overlap=0).split(doc)
    assert len(chunks) > 3
    for c in chunks:
        first, last = int(c.text.split()[2]), int(c.text.split()[-5])
        assert c.metadata["start_s"] == first * 5.0 and c.metadata["end_s"] == last * 5.0 + 4.5


def test_summarize_a_recording_gives_chapters_with_times_and_key_points(tmp_path, capsys, monkeypatch):
    pytest.importorskip("faster_whisper", reason="needs: pip install 'lingxi[voice]'")
    from lingxi.voice.audio import wav_bytes

    story = " ".join(f"Part {n} explains topic number {n} in detail with several words of content." for n in range(60))
    monkeypatch.setenv("LINGXI_VOICE__TRANSCRIBER", f"scripted:{story}")
    wav = tmp_path / "podcast.wav"
    wav.write_bytes(wav_bytes(np.zeros(16_000 * 120, np.float32), 16_000))
    assert main(["summarize", str(wav), "--model", "scripted:- A short summary. More.", "--chapter-chars", "1200", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    chapters = data["chapters"]
    assert data["kind"] == "audio" and len(chapters) >= 3 and data["key_points"] == ["A short summary. More."]
    assert chapters[0]["start_s"] == 0 and all(a["end_s"] <= b["start_s"] + 2.1 for a, b in zip(chapters, chapters[1:]))
    assert chapters[-1]["end_s"] == pytest.approx(120, abs=0.1) and data["model_calls"] == len(chapters) + 2
    assert main(["summarize", str(wav), "--model", "scripted:Short.", "--chapter-chars", "1200"]) == 0
    text = capsys.readouterr().out
    assert "Chapters:" in text and "  1. 00:00–" in text


def test_summarize_a_text_file_has_no_times(tmp_path, capsys):
    doc = tmp_path / "notes.md"
    doc.write_text("# 灵犀\n\n灵犀是一个本地优先的生成式人工智能平台。它支持检索增强生成。\n", "utf-8")
    assert main(["summarize", str(doc), "--model", "scripted:灵犀是本地平台。", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["kind"] == "text" and data["summary"] == "灵犀是本地平台。" and data["chapters"][0]["start_s"] is None
