"""`BASE+ADAPTER` model names: parsing, the base check, and per-call adapter switching on one loaded base.

The adapters are real llama.cpp LoRA GGUFs built directly (`lingxi.testing.lora`), not trained: the
switching, caching and refusal logic is the same, and the tests take seconds."""

from __future__ import annotations

from pathlib import Path

import pytest

from lingxi.config import ModelSpec, Settings
from lingxi.errors import ConfigError, ModelError
from lingxi.models import adapted
from lingxi.models.resolve import parse
from lingxi.registry import default_registry
from lingxi.types import SamplingParams

PROMPT = [{"role": "user", "content": "Tell me about the sea."}]
GREEDY = SamplingParams(temperature=0.0, max_tokens=12)


@pytest.fixture(scope="module")
def lora_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    pytest.importorskip("gguf", reason="needs: pip install 'lingxi[hf]'")
    from lingxi.testing.lora import make_adapter

    home = tmp_path_factory.mktemp("lora-home")
    settings = Settings(home=home, trace=False)
    make_adapter(settings, "a", seed=1)
    make_adapter(settings, "b", seed=2)
    make_adapter(settings, "elsewhere", seed=3, base_sha256="0" * 64)
    return settings


@pytest.mark.parametrize(("name", "base", "scales"), [
    ("smollm2+tutor", "smollm2", {"tutor": 1.0}),
    ("smollm2+a:0.5+b:0.5", "smollm2", {"a": 0.5, "b": 0.5}),
    ("llamacpp:/m/x.gguf+style:-1.5", "llamacpp:/m/x.gguf", {"style": -1.5}),
])
def test_names_split_into_base_and_scaled_adapters(name: str, base: str, scales: dict) -> None:
    assert adapted.split(name) == (base, scales)


@pytest.mark.parametrize(("name", "says"), [
    ("+tutor", "names no base model"),
    ("smollm2+", "is not an adapter name"),
    ("smollm2+a b", "is not an adapter name"),
    ("smollm2+a:x", "scale 'x'"),
    ("smollm2+a:0", "scale '0'"),
    ("smollm2+a:9", "scale '9'"),
    ("smollm2+a:nan", "scale 'nan'"),
    ("smollm2+a+a", "appears twice"),
])
def test_bad_names_are_refused_with_the_form_to_use(name: str, says: str) -> None:
    with pytest.raises(ConfigError) as info:
        adapted.split(name)
    assert says in info.value.message and info.value.hint


def test_unknown_adapter_and_unadaptable_base_are_refused(lora_settings: Settings) -> None:
    with pytest.raises(ConfigError) as info:
        parse("smollm2+nope", lora_settings, default_registry())
    assert "no adapter named 'nope'" in info.value.message and "a, b, elsewhere" in info.value.hint
    remote = lora_settings.model_copy(update={"models": {"remote": ModelSpec(provider="openai", model="m")}})
    with pytest.raises(ModelError) as info2:
        parse("remote+a", remote, default_registry())
    assert "LoRA adapters are applied by llama.cpp" in info2.value.message
    # a PROVIDER:TARGET name other than llamacpp: keeps its '+': a scripted reply, a remote model's own name
    assert parse("scripted:2**100 + 17", lora_settings, default_registry()).replies == ["2**100 + 17"]
    assert parse("openai:base+lora@http://h:1/v1", lora_settings, default_registry()).model == "base+lora"


def test_an_adapter_trained_on_another_base_is_refused(lora_settings: Settings) -> None:
    from lingxi.models.funnel import open_chat

    with pytest.raises(ModelError) as info:
        open_chat("smollm2+elsewhere", lora_settings)
    msg = info.value.message
    assert "'elsewhere' was trained on 'smollm2' (SHA-256 000000000000…), not on 'smollm2'" in msg
    assert "retrain it with lingxi tune sft --model smollm2 --out elsewhere" in info.value.hint
    spec = parse("smollm2+a:0.5+b", lora_settings, default_registry())
    assert spec.provider == "llamacpp" and spec.adapters == {"a": 0.5, "b": 1.0}


def _alone(base: Path, lora: Path | None) -> str:
    """The reference: a separate llama.cpp instance loaded with only this adapter."""
    from llama_cpp import Llama

    llm = Llama(model_path=str(base), lora_path=str(lora) if lora else None, n_ctx=512, n_threads=2, verbose=False)
    try:
        out = llm.create_chat_completion(messages=PROMPT, temperature=0.0, top_k=0, min_p=0.0, max_tokens=12)
        return out["choices"][0]["message"]["content"]
    finally:
        llm.close()


def test_adapters_switch_per_call_on_one_base_without_leaking(lora_settings: Settings) -> None:
    from lingxi.models import bases
    from lingxi.models.files import resolve_path
    from lingxi.models.funnel import open_chat

    names = ["smollm2", "smollm2+a", "smollm2+b", "smollm2+a", "smollm2", "smollm2+b", "smollm2+a:0.5+b:0.5"]
    models = {n: open_chat(n, lora_settings, cache=False) for n in set(names)}
    got = [(n, models[n].chat(PROMPT, GREEDY).text) for n in names]
    answers: dict[str, set[str]] = {}
    for n, text in got:
        answers.setdefault(n, set()).add(text)
    assert all(len(v) == 1 for v in answers.values()), got  # the same answer whatever ran before
    one = {n: next(iter(v)) for n, v in answers.items()}
    assert len({one["smollm2"], one["smollm2+a"], one["smollm2+b"], one["smollm2+a:0.5+b:0.5"]}) == 4, one
    base = resolve_path(parse("smollm2", lora_settings, default_registry()).path)
    folder = lora_settings.home_dir / "adapters"
    assert one["smollm2+a"] == _alone(base, folder / "a" / "adapter.gguf")
    assert one["smollm2+b"] == _alone(base, folder / "b" / "adapter.gguf")
    assert one["smollm2"] == _alone(base, None)
    ours = [b for b in bases.loaded_bases() if b["path"] == parse("smollm2", lora_settings, default_registry()).path
            and len(b["adapters"]) == 2]
    assert len(ours) == 1 and ours[0]["loads"] == 1, bases.loaded_bases()  # one base for all five names
    assert ours[0]["switches"] >= 6


def test_tune_eval_writes_a_side_by_side_report(lora_settings: Settings, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from lingxi.cli import main

    held = lora_settings.home_dir / "held.jsonl"
    held.write_text('{"prompt": "Tell me about the sea.", "completion": "The sea is a vast and mysterious realm"}\n'
                    '{"messages": [{"role": "user", "content": "Say hi."}, {"role": "assistant", "content": "Hi!"}]}\n',
                    "utf-8")
    monkeypatch.setenv("LINGXI_HOME", str(lora_settings.home_dir))
    monkeypatch.setenv("LINGXI_TRACE", "false")
    assert main(["tune", "eval", "a", "--data", str(held), "--max-tokens", "8", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["models"] == {"base": "smollm2", "adapter": "smollm2+a"} and summary["n"] == 2
    report = json.loads(Path(summary["files"]["json"]).read_text("utf-8"))
    assert [it["reference"] for it in report["items"]] == ["The sea is a vast and mysterious realm", "Hi!"]
    assert report["items"][0]["base"] != report["items"][0]["adapter"]
    assert report["delta"]["f1"] == pytest.approx(report["metrics"]["adapter"]["f1"] - report["metrics"]["base"]["f1"])
    md = Path(summary["files"]["markdown"]).read_text("utf-8")
    assert "| metric | smollm2 | smollm2+a | change |" in md and "| f1 |" in md
    bad = lora_settings.home_dir / "bad.jsonl"
    bad.write_text('{"messages": [{"role": "user", "content": "x"}]}\n', "utf-8")
    assert main(["tune", "eval", "a", "--data", str(bad)]) == 1
    assert "bad.jsonl" in capsys.readouterr().err


def test_tune_eval_scores_words_not_citation_markers() -> None:
    """An adapter that answers only "[1]" must not score against references that end in "[1]"."""
    from lingxi.evals.qa import qa_scores
    from lingxi.rag.verify import strip_markers

    assert strip_markers("约只有8公斤重[1]。") == "约只有8公斤重。" and strip_markers("[1]") == ""
    assert strip_markers("in 1990 [2, 3]") == "in 1990" and strip_markers("见【2】") == "见"
    refs = {"0": [strip_markers("约只有8公斤重[1]。")]}
    assert qa_scores({"0": strip_markers("[1]")}, refs)["f1"] == 0
    assert qa_scores({"0": "[1]"}, {"0": ["约只有8公斤重[1]。"]})["f1"] > 0  # what the raw texts would score
