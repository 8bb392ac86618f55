"""The fair queue in front of a model: `limit` calls at once, a bounded wait, turns across names.

Requests wait first come, first served, and get a 503 when the queue is full or they waited too long.
Names sharing one gate (a base model and its LoRA adapters) take turns, so a burst for one adapter
does not starve another.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict, deque

from lingxi.serve.errors import ApiError


class Gate:
    """Lets `limit` calls run at once; up to `max_waiting` more wait.

    Waiters queue per key (the model name: `smollm2`, `smollm2+a`, ... share one base model's
    gate) and a freed slot goes to the keys in turn, first come first served within a key: a burst
    for one adapter cannot starve the others."""

    def __init__(self, limit: int, max_waiting: int, timeout_s: float) -> None:
        self.limit, self.max_waiting, self.timeout_s = limit, max_waiting, timeout_s
        self.active = 0
        self.running: dict[str, int] = {}  # slots held per key
        self._queues: OrderedDict[str, deque[asyncio.Future[None]]] = OrderedDict()

    @property
    def waiting(self) -> int:
        return sum(len(q) for q in self._queues.values())

    def counts(self, key: str) -> tuple[int, int]:
        """(running, waiting) for one key."""
        return self.running.get(key, 0), len(self._queues.get(key, ()))

    async def acquire(self, name: str, key: str | None = None) -> float:
        """Wait for a slot; return the seconds spent waiting."""
        key = name if key is None else key
        if self.active < self.limit and not self.waiting:
            self.active += 1
            self.running[key] = self.running.get(key, 0) + 1
            return 0.0
        if self.waiting >= self.max_waiting:
            raise ApiError(503, f"The model '{name}' is busy: {self.active} request(s) running and "
                           f"{self.waiting} waiting, which is all its queue holds. Retry in a moment.",
                           code="queue_full", headers={"Retry-After": "1"})
        started = time.perf_counter()
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queues.setdefault(key, deque()).append(fut)
        try:
            async with asyncio.timeout(self.timeout_s):
                await fut
        except (TimeoutError, asyncio.CancelledError) as exc:
            self._give_up(key, fut)
            if isinstance(exc, TimeoutError):
                raise ApiError(503, f"The model '{name}' stayed busy for {self.timeout_s:g}s while this request "
                               "waited in its queue. Retry later or raise --queue-timeout.",
                               code="queue_timeout", headers={"Retry-After": "5"}) from None
            raise
        return time.perf_counter() - started

    def _give_up(self, key: str, fut: asyncio.Future[None]) -> None:
        if fut.done() and not fut.cancelled():
            self.release(key)  # the slot arrived just as we left: pass it on
            return
        fut.cancel()
        queue = self._queues.get(key)
        if queue is not None:
            try:
                queue.remove(fut)
            except ValueError:
                pass
            if not queue:
                del self._queues[key]

    def release(self, key: str | None = None) -> None:
        """Give back `key`'s slot: hand it to the next key's longest waiter (keys in turn), or free it.
        Call on the event loop."""
        if key is not None and key in self.running:
            self.running[key] -= 1
            if not self.running[key]:
                del self.running[key]
        while self._queues:
            key, queue = next(iter(self._queues.items()))
            fut = queue.popleft()
            if queue:
                self._queues.move_to_end(key)  # this key had its turn
            else:
                del self._queues[key]
            if not fut.done():
                self.running[key] = self.running.get(key, 0) + 1
                fut.set_result(None)
                return
        self.active -= 1
