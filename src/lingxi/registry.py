"""The plugin registry.

Every provider (built-in or third-party) is registered the same way: a package
declares an entry point in the ``lingxi.plugins`` group whose value is a
function ``register(registry)``; that function calls ``registry.add(kind, name,
"module:attribute")``. Targets are imported only when first used, so building
the registry is cheap.

Kinds used today: ``chat`` (chat providers), ``embedding`` (embedding providers), ``store``
(knowledge-base stores), ``guard`` (guard checks: moderation, injection, pii, ...), ``app``
(server applications: a FastAPI router the server includes, e.g. the education app), ``transcriber``
(speech to text), ``synthesizer`` (text to speech), ``loader`` (file readers by extension, e.g. ``.mp3``;
``load(path) -> list[Document]``). Voice providers have ``from_spec(name, spec, settings)``.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable
from functools import lru_cache
from importlib.metadata import entry_points
from typing import Any

from lingxi.errors import PluginError

GROUP = "lingxi.plugins"


class Registry:
    def __init__(self) -> None:
        self._targets: dict[tuple[str, str], str | Callable[..., Any]] = {}

    def add(self, kind: str, name: str, target: str | Callable[..., Any], *, replace: bool = False) -> None:
        key = (kind, name)
        if key in self._targets and not replace:
            raise PluginError(
                f"A {kind} provider named '{name}' is already registered.",
                "pick another name, or pass replace=True to override it on purpose",
            )
        self._targets[key] = target

    def names(self, kind: str) -> list[str]:
        return sorted(name for k, name in self._targets if k == kind)

    def __contains__(self, key: tuple[str, str]) -> bool:
        return key in self._targets

    def get(self, kind: str, name: str) -> Any:
        target = self._targets.get((kind, name))
        if target is None:
            known = self.names(kind)
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"known {kind} providers: {', '.join(known) or 'none'}"
            raise PluginError(f"No {kind} provider named '{name}'.", hint)
        if isinstance(target, str):
            target = _import(target)
            self._targets[(kind, name)] = target
        return target

    def load_entry_points(self) -> Registry:
        for ep in entry_points(group=GROUP):
            try:
                ep.load()(self)
            except PluginError:
                raise
            except Exception as exc:  # a broken third-party plugin must not hide which one it was
                raise PluginError(
                    f"The lingxi plugin '{ep.name}' ({ep.value}) failed to register: {exc}.",
                    "upgrade or uninstall that plugin package",
                ) from exc
        if not self.names("chat"):
            # running from a source tree that was never installed: no entry points exist yet
            from lingxi import plugins

            plugins.register(self)
        return self


def _import(target: str) -> Any:
    module, _, attr = target.partition(":")
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise PluginError(f"Could not import '{target}': {exc}.", "check the plugin's installation") from exc


@lru_cache(maxsize=1)
def default_registry() -> Registry:
    """The process-wide registry, built from entry points on first use."""
    return Registry().load_entry_points()
