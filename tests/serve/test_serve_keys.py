"""API keys: the CLI creates, lists and revokes them; the server honours them and their rate limits."""

from __future__ import annotations

import httpx
import openai
import pytest
from typer.testing import CliRunner

from db_engines import home_db, use_home
from lingxi.cli.serve import keys_app
from lingxi.errors import ConfigError
from lingxi.serve.keys import create_key, revoke_key

MSG = [{"role": "user", "content": "hi"}]


def test_keys_cli_create_list_revoke(tmp_path, monkeypatch):
    use_home(monkeypatch, tmp_path)
    runner = CliRunner()
    made = runner.invoke(keys_app, ["create", "laptop", "--rate-limit", "30"])
    assert made.exit_code == 0, made.output
    key = made.stdout.strip().splitlines()[0]
    assert key.startswith("lx-") and len(key) > 40
    listed = runner.invoke(keys_app, ["list"])
    assert "laptop" in listed.stdout and "30/min" in listed.stdout and key not in listed.stdout
    stored = home_db(tmp_path).execute("SELECT hash FROM api_keys").fetchone()[0]
    assert key not in stored and len(stored) == 64  # only the SHA-256 is kept
    assert runner.invoke(keys_app, ["revoke", "laptop"]).exit_code == 0
    assert "No keys" in runner.invoke(keys_app, ["list"]).stdout
    gone = runner.invoke(keys_app, ["revoke", "laptop"])
    assert isinstance(gone.exception, ConfigError) and "No active key" in gone.exception.message


def test_revoked_key_is_refused_by_the_running_server(live, serve_home):
    conn = home_db(serve_home)
    info, key = create_key(conn, "temporary")
    client = openai.OpenAI(base_url=live.url + "/v1", api_key=key, max_retries=0)
    assert client.chat.completions.create(model="fake", messages=MSG).choices[0].message.content
    revoke_key(conn, str(info.id))
    conn.close()
    with pytest.raises(openai.AuthenticationError):
        client.chat.completions.create(model="fake", messages=MSG)


def test_per_key_rate_limit(live, serve_home):
    conn = home_db(serve_home)
    _, key = create_key(conn, "slowpoke", rate_limit=2)
    conn.close()
    client = openai.OpenAI(base_url=live.url + "/v1", api_key=key, max_retries=0)
    for _ in range(2):
        client.chat.completions.create(model="fake", messages=MSG)
    with pytest.raises(openai.RateLimitError) as err:
        client.chat.completions.create(model="fake", messages=MSG)
    assert "2 requests per minute" in err.value.message
    assert int(err.value.response.headers["retry-after"]) >= 1


def test_cors_is_off_by_default_and_on_when_asked(live, start_server):
    preflight = {"Origin": "http://example.com", "Access-Control-Request-Method": "POST"}
    r = httpx.options(live.url + "/v1/chat/completions", headers=preflight)
    assert "access-control-allow-origin" not in r.headers
    server = start_server(no_auth=True, cors_origins=["http://example.com"])
    r = httpx.options(server.url + "/v1/chat/completions", headers=preflight)
    assert r.headers["access-control-allow-origin"] == "http://example.com"


def test_no_auth_server_needs_no_key(start_server):
    server = start_server(no_auth=True, allow_any_model=True)
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="anything", max_retries=0)
    assert client.chat.completions.create(model="scripted:pong", messages=MSG).choices[0].message.content == "pong"
