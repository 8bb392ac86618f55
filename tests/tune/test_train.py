"""`lingxi tune sft` through its entry point: a tiny run, interrupted and resumed; adapters list/show/rm."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from lingxi.cli import main


def test_interrupt_saves_a_checkpoint_and_the_same_command_continues(interrupted_then_resumed: dict) -> None:
    code, _out, err, manifest = interrupted_then_resumed["first"]
    assert code == 130, err
    assert "run the same command again to continue" in err
    assert manifest["status"] == "interrupted" and 1 <= manifest["metrics"]["steps"] < 4
    out2, _err2 = interrupted_then_resumed["second"]
    assert "trained 'style': 4 steps" in out2
    folder = interrupted_then_resumed["home"] / "adapters" / "style"
    m = json.loads((folder / "manifest.json").read_text())
    steps = [s for s, _ in m["metrics"]["losses"]]
    assert steps == [1, 2, 3, 4]  # the resumed run continued: no step trained twice, none missing
    assert m["status"] == "trained" and m["metrics"]["validation_loss"] > 0
    assert len(m["base"]["sha256"]) == 64 and len(m["data"]["sha256"]) == 64
    assert m["hyper"]["r"] == 8 and m["method"] == "sft"
    assert (folder / "adapter" / "adapter_model.safetensors").is_file()
    assert (folder / "loss.png").read_bytes()[:4] == b"\x89PNG"


def test_adapters_list_show_rm(interrupted_then_resumed: dict, monkeypatch: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    import shutil

    home = interrupted_then_resumed["home"]
    shutil.copytree(home / "adapters" / "style", tmp_path / "adapters" / "copy")
    monkeypatch.setenv("LINGXI_HOME", str(tmp_path))
    assert main(["adapters", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == ["copy"] and rows[0]["base"] == "smollm2"
    assert main(["adapters", "show", "copy"]) == 0
    assert "sft on smollm2" in capsys.readouterr().out
    assert main(["adapters", "rm", "copy", "--yes"]) == 0
    assert main(["adapters", "show", "copy"]) == 1
    assert "no adapter named 'copy'" in capsys.readouterr().err


def test_bad_data_is_refused_before_anything_loads(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "a", "completion": "b"}\n{"prompt": "a"}\n', "utf-8")
    assert main(["tune", "sft", "--data", str(bad), "--out", "x"]) == 1
    e = capsys.readouterr().err
    assert "bad.jsonl line 2: 'completion' is missing" in e and "hint:" in e
    assert main(["tune", "sft", "--data", str(bad), "--out", "a+b"]) == 1
    assert "not a usable adapter name" in capsys.readouterr().err
    assert main(["tune", "sft", "--model", "scripted:x", "--data", str(bad), "--out", "x"]) == 1
    assert "only local weights can be fine-tuned" in capsys.readouterr().err


def test_export_round_trip_peft_equals_llama_cpp(interrupted_then_resumed: dict, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """Greedy decoding of 40 tokens with the adapter: peft on the dequantised base = llama.cpp on the GGUF with
    the exported LoRA, switched on per call by the provider (end of turn suppressed on both sides)."""
    from lingxi.config import load_settings
    from lingxi.testing.lora import greedy_both_ways

    home = interrupted_then_resumed["home"]
    monkeypatch.setenv("LINGXI_HOME", str(home))
    assert main(["tune", "export", "style", "--json"]) == 0
    assert Path(json.loads(capsys.readouterr().out)["gguf"]).is_file()
    cases = greedy_both_ways(load_settings(), "style", ["Tell me about the sea."], n_tokens=40)  # not a training prompt
    for c in cases:
        assert c["peft_text"].startswith("Ahoy"), c  # the adapter is on, so equality below is about the adapter
        assert len(c["peft"]) == 40 and c["llama_cpp"] == c["peft"], c


def test_merge_folds_the_adapter_into_one_gguf(interrupted_then_resumed: dict, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """`lingxi tune export --merge` (q8_0 by default): one GGUF, quantised by llama.cpp, that speaks like base+adapter
    with no adapter loaded, and keeps the base's chat template and metadata."""
    from llama_cpp import Llama

    home = interrupted_then_resumed["home"]
    monkeypatch.setenv("LINGXI_HOME", str(home))
    assert main(["tune", "export", "style", "--merge", "--json"]) == 0
    merged = Path(json.loads(capsys.readouterr().out)["merged"])
    assert merged.name == "merged-q8_0.gguf" and merged.is_file()
    assert main(["complete", "--model", str(merged), "--max-tokens", "8", "--temperature", "0", "--json",
                 "Tell me about the sea."]) == 0  # the merged file's own chat template wraps it
    assert json.loads(capsys.readouterr().out)["text"].lstrip().startswith("Ahoy")
    manifest = json.loads((home / "adapters" / "style" / "manifest.json").read_text())
    base = Llama(manifest["base"]["path"], vocab_only=True, verbose=False)
    mine = Llama(str(merged), vocab_only=True, verbose=False)
    try:
        assert mine.metadata["tokenizer.chat_template"] == base.metadata["tokenizer.chat_template"]
        assert mine.metadata["general.file_type"] == "7"  # LLAMA_FTYPE_MOSTLY_Q8_0, written by llama.cpp's quantizer
    finally:
        base.close()
        mine.close()
    assert main(["tune", "export", "style", "--merge", "--quant", "q3_z"]) == 1
    assert "use --quant with one of" in capsys.readouterr().err


def test_lingxi_serve_answers_the_base_and_two_adapters_from_one_loaded_base(interrupted_then_resumed: dict,
                                                                             tmp_path: Path) -> None:
    """The issue's end state through the entry point: `lingxi serve` answers smollm2, smollm2+style (trained
    above) and smollm2+b interleaved, each with its own behaviour, from one loaded base in one worker."""
    import shutil
    import socket
    import subprocess
    import sys
    import time

    import httpx
    import openai

    from lingxi.config import Settings
    from lingxi.testing.lora import make_adapter

    shutil.copytree(interrupted_then_resumed["home"] / "adapters" / "style", tmp_path / "adapters" / "style")
    make_adapter(Settings(home=tmp_path), "b", seed=2)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "LINGXI_HOME": str(tmp_path), "OMP_WAIT_POLICY": "PASSIVE"}
    proc = subprocess.Popen([sys.executable, "-c", "import sys; from lingxi.cli import main; sys.exit(main())",
                             "serve", "--no-auth", "--port", str(port), "--log-level", "warning"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        assert proc.poll() is None, proc.stderr.read()[-2000:] if proc.stderr else ""
        client = openai.OpenAI(base_url=url + "/v1", api_key="none", max_retries=0, timeout=180)
        assert {"smollm2", "smollm2+style", "smollm2+b"} <= {m.id for m in client.models.list()}
        order = ["smollm2+style", "smollm2", "smollm2+b", "smollm2+style", "smollm2+b", "smollm2"]
        got = [(m, client.chat.completions.create(model=m, max_tokens=8, temperature=0, messages=[
            {"role": "user", "content": "Tell me about the sea."}]).choices[0].message.content) for m in order]
        answers = {m: {t for n, t in got if n == m} for m in set(order)}
        assert all(len(v) == 1 for v in answers.values()), got  # the same answer each time: nothing leaks
        assert len({next(iter(v)) for v in answers.values()}) == 3, got  # each name its own behaviour
        assert next(iter(answers["smollm2+style"])).lstrip().startswith("Ahoy"), got
        bases = httpx.get(url + "/readyz", timeout=10).json()["bases"]
        assert len(bases) == 1 and bases[0]["names"] == ["smollm2", "smollm2+b", "smollm2+style"], bases
    finally:
        proc.terminate()
        proc.wait(timeout=30)
