"""`hf:FOLDER+ADAPTER` model names: peft adapters on a Hugging Face folder, through the funnel and the CLI.

The base is a tiny random Llama saved with save_pretrained (SmolLM2's tokenizer and chat template);
the adapters are real peft folders with random A and B (`lingxi.testing.lora.make_peft_adapter`),
laid out as `lingxi tune sft --model hf:FOLDER` leaves them. Every answer is checked against
transformers + peft run directly on a fresh copy of the base."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lingxi.config import Settings
from lingxi.errors import ModelError, TuneError
from lingxi.models import adapted
from lingxi.models.resolve import parse
from lingxi.registry import default_registry
from lingxi.types import SamplingParams

PROMPT = "Tell me about the sea."
N_TOKENS = 12
GREEDY = SamplingParams(temperature=0.0, max_tokens=N_TOKENS)
LINGXI = str(Path(sys.executable).with_name("lingxi"))


@pytest.fixture(scope="module")
def hf_home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, Path]:
    pytest.importorskip("peft", reason="needs: pip install 'lingxi[tune]'")
    from lingxi.testing.lora import make_peft_adapter, tiny_hf_base
    from lingxi.tune.base import resolve_base

    home = tmp_path_factory.mktemp("hf-lora-home")
    settings = Settings(home=home, trace=False)
    gguf = resolve_base("smollm2", settings).path
    folder = tiny_hf_base(home / "tiny", gguf, seed=0)
    other = tiny_hf_base(home / "other", gguf, seed=1)
    make_peft_adapter(settings, "a", base=f"hf:{folder}", seed=1)
    make_peft_adapter(settings, "b.v2", base=f"hf:{folder}", seed=2)
    make_peft_adapter(settings, "theirs", base=f"hf:{other}", seed=3)
    return settings, folder


def direct(folder: Path, settings: Settings, loras: dict[str, float]) -> str:
    """Greedy answer from transformers + peft on a fresh copy of the base: every adapter active at once,
    each at its scale (peft's per-layer scaling, not the combination the provider builds)."""
    import torch
    from peft import PeftModel
    from peft.tuners.lora import LoraLayer
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from lingxi.tune.adapters import adapter_dir

    tok = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    names = [f"x{i}" for i in range(len(loras))]
    for name, adapter in zip(names, loras, strict=True):
        where = adapter_dir(adapter, settings) / "adapter"
        if name == "x0":
            model = PeftModel.from_pretrained(model, where, adapter_name=name).eval()
        else:
            model.load_adapter(where, adapter_name=name)
    if loras:
        model.base_model.set_adapter(names)
        for module in model.modules():
            if isinstance(module, LoraLayer):
                for name, scale in zip(names, loras.values(), strict=True):
                    module.set_scale(name, scale)
    text = tok.apply_chat_template([{"role": "user", "content": PROMPT}], add_generation_prompt=True, tokenize=False)
    ids = tok.encode(text, add_special_tokens=False)
    with torch.inference_mode():
        out = model.generate(torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                             max_new_tokens=N_TOKENS, do_sample=False, pad_token_id=tok.eos_token_id)
    return tok.decode(out[0][len(ids):], skip_special_tokens=True)


def answer(name: str, settings: Settings) -> str:
    from lingxi.models.funnel import open_chat

    return open_chat(name, settings).chat([{"role": "user", "content": PROMPT}], GREEDY).text


def test_hf_names_take_adapters_and_other_providers_keep_their_plus(hf_home: tuple[Settings, Path]) -> None:
    settings, folder = hf_home
    spec = parse(f"hf:{folder}+a:0.5+b.v2", settings, default_registry())
    assert (spec.provider, spec.path, spec.adapters) == ("hf", str(folder), {"a": 0.5, "b.v2": 1.0})
    assert adapted.is_adapted(f"hf:{folder}+a") and adapted.is_adapted(f"llamacpp:{folder}.gguf+a")
    assert not adapted.is_adapted("scripted:1+2") and not adapted.is_adapted("openai:base+lora@http://h:1/v1")
    assert parse("scripted:1+2", settings, default_registry()).replies == ["1+2"]
    assert parse("openai:base+lora@http://h:1/v1", settings, default_registry()).model == "base+lora"


def test_an_adapter_changes_the_answer_as_peft_does_and_the_base_comes_back(hf_home: tuple[Settings, Path]) -> None:
    from lingxi.models.hf_bases import shared_base

    settings, folder = hf_home
    base = answer(f"hf:{folder}", settings)
    with_a = answer(f"hf:{folder}+a", settings)
    base_again = answer(f"hf:{folder}", settings)
    with_b = answer(f"hf:{folder}+b.v2", settings)
    assert base == direct(folder, settings, {}) and base_again == base  # no adapter leaks into the plain base
    assert with_a != base and with_a == direct(folder, settings, {"a": 1.0})
    assert with_b not in (base, with_a) and with_b == direct(folder, settings, {"b.v2": 1.0})
    assert answer(f"hf:{folder}+a", settings) == with_a  # switching back
    shared = shared_base((str(folder), None))
    assert shared.loads == 1 and len(shared.names) == 2  # one base for every name, each adapter loaded once


@pytest.mark.parametrize("mix", [{"a": 1.0, "b.v2": 1.0}, {"a": 0.5, "b.v2": -1.0}, {"a": 2.0}])
def test_a_mix_of_adapters_equals_peft_with_both_active(hf_home: tuple[Settings, Path], mix: dict[str, float]) -> None:
    settings, folder = hf_home
    name = f"hf:{folder}" + "".join(f"+{a}:{s:g}" for a, s in mix.items())
    got = answer(name, settings)
    assert got == direct(folder, settings, mix)
    assert got != answer(f"hf:{folder}", settings)


def test_an_adapter_trained_by_lingxi_tune_on_the_folder_is_served(hf_home: tuple[Settings, Path]) -> None:
    pytest.importorskip("trl", reason="needs: pip install 'lingxi[tune]'")
    from lingxi.tune.train import Plan, train

    settings, folder = hf_home
    data = settings.home_dir / "pirate.jsonl"
    data.write_text("".join(json.dumps({"prompt": q, "completion": "Ahoy, matey! Arr."}) + "\n"
                            for q in ("Say hello.", "Greet me.", "Hi!", "Good morning.")), "utf-8")
    manifest = train(Plan(method="sft", model=f"hf:{folder}", data=str(data), out="pirate", max_steps=4, lr=5e-2,
                          seed=1, validation=0.0), settings)
    assert manifest["status"] == "trained" and manifest["base"]["format"] == "hf"
    got = answer(f"hf:{folder}+pirate", settings)
    assert got == direct(folder, settings, {"pirate": 1.0}) and got != answer(f"hf:{folder}", settings)


def test_an_adapter_trained_on_another_folder_is_refused(hf_home: tuple[Settings, Path]) -> None:
    from lingxi.models.funnel import open_chat

    settings, folder = hf_home
    with pytest.raises(ModelError) as info:
        open_chat(f"hf:{folder}+theirs", settings)
    msg, hint = info.value.message, info.value.hint
    assert f"'theirs' was trained on 'hf:{folder.with_name('other')}'" in msg and f"not on 'hf:{folder}'" in msg
    assert f"hf:{folder.with_name('other')}+theirs" in hint


def test_export_of_an_hf_adapter_says_how_to_serve_it(hf_home: tuple[Settings, Path]) -> None:
    pytest.importorskip("gguf")
    from lingxi.tune.export import export

    settings, folder = hf_home
    with pytest.raises(TuneError) as info:
        export("a", settings)
    assert f"--model hf:{folder}+a" in info.value.message and "convert_hf_to_gguf.py" in info.value.hint
    assert not (settings.home_dir / "adapters" / "a" / "adapter.gguf").exists()


def test_cli_complete_with_an_hf_adapter(hf_home: tuple[Settings, Path]) -> None:
    settings, folder = hf_home
    env = {**os.environ, "LINGXI_HOME": str(settings.home_dir), "LINGXI_TRACE": "false", "OMP_WAIT_POLICY": "PASSIVE"}
    r = subprocess.run([LINGXI, "complete", "--model", f"hf:{folder}+a", "--temperature", "0", "--max-tokens",
                        str(N_TOKENS), "--json", PROMPT], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["text"] == direct(folder, settings, {"a": 1.0}) != answer(f"hf:{folder}", settings)
