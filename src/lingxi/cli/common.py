"""Options and output helpers shared by every command group."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console

from lingxi.models.base import sampling_error
from lingxi.types import SamplingParams

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

ModelOpt = Annotated[
    str | None,
    typer.Option("--model", "-m", help="Alias, PROVIDER:TARGET, a .gguf path or an http(s)://…/v1 URL.", show_default=False),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document instead of text.")]
TemperatureOpt = Annotated[float, typer.Option("--temperature", "-t", help="0 = greedy; up to 2.")]
TopPOpt = Annotated[float, typer.Option("--top-p", help="Nucleus sampling mass, in (0, 1].")]
MaxTokensOpt = Annotated[int, typer.Option("--max-tokens", help="Most tokens to generate.")]
StopOpt = Annotated[list[str] | None, typer.Option("--stop", help="Stop sequence (repeatable).", show_default=False)]
SeedOpt = Annotated[int | None, typer.Option("--seed", help="Seed for reproducible sampling.", show_default=False)]


def sampling(temperature: float, top_p: float, max_tokens: int, stop: list[str] | None, seed: int | None,
             **extra: Any) -> SamplingParams:
    try:
        return SamplingParams(temperature=temperature, top_p=top_p, max_tokens=max_tokens, stop=stop or [], seed=seed,
                              **extra)
    except ValidationError as exc:
        raise sampling_error(exc) from exc


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")
    sys.stdout.flush()


def read_text(text: str) -> str:
    """A text argument, or standard input when it is '-'."""
    return sys.stdin.read() if text == "-" else text
