"""The `lingxi` command. Each command group lives in its own module."""

from __future__ import annotations

import functools
import os
import sys
import traceback
from pathlib import Path
from typing import Annotated, Any

import typer
import typer.main
from typer._click import exceptions as click_errors

from lingxi.cli import agent, ask, doctor, edu, evals, generate, guard, kb, models, nlp, serve, tune, verify, voice
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
    import dataclasses

    from lingxi.models.funnel import call_context

    from lingxi.config import DEFAULT_HOME
    from lingxi.home import ensure_home

    ensure_home(Path(os.environ.get("LINGXI_HOME") or DEFAULT_HOME))  # private before anything is written there
    token = call_context.set(dataclasses.replace(call_context.get(), source="cli"))  # traced as the CLI's calls
    ctx.call_on_close(lambda: call_context.reset(token))


app.command("chat")(chat_cmd.chat)
app.command("complete")(generate.complete)
app.command("tokens")(generate.tokens)
app.command("next")(generate.next_token)
app.add_typer(models.app, name="models")


for _group, _name in ((kb.app, "kb"), (serve.keys_app, "keys"), (serve.traces_app, "traces"),
                      (nlp.classify_app, "classify"), (evals.app, "eval"), (guard.app, "guard"),
                      (edu.app, "edu"), (tune.app, "tune"), (tune.adapters_app, "adapters")):
    app.add_typer(_group, name=_name)
for _command, _name in ((serve.serve_command, "serve"), (ask.ask_command, "ask"), (ask.demo_command, "demo"),
                        (agent.agent_command, "agent"), (nlp.cluster, "cluster"), (nlp.compare, "compare"),
                        (doctor.doctor, "doctor"), (verify.verify_command, "verify"),
                        (voice.transcribe, "transcribe"), (voice.speak, "speak"), (voice.summarize, "summarize")):
    app.command(_name)(_command)


@functools.cache
def command() -> Any:
    """The click command behind `app`, with help that shows no type placeholder for flags
    (typer prints `<bool>` beside every flag, as if it took a value) and ARGUMENT names in capitals."""
    cmd = typer.main.get_command(app)
    _tidy(cmd)
    return cmd


def _tidy(cmd: Any) -> None:
    for param in cmd.params:
        if getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""
        elif param.param_type_name == "argument" and param.metavar is None:
            param.metavar = param.name.upper()
    for sub in getattr(cmd, "commands", {}).values():
        _tidy(sub)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; errors become one sentence and a hint (tracebacks with --debug or LINGXI_DEBUG=1)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if "--debug" in args:  # accepted anywhere on the line, not only before the command
        args = [a for a in args if a != "--debug"]
        os.environ["LINGXI_DEBUG"] = "1"
    debug = os.environ.get("LINGXI_DEBUG") == "1"
    try:
        rv = command().main(args=args, prog_name="lingxi", standalone_mode=False)
        return rv if isinstance(rv, int) else 0  # typer returns the code of a typer.Exit
    except LingxiError as exc:
        if debug:
            traceback.print_exc()
        err.print(f"error: {exc.message}", markup=False)
        if exc.hint:
            err.print(f"hint: {exc.hint}", markup=False)
        return exc.exit_code
    except click_errors.NoArgsIsHelpError as exc:
        sys.stdout.write(exc.ctx.get_help() + "\n")
        return 0
    except click_errors.ClickException as exc:  # usage errors: unknown option or command, bad value, missing argument
        err.print(f"error: {exc.format_message()}", markup=False)
        ctx = getattr(exc, "ctx", None)
        err.print(f"hint: see '{ctx.command_path if ctx else 'lingxi'} --help'", markup=False)
        return exc.exit_code
    except typer.Abort:
        err.print("aborted: nothing was changed")
        return 1
    except KeyboardInterrupt:
        err.print("interrupted")
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug: still one sentence, the traceback on request
        if debug:
            traceback.print_exc()
        err.print(f"error: lingxi failed unexpectedly: {type(exc).__name__}: {exc}", markup=False)
        err.print("hint: rerun with --debug to see the traceback, and please report it", markup=False)
        return 1


if __name__ == "__main__":
    sys.exit(main())
