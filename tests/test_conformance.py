"""Every chat provider passes the same suite (lingxi.testing.ChatModelSuite)."""

from __future__ import annotations

import pytest

from lingxi.models.llamacpp import LlamaCppChat
from lingxi.models.openai_compat import OpenAIChat
from lingxi.models.scripted import ScriptedChat
from lingxi.testing import ChatModelSuite


class TestScriptedConformance(ChatModelSuite):
    @pytest.fixture(scope="class")
    def model(self):
        return ScriptedChat(default="The sea is wide and deep. Waves roll in all day long. Ships cross it.")


@pytest.mark.slow
class TestLlamaCppConformance(ChatModelSuite):
    @pytest.fixture(scope="class")
    def model(self, gguf_path):
        return LlamaCppChat(gguf_path, n_ctx=2048)


@pytest.mark.slow
class TestOpenAIConformance(ChatModelSuite):
    """The openai provider against a real OpenAI-compatible server on loopback."""

    @pytest.fixture(scope="class")
    def model(self, llama_server):
        return OpenAIChat("smollm2", base_url=llama_server, api_key="sk-test", max_retries=0)
