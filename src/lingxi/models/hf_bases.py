"""Loaded transformers bases, shared by every hf model of the same folder (or GGUF), and their LoRA adapters.

`hf:/m/tiny`, `hf:/m/tiny+a` and `hf:/m/tiny+a:0.5+b:0.5` load the weights once. The first adapter
wraps the base in a peft ``PeftModel`` (its LoRA layers go into the base's modules in place) and each
further adapter folder is added with ``load_adapter``, once. Each call then switches to what its model
name asks for: ``set_adapter`` for one adapter at scale 1; a mix, or one adapter at another scale, is
combined once with ``add_weighted_adapter(combination_type="cat")``, which stacks the A and B matrices
so that the combined update is exactly the sum of scale * (alpha / r) * B @ A over the adapters (what
llama.cpp applies for the same name); the plain base runs inside ``disable_adapter()``. Nothing
carries over between calls: each call builds its own KV cache.
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections.abc import Iterator
from typing import Any

from lingxi.errors import ModelError, missing_extra

Loras = tuple[tuple[str, float], ...]  # (peft adapter folder, scale), in the order the name gives them


class Base:
    """One loaded tokenizer and model with its lock, the adapters loaded into it and the one now active."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.tok: Any = None
        self.model: Any = None  # the transformers model, or the PeftModel around it once an adapter is loaded
        self.eos: set[int] = set()
        self.loads = 0  # base models loaded (a test checks it stays 1 for a base and its adapters)
        self.switches = 0  # set_adapter calls
        self.names: dict[str, str] = {}  # adapter folder -> its peft adapter name
        self.mixes: dict[Loras, str] = {}  # a mix -> the peft name of its combined adapter

    @contextlib.contextmanager
    def using(self, loras: Loras) -> Iterator[None]:
        """Run the block with exactly these adapters on, none for the plain base (call with the lock held)."""
        if not loras:
            if not self.names:  # no adapter was ever loaded: the model is the plain base
                yield
                return
            with self.model.disable_adapter():
                yield
            return
        name = self._adapter(loras)
        if self.model.active_adapter != name:
            self.model.set_adapter(name, inference_mode=True)  # frozen: nothing here trains
            self.switches += 1
        yield

    def _adapter(self, loras: Loras) -> str:
        """The peft name of the adapter (or the combination) for these adapters, loaded or built once."""
        if len(loras) == 1 and loras[0][1] == 1.0:
            return self._load_adapter(loras[0][0])
        if loras not in self.mixes:
            names = [self._load_adapter(folder) for folder, _scale in loras]
            mix = f"mix{len(self.mixes)}"
            try:
                self.model.add_weighted_adapter(names, [scale for _f, scale in loras], mix, combination_type="cat")
            except (ValueError, RuntimeError) as exc:
                raise ModelError(f"peft could not combine the adapters {[f for f, _s in loras]}: {exc}.",
                                 "combine LoRA adapters of one kind (all trained by lingxi tune on this base)") from exc
            self.mixes[loras] = mix
        return self.mixes[loras]

    def _load_adapter(self, folder: str) -> str:
        if folder in self.names:
            return self.names[folder]
        try:
            from peft import PeftModel
        except ImportError as exc:
            raise missing_extra("peft", "tune") from exc
        name = f"lora{len(self.names)}"  # peft names are module keys: an adapter's own name may hold a '.'
        try:
            if not self.names:
                self.model = PeftModel.from_pretrained(self.model, folder, adapter_name=name).eval()
            else:
                self.model.load_adapter(folder, adapter_name=name)
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            raise ModelError(f"peft could not load the LoRA adapter in {folder}: {exc}.",
                             "check that the adapter was trained on this base: lingxi adapters list") from exc
        self.names[folder] = name
        return name


_all: weakref.WeakValueDictionary[tuple, Base] = weakref.WeakValueDictionary()


def shared_base(key: tuple) -> Base:
    from lingxi.models.bases import shared

    return shared(_all, key, Base)

