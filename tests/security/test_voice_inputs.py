"""Hostile inputs to the audio routes (found by the schemathesis fuzz or written first): each is a
4xx or a bounded answer, never a 5xx or a request that runs for minutes."""

from __future__ import annotations

import httpx
import pytest

from lingxi.config import Settings
from lingxi.serve import create_app, serve_settings
from lingxi.testing.live import LiveServer
from lingxi.voice.settings import VoiceSettings

pytest.importorskip("faster_whisper", reason="needs: pip install 'lingxi[voice]'")


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    voice = VoiceSettings(transcriber="scripted:hello", voice_zh="scripted", voice_en="scripted")
    app = create_app(Settings(home=tmp_path_factory.mktemp("voice-attacks"), voice=voice),
                     serve_settings(no_auth=True, rate_limit=0))
    with LiveServer(app) as server:
        yield server


def test_4096_zeros_are_one_number_not_twenty_minutes_of_speech(live):
    r = httpx.post(live.url + "/v1/audio/speech", json={"input": "0" * 4096, "response_format": "wav"}, timeout=30)
    assert r.status_code == 200 and len(r.content) < 16_000 * 2 * 30  # under 30 s of audio (it was 20 minutes)


@pytest.mark.parametrize(("files", "data", "status"), [
    ({"file": ("a.wav", b"RIFF....WAVEjunk" * 50)}, {}, 400),  # a WAV header on garbage
    ({"file": ("a.wav", b"\x00" * 10)}, {"response_format": "xml"}, 400),
    ({"file": ("a.wav", b"\x00" * 10)}, {"language": "../../etc"}, 400),
    ({}, {"model": "whisper-1"}, 400),  # no file part
])
def test_bad_transcription_uploads_are_4xx(live, files, data, status):
    r = httpx.post(live.url + "/v1/audio/transcriptions", files=files or None, data=data, timeout=30)
    assert r.status_code == status, r.text
    assert r.json()["error"]["message"]


def test_an_upload_over_25_mib_is_413(live):
    r = httpx.post(live.url + "/v1/audio/transcriptions", files={"file": ("big.wav", b"\0" * (26 << 20))}, timeout=60)
    assert r.status_code == 413 and r.json()["error"]["code"] == "file_too_large"
