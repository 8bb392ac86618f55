"""The CLI through its installed entry point."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

LINGXI = str(Path(sys.executable).with_name("lingxi"))


def run(*args: str, stdin: str | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([LINGXI, *args], input=stdin, capture_output=True, text=True, env=full_env, timeout=120)


def test_complete_json_with_scripted_model():
    r = run("complete", "--model", "scripted:你好，世界。", "--json", "hi")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["text"] == "你好，世界。"
    assert doc["usage"]["completion_tokens"] > 0
    assert set(doc) == {"model", "text", "finish_reason", "usage", "latency_s", "ttft_s"}


def test_complete_reads_stdin_and_honours_max_tokens():
    r = run("complete", "--model", "scripted:one two three four five", "--max-tokens", "3", "--json", "-", stdin="prompt")
    doc = json.loads(r.stdout)
    assert doc["finish_reason"] == "length"
    assert doc["usage"]["completion_tokens"] == 3


@pytest.mark.parametrize(
    ("args", "needle", "code"),
    [
        (["complete", "--model", "no-such-model", "x"], "Unknown model 'no-such-model'", 2),
        (["complete", "--temperature", "5", "x"], "temperature", 2),
        (["complete", "--max-tokens", "0", "x"], "max_tokens", 2),
        (["complete", "--model", "/nowhere/model.gguf", "x"], "Model file not found", 1),
        (["complete", "--model", "http://127.0.0.1:9/v1", "x"], "Could not reach", 1),
        (["complete", "--model", "qwen2.5-1.5b", "x"], "lingxi models pull qwen2.5-1.5b", 2),
    ],
)
def test_errors_are_one_sentence_and_a_hint(args, needle, code):
    r = run(*args)
    assert r.returncode == code
    assert needle in r.stderr
    assert "hint:" in r.stderr
    assert "Traceback" not in r.stderr


def test_debug_shows_the_traceback():
    r = run("--debug", "complete", "--model", "no-such-model", "x")
    assert r.returncode == 2 and "Traceback" in r.stderr


def test_bad_config_file_is_reported(tmp_path):
    (tmp_path / "lingxi.toml").write_text('default_model = "smollm2"\nno_such_key = 1\n')
    r = run("models", "list", env={"LINGXI_HOME": str(tmp_path)})
    assert r.returncode == 2
    assert "no_such_key" in r.stderr and "lingxi.toml" in r.stderr


def test_alias_from_config_file(tmp_path):
    (tmp_path / "lingxi.toml").write_text(
        'default_model = "fake"\n[models.fake]\nprovider = "scripted"\nreplies = ["from the toml"]\n'
    )
    r = run("complete", "--json", "hi", env={"LINGXI_HOME": str(tmp_path)})
    assert json.loads(r.stdout)["text"] == "from the toml"
    listed = json.loads(run("models", "list", "--json", env={"LINGXI_HOME": str(tmp_path)}).stdout)
    assert {"fake", "smollm2", "qwen2.5-1.5b"} <= {m["alias"] for m in listed}
    assert next(m for m in listed if m["alias"] == "qwen2.5-1.5b")["status"] == "not pulled"


def test_chat_session_commands():
    script = "Hello\n/history\n/system Be brief.\n/history\nAgain\n/reset\n/history\n/exit\n"
    r = run("chat", "--model", "scripted:Hi there!", stdin=script)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("ai> Hi there!") == 2
    assert "[user] Hello" in r.stdout and "[assistant] Hi there!" in r.stdout
    assert "[system] Be brief." in r.stdout
    assert "conversation cleared" in r.stderr


def test_tokens_json_with_scripted_model():
    doc = json.loads(run("tokens", "--model", "scripted:", "--json", "你好 world").stdout)
    assert doc["count"] == len(doc["tokens"]) == 4
    assert [t["text"] for t in doc["tokens"]] == ["你", "好", " ", "world"]


@pytest.mark.slow
def test_complete_streams_from_the_local_model():
    r = run("complete", "--temperature", "0", "--max-tokens", "16", "Hello")
    assert r.returncode == 0, r.stderr
    assert len(r.stdout.strip()) > 3


@pytest.mark.slow
def test_complete_against_an_openai_compatible_server(llama_server):
    r = run("complete", "--model", llama_server, "--temperature", "0", "--max-tokens", "16", "--json", "Hello")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["text"].strip()
    local = json.loads(run("complete", "--temperature", "0", "--max-tokens", "16", "--json", "Hello").stdout)
    assert local["text"] == json.loads(r.stdout)["text"], "same GGUF, greedy: the server and the local provider agree"


@pytest.mark.slow
def test_tokens_and_next_on_the_local_model():
    doc = json.loads(run("tokens", "--json", "Hello world").stdout)
    assert doc["count"] == 2 and [t["text"] for t in doc["tokens"]] == ["Hello", " world"]
    nxt = json.loads(run("next", "The capital of France is", "--top", "5", "--temperature", "0.5", "--json").stdout)
    probs = [t["prob"] for t in nxt["tokens"]]
    assert nxt["exact"] is True and probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1.0001
    assert nxt["tokens"][0]["token"] == " Paris"
    greedy = json.loads(run("next", "The capital of France is", "--top", "3", "--temperature", "0", "--json").stdout)
    assert [t["prob"] for t in greedy["tokens"]] == [1.0, 0.0, 0.0]


@pytest.mark.slow
def test_models_show_reads_gguf_metadata():
    doc = json.loads(run("models", "show", "smollm2", "--json").stdout)
    assert doc["status"] == "ready" and doc["metadata"]["general.architecture"] == "llama"
