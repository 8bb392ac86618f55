"""One tiny training run shared by the tuning tests (interrupted once, then resumed), in one home."""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import threading
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


def run_cli(*args: str) -> tuple[int, str, str]:
    """`lingxi ARGS` in this process (the CLI's main), with its exit code, standard output and error."""
    from lingxi.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def interrupt_at_first_checkpoint(ckpt: Path, run_ended: threading.Event) -> None:
    """Send this process a real SIGINT as soon as the training run saved its first checkpoint (none once it ended)."""
    while not any(ckpt.glob("checkpoint-*")) and not run_ended.wait(0.05):
        pass
    if not run_ended.is_set():
        os.kill(os.getpid(), signal.SIGINT)


@pytest.fixture(scope="session")
def interrupted_then_resumed(tune_home: Path, style_data: Path) -> dict:
    """`lingxi tune sft` stopped by SIGINT after its first checkpoint, then the same command again. Both run in
    this process (one import of torch/trl, the dequantised base made once); the SIGINT is a real signal, which
    the run's own handler turns into "save and stop". One that arrives after the run restored the previous
    handler lands on a harmless one here, never as a KeyboardInterrupt of the test session."""
    cmd = ("tune", "sft", "--model", "smollm2", "--data", str(style_data), "--out", "style", "--max-steps", "4",
           "--save-steps", "1", "--lr", "3e-3", "--seed", "1")
    ckpt = tune_home / "adapters" / "style" / "checkpoints"
    run_ended = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda _signum, _frame: None)
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("LINGXI_HOME", str(tune_home))
            watcher = threading.Thread(target=interrupt_at_first_checkpoint, args=(ckpt, run_ended), daemon=True)
            watcher.start()
            try:
                first = run_cli(*cmd)
            finally:
                run_ended.set()
                watcher.join()
            if first[0] != 130:
                pytest.fail(f"the first run was not interrupted after its first checkpoint (exit {first[0]}): "
                            f"{first[2][-2000:]}")
            manifest1 = json.loads((tune_home / "adapters" / "style" / "manifest.json").read_text())
            code2, out2, err2 = run_cli(*cmd)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert code2 == 0, err2
    return {"first": (*first, manifest1), "second": (out2, err2), "home": tune_home}
