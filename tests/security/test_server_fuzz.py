"""A bounded fuzz of the server from its own OpenAPI document (schemathesis): no input is a 5xx.

`bench/fuzz.py` runs the same for longer. The server runs the scripted model so that a case
exercises request handling, not generation.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings

from lingxi.config import Settings
from lingxi.models.scripted import ScriptedChat
from lingxi.serve import create_app, serve_settings
from lingxi.testing.live import LiveServer
from lingxi.voice.settings import VoiceSettings

EXAMPLES = 40  # per operation: a few hundred cases in all
SLOW_EXAMPLES = 8  # per operation that runs real work per case (a sandboxed program, synthesised speech)
SLOW = r"^/v1/audio/"


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("fuzz-home")
    voice = VoiceSettings(transcriber="scripted:fuzzed words", voice_zh="scripted", voice_en="scripted")  # no real models
    app = create_app(Settings(home=home, default_model="fake", voice=voice), serve_settings(no_auth=True, rate_limit=0),
                     models={"fake": ScriptedChat(default="ok")})
    with LiveServer(app) as live:
        yield live


@pytest.fixture(scope="module")
def api_schema(fuzzed):
    return schemathesis.openapi.from_url(fuzzed.url + "/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


def check(case) -> None:
    if isinstance(case.body, dict) and hash(repr(case.body)) % 2:  # half the bodies reach the model itself
        case.body["model"] = "fake"
    response = case.call(timeout=30)
    assert response.status_code < 500, f"{case.method} {case.path} -> {response.status_code}: {response.text[:400]}"


@schema.exclude(path_regex=SLOW).parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
          phases=[Phase.explicit, Phase.generate])  # no shrinking: a failure prints its case as it is
def test_no_request_is_answered_with_a_5xx(case):
    check(case)


@schema.include(path_regex=SLOW).parametrize()
@settings(max_examples=SLOW_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
          phases=[Phase.explicit, Phase.generate])
def test_no_request_to_a_slow_operation_is_answered_with_a_5xx(case):
    check(case)
