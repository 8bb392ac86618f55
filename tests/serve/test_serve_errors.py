"""Bad input gets the right status and a clear message in OpenAI's error JSON."""

from __future__ import annotations

import httpx
import openai
import pytest

from lingxi.errors import ConfigError
from lingxi.serve import serve_settings

MSG = [{"role": "user", "content": "hi"}]


def post(live, key, body, **kw):
    headers = {"Authorization": f"Bearer {key}", **kw.pop("headers", {})}
    return httpx.post(live.url + "/v1/chat/completions", headers=headers, content=body, timeout=30, **kw)


def error_of(resp):
    body = resp.json()
    assert set(body["error"]) == {"message", "type", "param", "code"}
    return body["error"]


def test_malformed_json(live, api_key):
    r = post(live, api_key, b'{"model": "fake", "messages": [')
    assert r.status_code == 400
    assert error_of(r)["message"].startswith("The request body is not valid JSON")


def test_missing_messages(live, api_key):
    r = post(live, api_key, b'{"model": "fake"}')
    assert r.status_code == 400 and error_of(r)["param"] == "messages"


def test_unknown_model(client):
    with pytest.raises(openai.NotFoundError) as err:
        client.chat.completions.create(model="no-such-model", messages=MSG)
    assert "does not exist" in err.value.message and err.value.code == "model_not_found"


def test_wrong_and_missing_key(live):
    bad = openai.OpenAI(base_url=live.url + "/v1", api_key="lx-wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as err:
        bad.chat.completions.create(model="fake", messages=MSG)
    assert "wrong or has been revoked" in err.value.message
    r = httpx.get(live.url + "/v1/models")
    assert r.status_code == 401 and "lingxi keys create" in error_of(r)["message"]


def test_oversized_body(live, api_key):
    big = '{"model": "fake", "messages": [{"role": "user", "content": "' + "x" * 70_000 + '"}]}'
    r = post(live, api_key, big.encode())
    assert r.status_code == 413 and "at most 65536 bytes" in error_of(r)["message"]

    def chunked():  # no Content-Length: the limit still holds while reading
        yield big.encode()[:40_000]
        yield big.encode()[40_000:]

    r = post(live, api_key, chunked())
    assert r.status_code == 413


@pytest.mark.parametrize(("field", "value"), [("max_tokens", -5), ("temperature", 3), ("n", 0), ("top_logprobs", 99)])
def test_bad_sampling_values(client, field, value):
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model="fake", messages=MSG, **{field: value})
    assert err.value.param == field and f"'{field}'" in err.value.message


def test_bad_role_and_bad_response_format(client):
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model="fake", messages=[{"role": "wizard", "content": "x"}])
    assert "messages.0.role" in err.value.message and "'user', 'assistant' or 'tool'" in err.value.message
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model="fake", messages=MSG, response_format={"type": "yaml"})
    assert "response_format" in err.value.message


def test_model_error_before_streaming_is_a_status(client, tool_model):
    tool_model.queue("not json")
    with pytest.raises(openai.InternalServerError) as err:
        client.chat.completions.create(model="tools", messages=MSG, response_format={"type": "json_object"},
                                       stream=True)
    assert "not valid JSON" in err.value.message


def test_unknown_route_and_embedding_model(live, api_key):
    r = httpx.get(live.url + "/v2/nothing")
    assert r.status_code == 404 and "/v1" in error_of(r)["message"]
    r = httpx.post(live.url + "/v1/embeddings", headers={"Authorization": f"Bearer {api_key}"},
                   json={"model": "x", "input": "y"})
    assert r.status_code == 404 and "embedding model 'x'" in error_of(r)["message"]


def test_no_auth_only_on_loopback():
    assert serve_settings(no_auth=True, host="127.0.0.1").no_auth
    assert serve_settings(no_auth=True, host="::1").no_auth
    with pytest.raises(ConfigError, match="not a loopback address"):
        serve_settings(no_auth=True, host="0.0.0.0")


def test_health_and_ready(live, api_key):
    assert httpx.get(live.url + "/healthz").json() == {"status": "ok"}  # open: load balancers probe it
    r = httpx.get(live.url + "/readyz", headers={"Authorization": f"Bearer {api_key}"})
    assert r.status_code == 200 and r.json()["status"] == "ready"
