"""`lingxi complete`, `lingxi tokens`, `lingxi next`: one-shot generation and looking inside a model."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.table import Table

from lingxi.cli.common import (
    JsonOpt,
    MaxTokensOpt,
    ModelOpt,
    SeedOpt,
    StopOpt,
    TemperatureOpt,
    TopPOpt,
    out,
    print_json,
    read_text,
    sampling,
)
from lingxi.models.base import as_messages, collect
from lingxi.models.introspect import next_token_distribution
from lingxi.models.funnel import open_chat
from lingxi.types import Message


def complete(
    prompt: Annotated[str, typer.Argument(help="The prompt ('-' reads standard input).")],
    model: ModelOpt = None,
    system: Annotated[str | None, typer.Option("--system", "-s", help="A system message.")] = None,
    temperature: TemperatureOpt = 0.7,
    top_p: TopPOpt = 1.0,
    max_tokens: MaxTokensOpt = 256,
    stop: StopOpt = None,
    seed: SeedOpt = None,
    stream: Annotated[bool, typer.Option("--stream/--no-stream", help="Print tokens as they arrive.")] = True,
    as_json: JsonOpt = False,
) -> None:
    """Answer one prompt, streaming by default.

    --json prints {"model", "text", "finish_reason", "usage": {"prompt_tokens",
    "completion_tokens", "total_tokens"}, "latency_s", "ttft_s"}.
    """
    params = sampling(temperature, top_p, max_tokens, stop, seed)
    messages = ([Message(role="system", content=system)] if system else []) + as_messages(read_text(prompt))
    chat_model = open_chat(model)
    started = time.perf_counter()
    if as_json or not stream:
        result = chat_model.chat(messages, params) if not stream else collect(chat_model.stream(messages, params), chat_model.name, started)
    else:
        result = collect(_echo(chat_model.stream(messages, params)), chat_model.name, started)
        out.print()
    if as_json:
        print_json({
            "model": result.model, "text": result.text, "finish_reason": result.choices[0].finish_reason,
            "usage": {**result.usage.model_dump(), "total_tokens": result.usage.total_tokens},
            "latency_s": round(result.latency_s, 4), "ttft_s": None if result.ttft_s is None else round(result.ttft_s, 4),
        })
    elif not stream:
        out.print(result.text, markup=False)


def _echo(deltas):  # type: ignore[no-untyped-def]
    for d in deltas:
        if d.text:
            out.print(d.text, end="", markup=False)
            out.file.flush()
        yield d


def tokens(
    text: Annotated[str, typer.Argument(help="The text ('-' reads standard input).")],
    model: ModelOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show how the model sees a text: its tokens, their ids and the count.

    --json prints {"model", "count", "tokens": [{"id", "text"}]}.
    """
    chat_model = open_chat(model)
    toks = chat_model.tokenize(read_text(text))
    if as_json:
        print_json({"model": chat_model.name, "count": len(toks), "tokens": [t.model_dump() for t in toks]})
        return
    table = Table("#", "id", "token", title=f"{len(toks)} tokens ({chat_model.name})")
    for i, t in enumerate(toks):
        table.add_row(str(i), str(t.id), repr(t.text))
    out.print(table)


def next_token(
    text: Annotated[str, typer.Argument(help="The text to continue (raw, no chat template).")],
    model: ModelOpt = None,
    top: Annotated[int, typer.Option("--top", "-k", help="How many tokens to show.")] = 10,
    temperature: TemperatureOpt = 1.0,
    as_json: JsonOpt = False,
) -> None:
    """The next-token probability distribution after applying the temperature.

    --json prints {"model", "text", "temperature", "exact", "tokens": [{"token", "id", "prob", "logprob"}]}.
    """
    chat_model = open_chat(model)
    dist, exact = next_token_distribution(chat_model, read_text(text), top=top, temperature=temperature)
    if as_json:
        print_json({"model": chat_model.name, "text": text, "temperature": temperature, "exact": exact,
                    "tokens": [vars(t) for t in dist]})
        return
    note = "" if exact else " (renormalised over the endpoint's top 20)"
    table = Table("token", "prob", "", title=f"next token after {text!r} at T={temperature:g}{note}")
    for t in dist:
        table.add_row(repr(t.token), f"{t.prob:6.2%}", "█" * round(t.prob * 40))
    out.print(table)
