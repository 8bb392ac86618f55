"""Every model call through the server lands in the traces table; /metrics speaks Prometheus."""

from __future__ import annotations

import re
import sqlite3

import httpx
import openai
import pytest
from typer.testing import CliRunner

from lingxi.cli.serve import traces_app
from lingxi.config import ModelSpec
from lingxi.models.scripted import ScriptedChat
from serve_fakes import EchoChat

MSG = [{"role": "user", "content": "one two three"}]


def traces(server, home):
    server.app_state.traces.flush()
    conn = sqlite3.connect(home / "lingxi.db")
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute("SELECT * FROM traces ORDER BY id")]
    finally:
        conn.close()


def test_calls_are_traced_with_tokens_timings_cost_and_errors(start_server, tmp_path):
    priced = ModelSpec(provider="scripted", replies=["a b c d"], price_in=2.0, price_out=4.0)
    models = {"echo": EchoChat(), "bad": ScriptedChat(["not json"], default="ok")}
    server = start_server(models, settings={"models": {"priced": priced}}, no_auth=True)
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="x", max_retries=0)
    client.chat.completions.create(model="priced", messages=MSG)
    list(client.chat.completions.create(model="echo", messages=MSG, stream=True))
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(model="bad", messages=MSG, response_format={"type": "json_object"})
    rows = traces(server, tmp_path)
    assert [(r["model"], r["status"], r["stream"]) for r in rows] == [("priced", "ok", 0), ("echo", "ok", 1),
                                                                       ("bad", "error", 0)]
    plain, streamed, failed = rows
    assert plain["provider"] == "scripted" and plain["route"] == "/v1/chat/completions"
    assert (plain["prompt_tokens"], plain["completion_tokens"]) == (5, 7)  # 'a b c d' is 7 scripted tokens
    assert plain["cost"] == pytest.approx((5 * 2.0 + 7 * 4.0) / 1e6)
    assert plain["latency_s"] > 0 and plain["error"] is None
    # the library's trace wrapper (the model funnel) with the server's request context
    assert plain["source"] == "server" and plain["queue_s"] is not None
    assert plain["compute_s"] is None  # compute seconds are for models that run on this machine
    assert 0 < streamed["ttft_s"] <= streamed["latency_s"] and streamed["completion_tokens"] == 3
    assert "not valid JSON" in failed["error"]

    runner = CliRunner(env={"LINGXI_HOME": str(tmp_path)})
    shown = runner.invoke(traces_app, ["--last", "2"])
    assert shown.exit_code == 0 and "echo" in shown.stdout and "not valid JSON" in shown.stdout
    assert "priced" not in shown.stdout.splitlines()[0]


def test_dropped_stream_is_traced_as_cancelled(start_server, tmp_path):
    server = start_server({"slow": EchoChat(delay=0.05)}, no_auth=True)
    body = {"model": "slow", "stream": True, "messages": [{"role": "user", "content": " ".join(["w"] * 100)}]}
    with httpx.stream("POST", server.url + "/v1/chat/completions", json=body, timeout=30) as r:
        next(r.iter_lines())
    httpx.post(server.url + "/v1/chat/completions", json={**body, "stream": False,
                                                         "messages": [{"role": "user", "content": "x"}]})
    assert [r["status"] for r in traces(server, tmp_path)] == ["cancelled", "ok"]


def test_metrics_in_prometheus_format(live, client, api_key):
    client.chat.completions.create(model="fake", messages=MSG)
    text = httpx.get(live.url + "/metrics", headers={"Authorization": f"Bearer {api_key}"}).text
    assert 'lingxi_http_requests_total{route="/v1/chat/completions",status="200"}' in text
    assert re.search(r'lingxi_model_latency_seconds_count\{model="fake",status="ok"\} [1-9]', text)
    assert 'lingxi_model_latency_seconds_bucket{model="fake",status="ok",le="+Inf"}' in text
    assert re.search(r'lingxi_tokens_total\{model="fake",kind="completion"\} [1-9]', text)
    assert "# TYPE lingxi_model_waiting gauge" in text
    for line in text.splitlines():  # every sample line is NAME{labels} VALUE
        assert line.startswith("#") or re.fullmatch(r'[a-z_]+(\{([a-z_]+="[^"]*",?)*\})? ([0-9.e+-]+|inf)', line), line
