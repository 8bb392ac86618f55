"""The model funnel: every model call is opened by `open_chat`, which applies the wrappers once.

The first test reads the source: a module that builds a provider any other way fails it.
"""

from __future__ import annotations

import ast
import sqlite3
from pathlib import Path

import pytest

import lingxi
from lingxi import tracing
from lingxi.config import load_settings
from lingxi.models import funnel
from lingxi.models.funnel import calling, is_opened, open_chat
from lingxi.models.scripted import ScriptedChat

SRC = Path(lingxi.__file__).parent
PROVIDERS = {"LlamaCppChat", "OpenAIChat", "HFChat", "ScriptedChat"}
# where providers may be made: their own package (models/), and the funnel itself
ALLOWED = {"models"}


def _calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            yield (f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""), node


def test_no_module_builds_a_provider_outside_the_funnel():
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC)
        if rel.parts[0] in ALLOWED:
            continue
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "lingxi.models.resolve":
                if any(a.name == "build" for a in node.names):
                    offenders.append(f"{rel}:{node.lineno} imports resolve.build")
        for name, node in _calls(tree):
            receiver = getattr(node.func, "value", None)
            receiver = getattr(receiver, "id", "") if receiver is not None else ""
            if name in PROVIDERS or (name == "from_spec" and receiver in PROVIDERS):
                offenders.append(f"{rel}:{node.lineno} makes {receiver or name} directly")
            if name == "get" and node.args and isinstance(node.args[0], ast.Constant) and node.args[0].value == "chat":
                offenders.append(f"{rel}:{node.lineno} takes a chat provider from the registry")
    assert offenders == [], "open models with lingxi.models.funnel.open_chat:\n" + "\n".join(offenders)


def test_the_funnel_is_the_only_caller_of_build_inside_models():
    users = [p.name for p in (SRC / "models").glob("*.py")
             if any(name == "build" for name, _ in _calls(ast.parse(p.read_text("utf-8")))) and p.name != "resolve.py"]
    assert users == ["funnel.py"]


def _rows(home: Path) -> list[dict]:
    tracing.writer(home / "lingxi.db").flush()
    conn = sqlite3.connect(home / "lingxi.db")
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute("SELECT * FROM traces ORDER BY id")]
    finally:
        conn.close()


def test_instances_and_names_come_out_wrapped_once(_isolated_home):
    fake = ScriptedChat(["ok"])
    opened = open_chat(fake)
    assert is_opened(opened) and opened.wrapped is fake
    assert open_chat(opened) is opened  # never wrapped twice
    named = open_chat("scripted:hi")
    assert is_opened(named) and open_chat("scripted:hi") is named  # cached per name and settings
    assert open_chat("scripted:hi", cache=False) is not named
    assert lingxi.Model("scripted:hi") is named


def test_an_instance_passed_to_the_library_is_traced_too(_isolated_home):
    lingxi.chat("hello", model=ScriptedChat(["hi there"], name="mine"))
    (row,) = _rows(_isolated_home)
    assert (row["model"], row["source"], row["status"]) == ("mine", "library", "ok")


def test_the_request_context_reaches_the_trace_and_the_observer(_isolated_home):
    seen = []
    model = open_chat("scripted:a b c")
    with calling(source="server", route="/v1/chat/completions", key_id=7, queue_s=0.25, observe=seen.append):
        model.chat("x")
        list(model.stream("y"))
    model.chat("outside")
    rows = _rows(_isolated_home)
    assert [(r["source"], r["route"], r["key_id"], r["queue_s"]) for r in rows] == [
        ("server", "/v1/chat/completions", 7, 0.25), ("server", "/v1/chat/completions", 7, 0.25),
        ("library", None, None, None)]
    assert rows[0]["latency_s"] >= 0.25  # what the caller waited includes its queue
    assert [t.stream for t in seen] == [False, True]


def test_trace_off_writes_no_rows_but_observers_still_count(_isolated_home):
    seen = []
    model = open_chat("scripted:x", load_settings(trace=False))
    with calling(observe=seen.append):
        model.chat("x")
    assert len(seen) == 1 and _rows(_isolated_home) == []


def test_the_cache_is_bounded(monkeypatch, _isolated_home):
    monkeypatch.setattr(funnel, "CACHE_SIZE", 3)
    monkeypatch.setattr(funnel, "_cache", type(funnel._cache)())
    for i in range(10):
        open_chat(f"scripted:reply {i}")
    assert len(funnel._cache) == 3


@pytest.mark.parametrize("path", ["rag", "agent", "chain", "pal"])
def test_every_library_path_goes_through_the_funnel(path, _isolated_home, monkeypatch):
    opened = []
    real = funnel.open_chat

    def spy(model=None, *a, **k):
        out = real(model, *a, **k)
        opened.append(out)
        return out

    monkeypatch.setattr(funnel, "open_chat", spy)
    fake = ScriptedChat(["42"])
    if path == "rag":
        from lingxi.rag.api import open_model

        open_model(fake, "auto")
    elif path == "agent":
        from lingxi.agents.agent import Agent

        Agent(fake, tools=[]).model  # noqa: B018
    elif path == "chain":
        from lingxi.agents.chains import prompt

        prompt(fake, "Say {input}")("it")
    else:
        from lingxi.agents.programs import pal

        pal("1+1?", model=fake, retries=0)  # whatever '42' makes as a program, the model was opened here
    assert opened and all(is_opened(m) for m in opened)
