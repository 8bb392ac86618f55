"""Training that starts from a trained adapter: ``--model BASE+ADAPTER`` begins the new adapter at ADAPTER's weights.

    lingxi tune sft --model smollm2 --data chats.jsonl --out tutor
    lingxi tune dpo --model smollm2+tutor --data feedback.jsonl --out tutor-dpo    # then serve smollm2+tutor-dpo

The new adapter keeps the starting adapter's LoRA shape (rank, alpha, target modules: explicit options that differ
are refused), is trained on the same base (checked by SHA-256), and its manifest records where it came from
(``"from": {"name", "sha256"}``, the hash of the starting weights). For DPO and KTO the reference model is the
starting adapter: trl copies a PeftModel's trained adapter into a frozen adapter named "ref" when no
``ref_model`` is given. Only the trained adapter is saved, so export, merge and serving treat it like any other.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lingxi.config import Settings
from lingxi.errors import ConfigError, ModelError, TuneError
from lingxi.tune import adapters
from lingxi.tune.base import Base, resolve_base, sha256_of

DEFAULTS = {"r": 8, "alpha": 16, "target_modules": ["all-linear"]}
FLAGS = {"r": "--r", "alpha": "--alpha", "target_modules": "--target-modules"}


@dataclass(frozen=True)
class Start:
    name: str
    weights: Path  # adapters/NAME/adapter (adapter_config.json, adapter_model.safetensors)
    sha256: str  # of adapter_model.safetensors
    hyper: dict[str, Any]  # the starting run's r, alpha, target_modules

    def describe(self) -> dict[str, str]:
        return {"name": self.name, "sha256": self.sha256}

    def load(self, model: Any, dropout: float) -> Any:
        """The base `model` wrapped as a PeftModel whose trainable adapter ("default") holds these weights."""
        import peft

        config = peft.PeftConfig.from_pretrained(str(self.weights))
        config.lora_dropout = dropout
        return peft.PeftModel.from_pretrained(model, str(self.weights), is_trainable=True, config=config)


def starting_point(model: str, settings: Settings) -> tuple[Base, Start | None]:
    """(the base, the adapter to start from or None) for the --model of `lingxi tune`."""
    from lingxi.models import adapted

    if not adapted.is_adapted(model):
        return resolve_base(model, settings), None
    try:
        base_name, mix = adapted.split(model)
    except ConfigError as exc:
        raise TuneError(exc.message, exc.hint) from exc
    if len(mix) != 1 or next(iter(mix.values())) != 1.0:
        first = next(iter(mix))
        raise TuneError(f"'{model}' is a mix or a scaled adapter; a run starts from one adapter at full strength.",
                        f"use --model {base_name}+{first}")
    name = next(iter(mix))
    base = resolve_base(base_name, settings)
    manifest = adapters.read_manifest(name, settings)
    weights = adapters.adapter_dir(name, settings) / "adapter"
    safetensors = weights / "adapter_model.safetensors"
    if manifest.get("status") != "trained" or not safetensors.is_file():
        raise TuneError(f"The adapter '{name}' is not trained yet (status: {manifest.get('status')}); "
                        "a run can only start from a trained adapter.",
                        f"finish it first (run its command again), or use --model {base_name}")
    _check_base(name, base_name, settings)
    hyper = manifest.get("hyper", {})
    return base, Start(name=name, weights=weights, sha256=sha256_of(safetensors),
                            hyper={k: hyper.get(k, v) for k, v in DEFAULTS.items()})


def shape(plan: Any, start: Start | None) -> dict[str, Any]:
    """The run's r, alpha and target modules: the plan's (or the defaults) for a new adapter; the starting
    adapter's when there is one, with a TuneError naming any explicit option that differs."""
    if start is None:
        return {k: getattr(plan, k) if getattr(plan, k) is not None else v for k, v in DEFAULTS.items()}
    differ = [f"{FLAGS[k]} {_show(getattr(plan, k))} (it has {_show(v)})" for k, v in start.hyper.items()
              if getattr(plan, k) is not None and _norm(getattr(plan, k)) != _norm(v)]
    if differ:
        raise TuneError(f"'{plan.out}' starts from the adapter '{start.name}' and keeps its LoRA shape; "
                        f"these options differ from it: {', '.join(differ)}.",
                        "leave out --r, --alpha and --target-modules when training from an adapter")
    return dict(start.hyper)


def _check_base(name: str, base_name: str, settings: Settings) -> None:
    from lingxi.models.adapted import check_base
    from lingxi.models.resolve import parse
    from lingxi.registry import default_registry

    try:
        check_base(name, parse(base_name, settings, default_registry()), base_name, settings)
    except (ConfigError, ModelError) as exc:
        raise TuneError(exc.message, exc.hint) from exc


def _norm(value: Any) -> Any:
    return sorted(value) if isinstance(value, list) else value


def _show(value: Any) -> str:
    return ",".join(value) if isinstance(value, list) else str(value)
