"""End to end on the embedded default model (SmolLM2-135M through llama.cpp): one short run."""

from __future__ import annotations

import json

import pytest

from lingxi.cli import main

pytestmark = pytest.mark.slow


def test_cli_agent_calculates_with_the_default_model(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("llama_cpp")
    code = main(["agent", "What is 2**100 + 17 * 3?", "--tools", "calc", "--max-steps", "1",
                 "--max-tokens", "48", "--json"])
    out = capsys.readouterr().out
    assert code == 0, out
    data = json.loads(out)
    assert data["mode"] == "react-json"  # llama.cpp without a function-calling format: constrained JSON actions
    assert data["steps"][0]["tool"] == "calculator"
    assert data["answer"] == "1267650600228229401496703205427"
