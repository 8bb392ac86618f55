"""The `lingxi` command. Each command group lives in its own module."""

from __future__ import annotations

import os
import sys
import traceback
from typing import Annotated

import click
import typer

from lingxi.cli import agent, ask, evals, generate, kb, models, nlp, serve
from lingxi.cli import chat as chat_cmd
from lingxi.cli.common import err
from lingxi.errors import LingxiError

app = typer.Typer(
    name="lingxi",
    help="灵犀 lingxi: local-first generative AI — chat, complete, inspect and serve models.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def root(ctx: typer.Context,
         debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False) -> None:
    if debug:
        os.environ["LINGXI_DEBUG"] = "1"
    from lingxi.tracing import source

    token = source.set("cli")  # model calls made by this command are traced as the CLI's
    ctx.call_on_close(lambda: source.reset(token))


app.command("chat")(chat_cmd.chat)
app.command("complete")(generate.complete)
app.command("tokens")(generate.tokens)
app.command("next")(generate.next_token)
app.add_typer(models.app, name="models")


for _group, _name in ((kb.app, "kb"), (serve.keys_app, "keys"), (serve.traces_app, "traces"),
                      (nlp.classify_app, "classify"), (evals.app, "eval")):
    app.add_typer(_group, name=_name)
for _command, _name in ((serve.serve_command, "serve"), (ask.ask_command, "ask"), (ask.demo_command, "demo"),
                        (agent.agent_command, "agent"), (nlp.cluster, "cluster"), (nlp.compare, "compare")):
    app.command(_name)(_command)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; errors become one sentence and a hint (tracebacks with --debug or LINGXI_DEBUG=1)."""
    debug = "--debug" in (argv or sys.argv) or os.environ.get("LINGXI_DEBUG") == "1"
    try:
        app(args=argv, standalone_mode=False)
    except LingxiError as exc:
        if debug:
            traceback.print_exc()
        err.print(f"error: {exc.message}", markup=False)
        if exc.hint:
            err.print(f"hint: {exc.hint}", markup=False)
        return exc.exit_code
    except click.exceptions.Abort:
        err.print("aborted")
        return 130
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except KeyboardInterrupt:
        err.print("interrupted")
        return 130
    except BrokenPipeError:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
