"""Lazy package exports: ``__all__, __getattr__ = lazy(__name__, {"Name": "module", ...})``
makes ``from lingxi.pkg import Name`` import ``lingxi.pkg.module`` only when first used."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy(package: str, exports: Mapping[str, str]) -> tuple[list[str], Callable[[str], Any]]:
    def __getattr__(name: str) -> Any:
        if name in exports:
            return getattr(importlib.import_module(f"{package}.{exports[name]}"), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return sorted(exports), __getattr__
