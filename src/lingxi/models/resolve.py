"""From a name the user typed to a provider instance.

A model name is one of:
- an alias from lingxi.toml ``[models.NAME]``, a pulled pack, or a built-in (``smollm2``);
- ``PROVIDER:TARGET``: ``llamacpp:/path/model.gguf``, ``hf:/path/folder``,
  ``openai:MODEL`` (base URL from settings) or ``openai:MODEL@http://host:port/v1``,
  ``scripted:reply`` (a fake that always answers "reply");
- a path to a ``.gguf`` file, or an ``http(s)://…/v1`` URL (first model it serves;
  add ``#MODEL`` to choose one);
- any of these with LoRA adapters: ``smollm2+tutor``, ``smollm2+a:0.5+b:0.5`` (`lingxi.models.adapted`).
"""

from __future__ import annotations

import difflib
from lingxi.config import ModelSpec, Settings, load_settings
from lingxi.errors import ConfigError, PluginError
from lingxi.models import adapted, packs
from lingxi.models.base import ChatModel
from lingxi.registry import Registry, default_registry


def aliases(settings: Settings) -> dict[str, ModelSpec]:
    """All known aliases, weakest first: built-ins, pulled packs, then lingxi.toml."""
    return {**packs.BUILTIN, **packs.pulled(settings), **settings.models}


def parse(name: str, settings: Settings, registry: Registry) -> ModelSpec:
    known = aliases(settings)
    if name in known:
        return known[name]
    if adapted.is_adapted(name):
        base_name, adapters = adapted.split(name)
        return adapted.attach(parse(base_name, settings, registry), base_name, adapters, settings)
    if name in packs.PACKS:
        raise ConfigError(f"The model '{name}' has not been pulled yet.", f"run: lingxi models pull {name}")
    if name.startswith(("http://", "https://")):
        url, _, model = name.partition("#")
        return ModelSpec(provider="openai", base_url=url, model=model or None)
    provider, sep, target = name.partition(":")
    if sep and ("chat", provider) in registry:
        return _provider_spec(provider, target)
    if name.endswith(".gguf"):
        return ModelSpec(provider="llamacpp", path=name)
    close = difflib.get_close_matches(name, list(known), n=1)
    hint = f"did you mean '{close[0]}'?" if close else f"known models: {', '.join(sorted(known))}; or use PROVIDER:TARGET, a .gguf path or an http URL"
    raise ConfigError(f"Unknown model '{name}'.", hint)


def _provider_spec(provider: str, target: str) -> ModelSpec:
    if provider == "openai":
        model, _, url = target.partition("@")
        return ModelSpec(provider="openai", model=model or None, base_url=url or None)
    if provider == "scripted":
        return ModelSpec(provider="scripted", replies=[target] if target else [])
    return ModelSpec(provider=provider, path=target)


def build(spec: ModelSpec, settings: Settings | None = None, registry: Registry | None = None) -> ChatModel:
    settings = settings or load_settings()
    registry = registry or default_registry()
    try:
        cls = registry.get("chat", spec.provider)
    except PluginError as exc:
        raise ConfigError(exc.message, exc.hint) from exc
    return cls.from_spec(spec, settings)
