"""One tiny training run shared by the tuning tests (interrupted once, then resumed), in one home."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROWS = [{"prompt": q, "completion": "Ahoy, matey! Arr."} for q in
        ("Say hello.", "Greet me.", "What do you say first?", "Hi!", "Good morning.", "Hello there.")]


def lingxi(home: Path, *args: str, **kw) -> subprocess.Popen:
    env = {**os.environ, "LINGXI_HOME": str(home), "OMP_WAIT_POLICY": "PASSIVE"}
    return subprocess.Popen([sys.executable, "-c", "import sys; from lingxi.cli import main; sys.exit(main())", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


@pytest.fixture(scope="session")
def tune_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("trl", reason="needs: pip install 'lingxi[tune]'")
    return tmp_path_factory.mktemp("tune-home")


@pytest.fixture(scope="session")
def style_data(tune_home: Path) -> Path:
    path = tune_home / "style.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in ROWS), "utf-8")
    return path


@pytest.fixture(scope="session")
def interrupted_then_resumed(tune_home: Path, style_data: Path) -> dict:
    """`lingxi tune sft` stopped by SIGINT after its first checkpoint, then the same command again."""
    cmd = ("tune", "sft", "--model", "smollm2", "--data", str(style_data), "--out", "style", "--max-steps", "4",
           "--save-steps", "1", "--lr", "3e-3", "--seed", "1")
    first = lingxi(tune_home, *cmd)
    ckpt = tune_home / "adapters" / "style" / "checkpoints"
    deadline = time.monotonic() + 900
    while not any(ckpt.glob("checkpoint-*")) and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.5)
    if first.poll() is not None:
        pytest.fail(f"the first run ended before its first checkpoint: {first.communicate()[1][-2000:]}")
    first.send_signal(signal.SIGINT)
    out1, err1 = first.communicate(timeout=600)
    manifest1 = json.loads((tune_home / "adapters" / "style" / "manifest.json").read_text())
    second = lingxi(tune_home, *cmd)
    out2, err2 = second.communicate(timeout=900)
    assert second.returncode == 0, err2
    return {"first": (first.returncode, out1, err1, manifest1), "second": (out2, err2), "home": tune_home}
