"""What a newcomer meets at the command line (the newcomer issue, items 1, 3 and 5): no traceback for a
usage error, help without type placeholders on flags, clear sentences for a taken port, a bad memory
strategy before the first question is lost, and no engine noise."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

LINGXI = str(Path(sys.executable).with_name("lingxi"))


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([LINGXI, *args], input=stdin, capture_output=True, text=True, timeout=120, env=os.environ)


@pytest.mark.parametrize("args,needle", [
    (["complete", "--bogus", "hi"], "No such option: --bogus"),
    (["complete"], "Missing argument 'PROMPT'"),
    (["complete", "-t", "abc", "x"], "Invalid value for '--temperature'"),
    (["frobnicate"], "No such command 'frobnicate'"),
    (["kb", "search"], "Missing argument"),
])
def test_usage_errors_are_a_sentence_and_a_hint(args, needle):
    r = run(*args)
    assert r.returncode == 2, r
    assert needle in r.stderr and "hint: see 'lingxi" in r.stderr
    assert "Traceback" not in r.stderr + r.stdout and "typer" not in r.stderr


def test_debug_is_accepted_after_the_command():
    r = run("complete", "--model", "scripted:ok", "--json", "hi", "--debug")
    assert r.returncode == 0 and '"text": "ok"' in r.stdout


def test_answering_no_to_a_confirmation_changes_nothing_and_shows_no_traceback():
    assert run("kb", "create", "keepme").returncode == 0
    r = run("kb", "rm", "keepme", stdin="n\n")
    assert r.returncode == 1 and "aborted" in r.stderr and "Traceback" not in r.stderr
    assert "keepme" in run("kb", "ls").stdout


def test_flags_show_no_value_placeholder_in_help():
    text = run("complete", "--help").stdout
    flag_lines = [line for line in text.splitlines() if "--json" in line or "--stream" in line]
    assert flag_lines and not any("<bool>" in line for line in flag_lines)
    assert "<float>" in text  # options that take a value still say what


def test_no_arguments_prints_help_and_exits_0():
    r = run()
    assert r.returncode == 0 and "Usage: lingxi" in r.stdout


def test_a_taken_port_is_one_sentence_with_a_fix():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = run("serve", "--no-auth", "--port", str(port))
    assert r.returncode == 2 and f"Port {port} on 127.0.0.1 is already in use" in r.stderr
    assert f"--port {port + 1}" in r.stderr and "ERROR" not in r.stderr and "Traceback" not in r.stderr


def test_a_bad_memory_strategy_is_refused_before_the_first_question():
    assert run("kb", "create", "mem").returncode == 0
    r = run("chat", "--kb", "mem", "--memory", "bogus", stdin="what is lingxi?\n")
    assert r.returncode == 2 and "Unknown memory strategy 'bogus'" in r.stderr and "you>" not in r.stdout + r.stderr


def test_models_show_prints_no_engine_warnings():
    r = run("models", "show", "smollm2")
    assert r.returncode == 0 and "n_ctx" not in r.stderr and "llama" not in r.stderr.lower()
