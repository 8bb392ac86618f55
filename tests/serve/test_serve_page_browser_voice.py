"""Voice on the chat page in headless Chromium with a fake microphone: the microphone button
records, the server transcribes (a scripted transcriber behind the real upload and PyAV
decoding of the browser's own recording) and the words land in the message box; the read-aloud
button fetches /v1/audio/speech and plays it."""

from __future__ import annotations

import os
from typing import Any

import pytest

from lingxi.models.scripted import ScriptedChat
from lingxi.voice.settings import VoiceSettings
from test_serve_page_kit import ARGS, CHROMIUM, ask, page_server, shot, shots_dir, watched  # noqa: F401

HEARD = "你好灵犀"


@pytest.fixture(scope="module")
def voice_browser() -> Any:
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is absent: the web page tests need Debian's chromium (apt-get install -y chromium)")
    pytest.importorskip("faster_whisper", reason="needs: pip install 'lingxi[voice]' (PyAV decodes the recording)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs Playwright's Python package")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=[*ARGS, "--use-fake-device-for-media-stream",
                               "--use-fake-ui-for-media-stream", "--autoplay-policy=no-user-gesture-required"])
        yield b
        b.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    home = tmp_path_factory.mktemp("page-voice")
    voice = VoiceSettings(transcriber=f"scripted:{HEARD}", voice_en="scripted", voice_zh="scripted")
    with page_server(home, {"alpha": ScriptedChat(default="Water boils at one hundred degrees.", name="alpha")},
                     {"default_model": "alpha", "voice": voice}, no_auth=True) as srv:
        yield srv


def test_microphone_records_and_transcribes_into_the_box(voice_browser, server, shot):
    with watched(voice_browser, server.url, permissions=["microphone"]) as w:
        page = w.open()
        mic = page.locator("#mic")
        assert mic.is_visible() and mic.get_attribute("aria-pressed") == "false"
        mic.click()
        page.wait_for_selector("#mic.recording", timeout=5000)
        shot(page, "voice-recording")
        page.wait_for_timeout(1200)  # a second of the fake device's beeps
        with page.expect_response("**/v1/audio/transcriptions") as got:
            mic.click()
        assert got.value.status == 200, got.value.text()
        page.locator("#mic:not([disabled])").wait_for(timeout=15_000)  # the upload has been answered
        page.wait_for_timeout(200)
        assert page.input_value("#q") == HEARD and mic.get_attribute("aria-pressed") == "false"


def test_read_aloud_plays_the_answer(voice_browser, server, shot):
    with watched(voice_browser, server.url) as w:
        page = w.open()
        answer = ask(page, "At what temperature does water boil?")
        button = answer.locator(".read-aloud")
        assert button.is_visible()
        with page.expect_response("**/v1/audio/speech") as got:
            button.click()
        assert got.value.status == 200 and got.value.headers["content-type"] == "audio/wav"
        assert int(got.value.headers["content-length"]) > 1000  # a WAV of the answer (the scripted voice's tone)
        page.locator(".read-aloud.playing").wait_for(state="detached", timeout=15_000)  # played to the end
        assert page.locator("#toast").is_hidden(), page.locator("#toast").text_content()  # no playback error
        shot(page, "voice-read-aloud")
