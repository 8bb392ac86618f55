"""`lingxi tune ... --model BASE+ADAPTER`: a new adapter trained from a trained one (SFT on more data, DPO on
feedback), through the entry point, starting from the shared "style" adapter ("Ahoy, matey!")."""

from __future__ import annotations

import hashlib
import json
import math
import signal
import time
from pathlib import Path

import pytest

from conftest import ROWS, lingxi
from lingxi.cli import main


def _weights(folder: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(folder / "adapter" / "adapter_model.safetensors"))


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.timeout(1500)
def test_sft_from_an_adapter_starts_at_its_weights(interrupted_then_resumed: dict, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    home = interrupted_then_resumed["home"]
    data = home / "more.jsonl"
    data.write_text("".join(json.dumps({"prompt": f"Count to {n}.", "completion": "One, two."}) + "\n"
                            for n in range(2, 6)), "utf-8")
    run = lingxi(home, "tune", "sft", "--model", "smollm2+style", "--data", str(data), "--out", "style-more",
                 "--max-steps", "1", "--lr", "1e-6", "--max-length", "128", "--validation", "0", "--json")
    out, err = run.communicate(timeout=1200)
    assert run.returncode == 0, err[-3000:]
    m = json.loads(out)
    style = home / "adapters" / "style"
    started = json.loads((style / "manifest.json").read_text())
    assert m["from"] == {"name": "style", "sha256": _sha(style / "adapter" / "adapter_model.safetensors")}
    assert m["base"] == started["base"] and m["hyper"]["r"] == started["hyper"]["r"] == 8
    new, old = _weights(home / "adapters" / "style-more"), _weights(style)
    assert new.keys() == old.keys()
    diff = max(float((new[k] - old[k]).abs().max()) for k in old)
    assert 0 < diff < 1e-4  # trained one tiny step away from style's weights (a fresh LoRA has B = 0, far from them)
    # served by the existing code unchanged: smollm2+style-more speaks like style (llama.cpp, exported on first use)
    monkeypatch.setenv("LINGXI_HOME", str(home))
    assert main(["complete", "--model", "smollm2+style-more", "--max-tokens", "8", "--temperature", "0", "--json",
                 "Tell me about the sea."]) == 0
    assert json.loads(capsys.readouterr().out)["text"].lstrip().startswith("Ahoy")
    assert main(["adapters", "show", "style-more"]) == 0
    assert "started from: style" in capsys.readouterr().out


@pytest.mark.timeout(1500)
def test_dpo_from_an_adapter_uses_it_as_reference_and_resumes(interrupted_then_resumed: dict) -> None:
    """At step 1 the policy is the starting adapter; DPO's loss is exactly log 2 only when the reference is that
    same adapter (with the bare base as reference, style's policy would score differently). Interrupted after its
    first checkpoint, the same command continues."""
    home = interrupted_then_resumed["home"]
    data = home / "feedback.jsonl"
    data.write_text("".join(json.dumps({"prompt": r["prompt"], "chosen": "Hello, friend.", "rejected": r["completion"]})
                            + "\n" for r in ROWS[:4]), "utf-8")
    cmd = ("tune", "dpo", "--model", "smollm2+style", "--data", str(data), "--out", "style-dpo", "--max-steps", "3",
           "--save-steps", "1", "--batch-size", "1", "--max-length", "128", "--validation", "0", "--lr", "1e-3")
    first = lingxi(home, *cmd)
    ckpt = home / "adapters" / "style-dpo" / "checkpoints"
    deadline = time.monotonic() + 900
    while not any(ckpt.glob("checkpoint-*")) and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert first.poll() is None, first.communicate()[1][-3000:]
    first.send_signal(signal.SIGINT)
    _out, err1 = first.communicate(timeout=600)
    assert first.returncode == 130, err1[-3000:]
    second = lingxi(home, *cmd, "--json")
    out, err = second.communicate(timeout=900)
    assert second.returncode == 0, err[-3000:]
    m = json.loads(out)
    losses = m["metrics"]["losses"]
    assert [s for s, _ in losses] == [1, 2, 3]
    assert math.isclose(losses[0][1], math.log(2), abs_tol=1e-3), losses
    assert m["from"]["name"] == "style" and m["status"] == "trained"
    folder = home / "adapters" / "style-dpo" / "adapter"
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "adapter_config.json", "adapter_model.safetensors"]


def _fake_adapter(home: Path, name: str, base_sha: str, status: str = "trained") -> None:
    folder = home / "adapters" / name
    (folder / "adapter").mkdir(parents=True)
    (folder / "adapter" / "adapter_model.safetensors").write_bytes(b"")
    (folder / "manifest.json").write_text(json.dumps({
        "name": name, "method": "sft", "status": status, "base": {"name": "smollm2", "sha256": base_sha},
        "hyper": {"r": 8, "alpha": 16, "target_modules": ["all-linear"]}}), "utf-8")


def test_mixes_scales_other_bases_and_other_shapes_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    from lingxi.config import load_settings
    from lingxi.tune.base import resolve_base

    monkeypatch.setenv("LINGXI_HOME", str(tmp_path))
    data = tmp_path / "d.jsonl"
    data.write_text('{"prompt": "a", "completion": "b"}\n', "utf-8")
    tune = ["tune", "sft", "--data", str(data), "--out", "new", "--model"]
    for model in ("smollm2+a:0.5", "smollm2+a+b"):
        assert main([*tune, model]) == 1
        assert "a run starts from one adapter at full strength" in capsys.readouterr().err
    _fake_adapter(tmp_path, "elsewhere", "0" * 64)
    assert main([*tune, "smollm2+elsewhere"]) == 1
    assert "an adapter only works on the exact base it was trained on" in capsys.readouterr().err
    _fake_adapter(tmp_path, "half", resolve_base("smollm2", load_settings()).sha256, status="interrupted")
    assert main([*tune, "smollm2+half"]) == 1
    assert "'half' is not trained yet" in capsys.readouterr().err
    _fake_adapter(tmp_path, "ok", resolve_base("smollm2", load_settings()).sha256)
    assert main([*tune, "smollm2+ok", "--r", "16", "--target-modules", "q_proj"]) == 1
    e = capsys.readouterr().err
    assert "keeps its LoRA shape" in e and "--r 16 (it has 8)" in e and "--target-modules q_proj" in e
    assert "--alpha" not in e.split("hint")[0]
    assert main(["tune", "sft", "--data", str(data), "--out", "ok", "--model", "smollm2+ok"]) == 1
    assert "cannot start from itself" in capsys.readouterr().err
    assert not (tmp_path / "adapters" / "new").exists()
