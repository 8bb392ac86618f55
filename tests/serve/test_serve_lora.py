"""Multi-LoRA serving: `smollm2`, `smollm2+a` and `smollm2+b` interleaved through the official openai
client, each with its own answer, from one loaded base in one worker child; a mismatched base is a 400."""

from __future__ import annotations

import asyncio
from pathlib import Path

import openai
import pytest

from lingxi.config import Settings

MSG = [{"role": "user", "content": "Tell me about the sea."}]


@pytest.fixture
def lora_server(tmp_path: Path, start_server):
    pytest.importorskip("gguf", reason="needs: pip install 'lingxi[hf]'")
    from lingxi.testing.lora import make_adapter

    settings = Settings(home=tmp_path)  # the home start_server gives the server
    make_adapter(settings, "a", seed=1)
    make_adapter(settings, "b", seed=2)
    make_adapter(settings, "elsewhere", seed=3, base_sha256="f" * 64)
    return start_server(no_auth=True)


def _ask(client: openai.OpenAI, model: str) -> str:
    r = client.chat.completions.create(model=model, messages=MSG, max_tokens=10, temperature=0)
    assert r.model == model
    return r.choices[0].message.content


@pytest.mark.slow
def test_adapters_interleave_on_one_loaded_base(lora_server) -> None:
    client = openai.OpenAI(base_url=lora_server.url + "/v1", api_key="none", max_retries=0, timeout=180)
    listed = {m.id for m in client.models.list()}
    assert {"smollm2", "smollm2+a", "smollm2+b"} <= listed
    assert "smollm2+elsewhere" not in listed  # trained on another file: not listed, since it would be refused
    order = ["smollm2+a", "smollm2", "smollm2+b", "smollm2+a", "smollm2+b", "smollm2"]
    got = [(m, _ask(client, m)) for m in order]
    one = {m: {t for n, t in got if n == m} for m in set(order)}
    assert all(len(v) == 1 for v in one.values()), got  # no adapter's state leaks into the next answer
    assert len({next(iter(v)) for v in one.values()}) == 3, got  # each name has its own behaviour

    async def together() -> list[str]:  # all three at once: queued fairly on the one base, same answers
        aclient = openai.AsyncOpenAI(base_url=lora_server.url + "/v1", api_key="none", max_retries=0, timeout=180)
        try:
            rs = await asyncio.gather(*[aclient.chat.completions.create(model=m, messages=MSG, max_tokens=10,
                                                                        temperature=0) for m in ("smollm2+b", "smollm2", "smollm2+a")])
            return [r.choices[0].message.content for r in rs]
        finally:
            await aclient.close()

    assert asyncio.run(together()) == [next(iter(one[m])) for m in ("smollm2+b", "smollm2", "smollm2+a")]
    pool = lora_server.app_state.pool
    bases = pool.bases()
    assert len(bases) == 1 and bases[0]["names"] == ["smollm2", "smollm2+a", "smollm2+b"], bases
    shared = next(iter(pool._bases.values()))
    loaded = shared.worker.loaded_bases()  # asked of the worker child itself
    assert [b["loads"] for b in loaded if b["loaded"]] == [1], loaded
    assert len(loaded[0]["adapters"]) == 2 and loaded[0]["switches"] >= 5


@pytest.mark.slow
def test_mismatched_base_and_unknown_adapter_are_refused(lora_server) -> None:
    client = openai.OpenAI(base_url=lora_server.url + "/v1", api_key="none", max_retries=0, timeout=60)
    with pytest.raises(openai.BadRequestError) as info:
        _ask(client, "smollm2+elsewhere")
    assert "'elsewhere' was trained on 'smollm2'" in str(info.value) and info.value.code == "adapter_base_mismatch"
    with pytest.raises(openai.NotFoundError) as info2:
        _ask(client, "smollm2+nope")
    assert "no adapter named 'nope'" in str(info2.value)


def test_one_base_serves_its_adapters_in_turn() -> None:
    """A burst for one adapter does not starve another: waiters are served key by key, in turn."""
    from lingxi.serve.gate import Gate

    async def go() -> list[str]:
        gate, order = Gate(1, 16, 5.0), []
        await gate.acquire("smollm2+a", "smollm2+a")  # running; then a burst for a, and one for b

        async def one(key: str, tag: str) -> None:
            await gate.acquire(key, key)
            order.append(tag)
            assert gate.counts(key)[0] == 1
            gate.release(key)

        tasks = [asyncio.create_task(one("smollm2+a", f"a{i}")) for i in range(3)]
        await asyncio.sleep(0)
        tasks.append(asyncio.create_task(one("smollm2+b", "b0")))
        await asyncio.sleep(0)
        assert gate.counts("smollm2+a") == (1, 3) and gate.counts("smollm2+b") == (0, 1)
        gate.release("smollm2+a")
        await asyncio.gather(*tasks)
        assert gate.active == 0 and gate.running == {}
        return order

    assert asyncio.run(go()) == ["a0", "b0", "a1", "a2"]
