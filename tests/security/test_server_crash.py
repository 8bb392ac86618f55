"""A model that dies with a signal must not take the server with it (hardening item 12).

Local models run in a supervised worker process; the request in flight when it dies is a 503,
and the next request starts a new worker.
"""

from __future__ import annotations

import openai
import pytest

from lingxi.config import ModelSpec, Settings
from lingxi.errors import ModelCrashed
from lingxi.models.funnel import open_chat
from lingxi.serve import create_app, serve_settings
from lingxi.testing.live import LiveServer

MSG = [{"role": "user", "content": "hi"}]
CRASHY = ModelSpec(provider="scripted", replies=["fine", "<<crash:SIGSEGV>>", "fine again"])


def test_a_segfaulting_model_is_a_503_and_the_server_keeps_serving(tmp_path):
    settings = Settings(home=tmp_path, models={"crashy": CRASHY, "other": ModelSpec(provider="scripted", replies=["up"])})
    app = create_app(settings, serve_settings(no_auth=True, rate_limit=0, isolate="all"))
    with LiveServer(app) as live:
        client = openai.OpenAI(base_url=live.url + "/v1", api_key="x", max_retries=0, timeout=60)
        assert client.chat.completions.create(model="crashy", messages=MSG).choices[0].message.content == "fine"
        with pytest.raises(openai.InternalServerError) as err:  # 503: the openai client's class for 5xx
            client.chat.completions.create(model="crashy", messages=MSG)
        assert err.value.status_code == 503 and "SIGSEGV" in err.value.message and err.value.code == "model_crashed"
        assert client.chat.completions.create(model="other", messages=MSG).choices[0].message.content == "up"
        # the next request to the same model gets a fresh worker
        assert client.chat.completions.create(model="crashy", messages=MSG).choices[0].message.content == "fine"
        with pytest.raises(openai.InternalServerError) as err:  # died before its first token: still a status
            list(client.chat.completions.create(model="crashy", messages=MSG, stream=True))
        assert err.value.status_code == 503
        assert client.chat.completions.create(model="crashy", messages=MSG).choices[0].message.content == "fine"


def test_a_worker_streams_tokens_and_stops_when_the_consumer_does(tmp_path):
    spec = ModelSpec(provider="scripted", replies=["one two three four five six seven eight"])
    model = open_chat("w", Settings(home=tmp_path, models={"w": spec}), cache=False, isolate=True)
    deltas = model.stream(MSG)
    assert next(iter(deltas)).text == "one"
    deltas.close()  # the worker is told to stop and drained
    assert model.chat(MSG).text == "one two three four five six seven eight"
    assert model.count_tokens("a b") == 3
    model.wrapped.close()


def test_the_library_can_isolate_a_model_too(tmp_path):
    model = open_chat("crashy", Settings(home=tmp_path, models={"crashy": CRASHY}), cache=False, isolate=True)
    assert model.chat(MSG).text == "fine"
    with pytest.raises(ModelCrashed, match="crashed \\(SIGSEGV\\)"):
        model.chat(MSG)
    assert model.chat(MSG).text == "fine" and model.wrapped.restarts == 1
    model.wrapped.close()
