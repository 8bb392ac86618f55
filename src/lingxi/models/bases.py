"""Loaded llama.cpp base models, shared by every instance of the same GGUF and settings.

`smollm2`, `smollm2+a` and `smollm2+b` load the weights once: each call sets its LoRA adapters on
the one context (`llama_adapter_lora_init` once per adapter file, `llama_set_adapters_lora` per switch)
and resets the prompt cache after a switch, so no adapter's cached prefix leaks into another's answer.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

from lingxi.errors import ModelError


class Base:
    """One loaded GGUF (and its logits twin) with its lock, its LoRA handles and the adapters now set."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.llms: dict[str, Any] = {}
        self.handles: dict[tuple[str, str], Any] = {}  # (llm attr, LoRA file) -> llama_adapter_lora handle
        self.active: dict[str, tuple[tuple[str, float], ...]] = {}  # llm attr -> the adapters set on its context
        self.loads = 0  # base models loaded (a test and the bench check it stays 1)
        self.switches = 0
        self.timings: dict[str, list[float]] = {"init_s": [], "set_s": []}

    def use(self, attr: str, llm: Any, loras: tuple[tuple[str, float], ...]) -> None:
        """Set exactly these adapters on the context (none: the plain base); a change resets the cache."""
        if self.active.get(attr, ()) == loras:
            return
        import ctypes

        import llama_cpp

        handles = []
        for path, _scale in loras:
            handle = self.handles.get((attr, path))
            if handle is None:
                started = time.perf_counter()
                handle = llama_cpp.llama_adapter_lora_init(llm._model.model, path.encode("utf-8"))
                if not handle:
                    raise ModelError(f"llama.cpp could not read the LoRA adapter {path}.",
                                     "export it again for this base: lingxi tune export NAME")
                self.timings["init_s"].append(time.perf_counter() - started)
                self.handles[(attr, path)] = handle
            handles.append(handle)
        started = time.perf_counter()
        n = len(handles)
        array = (llama_cpp.llama_adapter_lora_p_ctypes * n)(*handles) if n else None
        scales = (ctypes.c_float * n)(*(s for _p, s in loras)) if n else None
        if llama_cpp.llama_set_adapters_lora(llm._ctx.ctx, array, n, scales):
            raise ModelError(f"llama.cpp could not apply the LoRA adapters {[p for p, _ in loras]}.",
                             "check that each adapter was exported for this base model")
        # the cached prompt was computed with the previous adapters: reusing its prefix would leak
        # the previous adapter's state into this answer
        llm.reset()
        self.timings["set_s"].append(time.perf_counter() - started)
        self.active[attr] = loras
        self.switches += 1

    def close(self) -> None:
        for attr, llm in list(self.llms.items()):
            if llm is not None:
                llm.close()  # frees the model, and with it the adapters loaded on it
        self.llms.clear()
        self.handles.clear()
        self.active.clear()


_all: weakref.WeakValueDictionary[tuple, Base] = weakref.WeakValueDictionary()
_lock_all = threading.Lock()


def shared_base(key: tuple) -> Base:
    return shared(_all, key, Base)


def shared(table: weakref.WeakValueDictionary, key: tuple, make: Callable[[], Any]) -> Any:
    """The live object under `key` in `table`, made now if there is none (one per key across threads)."""
    with _lock_all:
        obj = table.get(key)
        if obj is None:
            obj = table[key] = make()
        return obj


def loaded_bases() -> list[dict[str, Any]]:
    """The base models loaded in this process: their file, loads, adapter switches and adapter files."""
    with _lock_all:
        items = list(_all.items())
    return [{"path": key[0], "loads": b.loads, "switches": b.switches, "loaded": any(b.llms.values()),
             "adapters": sorted({p for _a, p in b.handles})} for key, b in items]
