"""Audio as documents: a synthesised lecture in a knowledge base is cited with its time range."""

from __future__ import annotations

import json
import re

import pytest

from lingxi.cli import main

from conftest import say

pytestmark = pytest.mark.slow

LECTURE = ("Welcome to the physics lecture. Today we talk about water. "
           "Water boils at one hundred degrees at sea level. "
           "On a high mountain the air pressure is lower, so water boils at a lower temperature. "
           "Next week we will study how ice melts.")


@pytest.fixture(scope="module")
def lecture_home(espeak, whisper_dir, tmp_path_factory):
    """One KB of one synthesised lecture per module (Whisper and e5 load once)."""
    home = tmp_path_factory.mktemp("lecture-home")
    folder = home / "talks"
    folder.mkdir()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LINGXI_HOME", str(home))
        mp.setenv("LINGXI_VOICE__TRANSCRIBER", f"faster-whisper:{whisper_dir}")
        mp.setenv("LINGXI_VOICE__KB_LANGUAGE", "en")
        say(LECTURE, folder / "lecture.wav", "--voice", "en")
        assert main(["kb", "create", "talks", "--chunk-tokens", "24", "--overlap", "0"]) == 0
        assert main(["kb", "ingest", "talks", str(folder), "--json"]) == 0
    return home


@pytest.fixture
def lecture_kb(lecture_home, whisper_dir, monkeypatch, capsys):
    monkeypatch.setenv("LINGXI_HOME", str(lecture_home))
    monkeypatch.setenv("LINGXI_VOICE__TRANSCRIBER", f"faster-whisper:{whisper_dir}")
    monkeypatch.setenv("LINGXI_VOICE__KB_LANGUAGE", "en")
    capsys.readouterr()
    return lecture_home / "talks"


def embedding_state(kb_path):
    """What the background embedding worker had done (for a failure message: an ask races it)."""
    log = kb_path / "embed.log"
    return {"worker_running": (kb_path / "embed.pid").exists(), "log": log.read_text()[-500:] if log.exists() else None}


def test_ask_cites_the_recording_with_its_time_range(lecture_kb, capsys):
    assert main(["ask", "At what temperature does water boil at sea level?", "--kb", "talks",
                 "--mode", "extractive"]) == 0
    out = capsys.readouterr().out
    m = re.search(r"lecture\.wav @ (\d\d):(\d\d)–(\d\d):(\d\d)", out)
    assert m, out
    start, end = int(m[1]) * 60 + int(m[2]), int(m[3]) * 60 + int(m[4])
    assert 0 <= start < end <= 30 and "boil" in out.split("@", 1)[1].lower()
    assert main(["ask", "At what temperature does water boil at sea level?", "--kb", "talks",
                 "--mode", "extractive", "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["citations"], (answer, embedding_state(lecture_kb.parent / "kb" / "talks"))
    cited = answer["citations"][0]
    assert cited["source"].endswith("lecture.wav") and cited["start_s"] < cited["end_s"]
    assert "boil" in cited["quote"].lower()


def test_a_second_ingest_reads_the_cached_transcript(lecture_kb, monkeypatch, capsys):
    def refuse(*_a, **_k):
        raise AssertionError("transcribed again")

    monkeypatch.setattr("lingxi.voice.resolve.open_transcriber", refuse)
    assert main(["kb", "create", "again", "--chunk-tokens", "24", "--overlap", "0"]) == 0
    capsys.readouterr()
    assert main(["kb", "ingest", "again", str(lecture_kb), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert len(report["added"]) == 1 and not report["failed"], report
    assert main(["kb", "search", "again", "mountain air pressure", "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert hits and "pressure" in json.dumps(hits).lower()
