"""`lingxi chat`: an interactive, streaming, multi-turn conversation."""

from __future__ import annotations

from typing import Annotated

import typer

from lingxi.cli.common import MaxTokensOpt, ModelOpt, SeedOpt, StopOpt, TemperatureOpt, TopPOpt, err, out, sampling
from lingxi.config import load_settings
from lingxi.errors import LingxiError
from lingxi.models.base import ChatModel, collect
from lingxi.models.funnel import open_chat
from lingxi.types import Message, SamplingParams

HELP = """commands:
  /reset          forget the conversation (keeps the system message)
  /system TEXT    set a new system message and start over
  /history        show the conversation so far
  /exit           leave (or Ctrl-D)"""


def chat(
    model: ModelOpt = None,
    system: Annotated[str | None, typer.Option("--system", "-s", help="The system message.")] = None,
    temperature: TemperatureOpt = 0.7,
    top_p: TopPOpt = 1.0,
    max_tokens: MaxTokensOpt = 512,
    stop: StopOpt = None,
    seed: SeedOpt = None,
    kb: Annotated[str | None, typer.Option("--kb", help="Answer from this knowledge base, with verified citations.", show_default=False)] = None,
    session_name: Annotated[str | None, typer.Option("--session", help="With --kb: the conversation to keep or resume.", show_default=False)] = None,
    memory: Annotated[str | None, typer.Option("--memory", help="With --kb: buffer-window, summary, summary-buffer or entity.", show_default=False)] = None,
) -> None:
    """Talk with a model; type /help for commands. With --kb, every answer is grounded in a knowledge base."""
    if kb:
        from lingxi.cli.ask import chat_with_kb

        _enable_history()
        return chat_with_kb(kb, model, session_name, memory, "auto")
    params = sampling(temperature, top_p, max_tokens, stop, seed)
    chat_model = open_chat(model)
    _enable_history()
    session = Session(chat_model, params, system)
    err.print(f"lingxi chat with {chat_model.name}; /help for commands, Ctrl-D to leave.")
    while True:
        try:
            line = input("you> ")
        except (EOFError, KeyboardInterrupt):
            err.print()
            return
        if not session.handle(line):
            return


class Session:
    """The conversation state and the slash commands; kept apart from input() so it can be tested."""

    def __init__(self, model: ChatModel, params: SamplingParams, system: str | None) -> None:
        self.model, self.params, self.system = model, params, system
        self.history: list[Message] = []

    def messages(self) -> list[Message]:
        return ([Message(role="system", content=self.system)] if self.system else []) + self.history

    def handle(self, line: str) -> bool:
        """Act on one input line; False means leave."""
        text = line.strip()
        if not text:
            return True
        if text.startswith("/"):
            return self._command(text)
        self.history.append(Message(role="user", content=text))
        try:
            reply = collect(self._echo(), self.model.name)
        except LingxiError as exc:
            self.history.pop()
            err.print(f"error: {exc.message}" + (f"\nhint: {exc.hint}" if exc.hint else ""), markup=False)
            return True
        self.history.append(Message(role="assistant", content=reply.text))
        return True

    def _echo(self):  # type: ignore[no-untyped-def]
        out.print("ai> ", end="")
        for d in self.model.stream(self.messages(), self.params):
            if d.text:
                out.print(d.text, end="", markup=False)
                out.file.flush()
            yield d
        out.print()

    def _command(self, text: str) -> bool:
        name, _, arg = text.partition(" ")
        if name in ("/exit", "/quit"):
            return False
        if name == "/reset":
            self.history.clear()
            err.print("(conversation cleared)")
        elif name == "/system":
            self.system, self.history = arg.strip() or None, []
            err.print(f"(system message {'set' if self.system else 'removed'}; conversation cleared)")
        elif name == "/history":
            for m in self.messages():
                out.print(f"[{m.role}] {m.content}", markup=False)
        else:
            err.print(HELP, markup=False)
        return True


def _enable_history() -> None:
    try:
        import readline
    except ImportError:  # Windows without pyreadline: plain input still works
        return
    path = load_settings().home_dir / "chat_history"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            readline.read_history_file(path)
        import atexit

        atexit.register(readline.write_history_file, path)
    except OSError:
        pass
