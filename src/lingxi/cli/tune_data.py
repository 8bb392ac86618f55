"""`lingxi tune data from-feedback`: the ratings saved by the server, as SFT / DPO / KTO data."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from lingxi.cli.common import JsonOpt, err, print_json
from lingxi.config import load_settings

data_app = typer.Typer(help="Make training data (from the feedback the server saved).", no_args_is_help=True)


@data_app.command("from-feedback")
def from_feedback_command(
    fmt: Annotated[str, typer.Option("--format", "-f", help="sft (ups and corrections), dpo (up/down pairs of the "
                                     "same messages) or kto (every rating, labelled).")] = "sft",
    since: Annotated[str | None, typer.Option("--since", help="From this date or time (2026-12-01, "
                                              "2026-12-01T08:00, or 7d / 12h / 2w ago).", show_default=False)] = None,
    until: Annotated[str | None, typer.Option("--until", help="Before this date or time.", show_default=False)] = None,
    model: Annotated[str | None, typer.Option("--model", "-m", help="Only feedback on answers of this model.",
                                              show_default=False)] = None,
    output: Annotated[str | None, typer.Option("--output", "-o", help="Write the JSON Lines here (default: stdout).",
                                               show_default=False)] = None,
    no_redact: Annotated[bool, typer.Option("--no-redact", help="Keep personal data (names, phones, IDs...) "
                                            "as saved instead of redacting it.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Turn the thumbs up/down and corrected answers ('correction: ...' comments) into training data."""
    from lingxi.tune.feedback import from_feedback, parse_when, write_jsonl

    records, info = from_feedback(load_settings(), fmt.lower(), parse_when(since), parse_when(until), model,
                                  redact=not no_redact)
    summary = {"format": info.format, "feedback_rows": info.rows, "records": info.records, "prompts": info.prompts,
               "skipped": info.skipped, "redacted": info.redacted, "output": output}
    if output:
        write_jsonl(records, output)
    else:
        sys.stdout.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    if as_json and output:
        print_json(summary)
        return
    left = "; ".join(f"{n} {why}" for why, n in info.skipped.items())
    err.print(f"{info.records} {info.format} records from {info.rows} feedback rows ({info.prompts} distinct "
              f"prompts{', personal data redacted' if info.redacted else ', NOT redacted'})"
              + (f"; left out: {left}" if left else "") + (f"; wrote {output}" if output else ""))
    if output:
        err.print(f"train on it: lingxi tune {info.format} --model smollm2 --data {output} --out NAME")
