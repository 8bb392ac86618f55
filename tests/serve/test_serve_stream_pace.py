"""ThreadStream hands the first piece over at once, then collects pieces at its pace; the end
and errors never wait for the pace."""

from __future__ import annotations

import asyncio
import time

import pytest

from lingxi.serve.pool import ThreadStream


def drain(make, pace_s: float) -> tuple[list[list[int]], float]:
    async def run() -> tuple[list[list[int]], float]:
        stream = ThreadStream(make, pace_s=pace_s)
        asyncio.get_running_loop().run_in_executor(None, stream.produce)
        started = time.monotonic()
        out = [batch async for batch in stream.batches()]
        return out, time.monotonic() - started

    return asyncio.run(run())


def slow(n: int, gap: float = 0.01, fail: bool = False):
    def make():
        for i in range(n):
            time.sleep(gap)
            yield i
        if fail:
            raise ValueError("broken model")
    return make


def test_pieces_are_batched_in_order_and_none_is_lost():
    batches, _ = drain(slow(30), pace_s=0.05)
    assert [x for b in batches for x in b] == list(range(30))
    assert len(batches) <= 15  # ~0.3 s of pieces at a 0.05 s pace: several pieces per wake-up


def test_end_and_errors_do_not_wait_for_the_pace():
    batches, took = drain(slow(3), pace_s=30)  # with a 30 s pace only the first piece and the end wake the loop
    assert [x for b in batches for x in b] == [0, 1, 2] and took < 20
    with pytest.raises(ValueError, match="broken model"):
        drain(slow(3, fail=True), pace_s=30)


def test_pace_zero_hands_over_every_wake_up():
    batches, _ = drain(slow(5, gap=0.05), pace_s=0)
    assert [x for b in batches for x in b] == list(range(5)) and len(batches) >= 2
