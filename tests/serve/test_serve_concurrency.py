"""One generation at a time per local model, a fair bounded queue, and streams that never mix."""

from __future__ import annotations

import asyncio
import time

import httpx
import openai
import pytest

from lingxi.serve.errors import ApiError
from lingxi.serve.gate import Gate

from serve_fakes import EchoChat


def test_gate_is_first_come_first_served():
    async def go():
        gate, order = Gate(limit=1, max_waiting=10, timeout_s=5), []
        await gate.acquire("m")

        async def user(i):
            await gate.acquire("m")
            order.append(i)
            await asyncio.sleep(0.001)
            gate.release()

        tasks = []
        for i in range(6):
            tasks.append(asyncio.create_task(user(i)))
            await asyncio.sleep(0)  # each one queues before the next arrives
        gate.release()
        await asyncio.gather(*tasks)
        return order, gate.active

    order, active = asyncio.run(go())
    assert order == [0, 1, 2, 3, 4, 5] and active == 0


def test_gate_refuses_when_full_and_times_out():
    async def go():
        gate = Gate(limit=1, max_waiting=1, timeout_s=0.05)
        await gate.acquire("m")
        waiter = asyncio.create_task(gate.acquire("m"))
        await asyncio.sleep(0)
        with pytest.raises(ApiError) as full:
            await gate.acquire("m")
        with pytest.raises(ApiError) as late:
            await waiter
        return full.value, late.value, gate.waiting

    full, late, waiting = asyncio.run(go())
    assert full.status == 503 and "queue holds" in full.message
    assert late.status == 503 and "stayed busy" in late.message and waiting == 0


def _many_streams(live, api_key, model, n):
    async def go():
        aclient = openai.AsyncOpenAI(base_url=live.url + "/v1", api_key=api_key, max_retries=0)

        async def one(i):
            words = " ".join(f"w{i}-{k}" for k in range(12))
            stream = await aclient.chat.completions.create(model=model, stream=True,
                                                           messages=[{"role": "user", "content": words}])
            got = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
            return words, got

        try:
            return await asyncio.gather(*[one(i) for i in range(n)])
        finally:
            await aclient.close()

    return asyncio.run(go())


def test_local_model_runs_one_stream_at_a_time_without_mixing(live, api_key):
    echo: EchoChat = live.app_state.pool.overrides["echo"]
    results = _many_streams(live, api_key, "echo", 8)
    assert all(sent == got for sent, got in results)
    assert echo.peak == 1


def test_remote_model_runs_streams_concurrently(live, api_key):
    echo: EchoChat = live.app_state.pool.overrides["echo-remote"]
    results = _many_streams(live, api_key, "echo-remote", 8)
    assert all(sent == got for sent, got in results)
    assert echo.peak > 1


def test_full_queue_answers_503(start_server):
    slow = EchoChat(delay=0.15)
    server = start_server({"slow": slow}, no_auth=True, queue_size=1)

    async def go():
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            body = {"model": "slow", "messages": [{"role": "user", "content": "a b c"}]}
            return await asyncio.gather(*[http.post("/v1/chat/completions", json=body) for _ in range(3)])

    responses = asyncio.run(go())
    assert sorted(r.status_code for r in responses) == [200, 200, 503]
    busy = next(r for r in responses if r.status_code == 503)
    assert "busy" in busy.json()["error"]["message"] and busy.headers["retry-after"] == "1"
    assert slow.peak == 1


def test_dropped_stream_frees_the_model(start_server):
    slow = EchoChat(delay=0.05)
    server = start_server({"slow": slow}, no_auth=True, queue_size=2)
    body = {"model": "slow", "stream": True, "messages": [{"role": "user", "content": " ".join(["w"] * 200)}]}
    with httpx.stream("POST", server.url + "/v1/chat/completions", json=body, timeout=30) as r:
        next(r.iter_lines())  # read a little, then hang up mid-stream
    started = time.perf_counter()
    r = httpx.post(server.url + "/v1/chat/completions", timeout=30,
                   json={"model": "slow", "messages": [{"role": "user", "content": "next"}]})
    assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"] == "next"
    assert time.perf_counter() - started < 5  # not the 10 s the dropped stream would have taken
