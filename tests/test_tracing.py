"""Tracing of library and CLI calls: the model funnel wraps every model with `traced`, which
passes the provider's results through untouched and queues one row per call."""

from __future__ import annotations

import contextvars
import json
import os
import subprocess
import sys
import time

import pytest
from typer.testing import CliRunner

from db_engines import home_db, home_target
from lingxi import tracing
from lingxi.cli.serve import traces_app
from lingxi.config import ModelSpec, load_settings
from lingxi.db import db_path
from lingxi.errors import ModelError
from lingxi.models.base import ChatModel, TextModel, collect
from lingxi.models.funnel import Model
from lingxi.models.scripted import ScriptedChat
from lingxi.types import SamplingParams


def rows(home) -> list[dict]:
    tracing.writer(home_target(home)).flush()
    conn = home_db(home)
    try:
        return [dict(r) for r in conn.execute("SELECT * FROM traces ORDER BY id")]
    finally:
        conn.close()


@pytest.fixture
def home(_isolated_home):
    return _isolated_home


def test_library_calls_are_traced_with_tokens_cost_and_ttft(home):
    priced = ModelSpec(provider="scripted", replies=["a b c d"], price_in=2.0, price_out=4.0)
    settings = load_settings(models={"priced": priced})
    model = Model("priced", settings=settings, cache=False)
    assert isinstance(model, ChatModel) and isinstance(model, TextModel) and model.name == "scripted"
    comp = model.chat("one two three")
    deltas = list(model.stream("one two", SamplingParams(max_tokens=2)))
    assert collect(iter(deltas), "x").text == "a "  # the provider's own deltas, cut at max_tokens
    model.complete("raw text")
    plain, streamed, text = rows(home)
    assert (plain["model"], plain["provider"], plain["source"], plain["status"]) == ("priced", "scripted", "library", "ok")
    assert (plain["prompt_tokens"], plain["completion_tokens"]) == (comp.usage.prompt_tokens, 7) == (5, 7)
    assert plain["cost"] == pytest.approx((5 * 2.0 + 7 * 4.0) / 1e6) and plain["stream"] == 0
    assert plain["latency_s"] > 0 and plain["compute_s"] is None  # not a local model: no compute seconds
    assert streamed["stream"] == 1 and streamed["completion_tokens"] == 2
    assert 0 < streamed["ttft_s"] <= streamed["latency_s"]
    assert text["completion_tokens"] == 7 and text["error"] is None


def test_results_pass_through_unchanged(home):
    raw = ScriptedChat(default="Hello there, friend.")
    wrapped = tracing.traced(raw, name="fake", settings=load_settings())
    timings = {"latency_s", "ttft_s"}
    comp = raw.chat("hi").model_dump(exclude=timings)
    assert wrapped.chat("hi").model_dump(exclude=timings) == comp  # the same Completion, timings aside
    assert list(wrapped.stream("hi")) == list(raw.stream("hi"))
    assert wrapped.count_tokens("a b") == raw.count_tokens("a b") and wrapped.calls is raw.calls
    assert tracing.traced(wrapped) is wrapped and "ScriptedChat" in repr(wrapped)


def test_errors_and_dropped_streams_are_traced(home):
    bad = ModelSpec(provider="scripted", replies=["not json", "x y z"])
    model = Model("bad", settings=load_settings(models={"bad": bad}), cache=False)
    json_mode = SamplingParams(response_format={"type": "json_object"})
    with pytest.raises(ModelError, match="not valid JSON"):  # the provider's own exception, untouched
        model.chat("hi", json_mode)
    stream = model.stream("hi", SamplingParams(max_tokens=50))
    next(stream)
    stream.close()
    failed, dropped = rows(home)
    assert failed["status"] == "error" and "not valid JSON" in failed["error"]
    assert dropped["status"] == "cancelled" and dropped["error"] is None and dropped["stream"] == 1


def test_trace_setting_turns_it_off(home):
    model = Model("scripted:hi", settings=load_settings(trace=False), cache=False)
    assert isinstance(model.wrapped.wrapped, ScriptedChat)  # still opened through the funnel (guard -> trace -> provider)
    model.chat("hi")
    assert not db_path(load_settings()).exists()


def test_unwritable_home_never_breaks_a_call(tmp_path):
    (tmp_path / "file").write_text("")
    wrapped = tracing.traced(ScriptedChat(default="ok"), settings=load_settings(home=tmp_path / "file" / "home",
                                                                                db_url=None))
    assert wrapped.chat("hi").text == "ok"
    w = tracing.writer(tmp_path / "file" / "home" / "lingxi.db")
    w.flush(timeout=5)
    assert w.broken


def test_cli_calls_are_traced_and_stats_summarise(home):
    env = {**os.environ, "LINGXI_HOME": str(home)}
    cmd = [sys.executable, "-c", "from lingxi.cli import main; raise SystemExit(main())",
           "complete", "--model", "scripted:one two three", "--json", "hi"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    (row,) = rows(home)  # written by the CLI process before it exited
    assert (row["source"], row["model"], row["completion_tokens"], row["status"]) == ("cli", "scripted:one two three", 5, "ok")

    conn = home_db(home)
    now = time.time()
    conn.executemany("INSERT INTO traces (ts, source, model, provider, latency_s, ttft_s, completion_tokens, cost, "
                     "compute_s, status) VALUES (?, 'library', 'm', 'llamacpp', ?, 0.1, ?, 0.5, ?, ?)",
                     [(now, lat, 10, lat, "ok") for lat in (1.0, 2.0, 3.0, 4.0)] + [(now, 9.0, 0, 9.0, "error")])
    conn.close()
    runner = CliRunner(env={"LINGXI_HOME": str(home)})
    result = contextvars.copy_context().run(runner.invoke, traces_app, ["stats", "--json"])
    assert result.exit_code == 0, result.output
    stats = {r["model"]: r for r in json.loads(result.stdout)}
    m = stats["m"]
    assert (m["calls"], m["errors"], m["completion_tokens"]) == (5, 1, 40)
    assert m["p50_latency_s"] == pytest.approx(2.5) and m["p95_latency_s"] == pytest.approx(3.85)
    assert m["tokens_per_s"] == pytest.approx(40 / 10) and m["cost"] == pytest.approx(2.5)
    assert m["compute_s"] == pytest.approx(19.0) and m["day"] == time.strftime("%Y-%m-%d")
    table = contextvars.copy_context().run(runner.invoke, traces_app, ["stats"])
    assert "p95" in table.stdout and "scripted:one two three" in table.stdout
    listed = contextvars.copy_context().run(runner.invoke, traces_app, ["--last", "1"])
    assert "error" in listed.stdout and "library" in listed.stdout


def test_local_models_report_compute_seconds(home):
    local = ScriptedChat(default="a b")
    local.provider = "llamacpp"  # what the tracer sees of a local GGUF model
    tracing.traced(local, name="local", settings=load_settings()).chat("hi")
    (row,) = rows(home)
    assert row["provider"] == "llamacpp" and row["compute_s"] == pytest.approx(row["latency_s"]) and row["cost"] == 0
