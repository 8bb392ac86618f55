"""`lingxi ask`, `lingxi demo` and the knowledge-base side of `lingxi chat --kb`.

    lingxi ask "灵犀如何验证引用？" --kb docs [--mode auto|generate|extractive] [--session NAME] [--json]
    lingxi demo                        # ingest samples/docs and answer one question, on the embedded defaults
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer

from lingxi.cli.common import JsonOpt, ModelOpt, err, out, print_json
from lingxi.models.packs import WEAK_AT_CHINESE

KbOpt = Annotated[str, typer.Option("--kb", help="Knowledge base to answer from (see: lingxi kb ls).")]
ModeOpt = Annotated[str | None, typer.Option(
    "--mode", help="auto (generate, fall back to extractive), generate or extractive (default: the measured best for the "
    "model: extractive for the tiny default smollm2, auto otherwise).", show_default=False)]
SessionOpt = Annotated[str | None, typer.Option(
    "--session", help="Keep a conversation under this name (follow-ups are rewritten).", show_default=False)]
MemoryOpt = Annotated[str | None, typer.Option(
    "--memory", help="Session memory: buffer-window, summary, summary-buffer or entity.", show_default=False)]
KOpt = Annotated[int, typer.Option("--k", "-k", help="Passages to retrieve.")]
MarkOpt = Annotated[bool, typer.Option(
    "--mark-unsupported", help="Keep unsupported sentences, flagged [?], instead of dropping them.")]
DEMO_QUESTION = "How does lingxi check the citations in an answer?"
DEMO_QUESTION_ZH = "灵犀如何检查回答中的引用？"
TINY_MODELS = WEAK_AT_CHINESE  # the embedded default: measured weak at Chinese (bench/results/default_model.md)
CHINESE_HINT = ("提示：默认的小模型 SmolLM2-135M 写不出像样的中文回答；Qwen2.5-1.5B 可以："
                "lingxi models pull qwen2.5-1.5b，然后加 --model qwen2.5-1.5b")


def ask_command(
    question: Annotated[str, typer.Argument(help="The question (Chinese or English).")],
    kb: KbOpt,
    mode: ModeOpt = None,
    session: SessionOpt = None,
    memory: MemoryOpt = None,
    model: ModelOpt = None,
    k: KOpt = 4,
    max_tokens: Annotated[int, typer.Option("--max-tokens", help="Longest answer, in tokens.")] = 256,
    mark_unsupported: MarkOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Answer from a knowledge base with verified citations, or say "I don't know"."""
    answer, streamed = run_ask(question, kb, mode, session, memory, model, k, max_tokens, mark_unsupported, stream=not as_json)
    if as_json:
        print_json(answer.model_dump(mode="json"))
    else:
        show(answer, streamed)
        chinese_hint(question, model, mode)


# `ask --mode` when none is given, per model alias: measured on the shared RAG sets (bench/results/trust_ask.md,
# rag.md): with SmolLM2-135M extractive matched or beat auto on F1 and beat it on citation precision at a
# fraction of the time; with Qwen2.5-1.5B auto wins on Chinese (bench/results/defaults.md).
EXTRACTIVE_BY_DEFAULT = ("smollm2",)


def default_mode(model: str | None) -> str:
    """The measured best `--mode` for `model` (an alias, or None for the configured default model)."""
    from lingxi.config import load_settings

    alias = model or load_settings().default_model
    return "extractive" if alias in EXTRACTIVE_BY_DEFAULT else "auto"


def chinese_hint(question: str, model: str | None, mode: str | None) -> None:
    """One line on standard error for a Chinese question answered by the tiny default model."""
    if hint_for(question, model, mode):
        err.print(CHINESE_HINT, markup=False, style="yellow")


def hint_for(question: str, model: str | None, mode: str | None) -> bool:
    """A Chinese question on the tiny default model, unless the user chose extractive (None: the default mode)."""
    from lingxi.config import load_settings
    from lingxi.rag import lang as L

    if mode == "extractive" or L.detect(question) != "zh":
        return False
    alias = model or load_settings().default_model
    return alias in TINY_MODELS


def run_ask(question: str, kb: Any, mode: str | None, session: str | None, memory: str | None, model: str | None, k: int,
            max_tokens: int, mark_unsupported: bool, stream: bool) -> tuple[Any, str]:  # fmt: skip
    """The answer, and the verified sentences that were streamed while it was made."""
    from lingxi.rag import ask
    from lingxi.rag.pipeline import Options

    options = Options(k=k, max_tokens=max_tokens, unsupported="mark" if mark_unsupported else "drop")
    mode = mode or default_mode(model)
    streamed: list[str] = []

    def on_sentence(text: str) -> None:  # only verified sentences are streamed: nothing shown is taken back
        streamed.append(text)
        out.print(text, end="", markup=False, style="bold")
        out.file.flush()

    answer = ask(question, kb=kb, model=model, session=session, mode=mode,  # type: ignore[arg-type]
                 memory=memory, options=options, on_sentence=on_sentence if stream else None)  # fmt: skip
    if streamed:
        out.print()
    return answer, "".join(streamed)


def show(answer: Any, streamed: str = "") -> None:
    """The verified answer, what verification did, then the numbered sources."""
    from lingxi.rag import lang as L

    verdicts = answer.sentences
    kept = sum(v.verdict == "supported" for v in verdicts)
    if answer.abstained:
        status = f"abstained: {answer.reason}"
    elif answer.mode == "extractive":
        status = f"extractive: {answer.reason}"
    else:
        status = f"{kept} of {len(verdicts)} sentences verified" + (f"; {answer.reason}" if answer.reason else "")
    if answer.query != answer.question:
        err.print(f"(searched for: {answer.query})", markup=False, style="dim")
    if " ".join(streamed.split()) != " ".join(answer.text.split()):
        out.print(answer.text, markup=False, style="bold")  # the final answer differs from what streamed
    err.print(f"({status}; {answer.timings.total:.1f} s)", markup=False, style="dim")
    if answer.abstained:
        if answer.sources:
            out.print(L.CLOSEST[answer.lang], markup=False)
            for s in answer.sources:
                _source_line(s.n, s, " ".join(s.text.split())[:200])
        return
    if answer.citations:
        out.print(L.SOURCES[answer.lang], markup=False)
        by_n = {s.n: s for s in answer.sources}
        for c in answer.citations:
            _source_line(c.n, by_n[c.n], c.quote)


def _source_line(n: int, s: Any, quote: str) -> None:
    where = _short(s.source) + (f" p.{s.page}" if s.page else "") + (" › " + " › ".join(s.headings) if s.headings else "")
    if getattr(s, "start_s", None) is not None:
        from lingxi.voice.formats import span

        where += f" @ {span(s.start_s, s.end_s)}"
    out.print(f"[{n}] {where}", markup=False)
    out.print(f"    “{quote}”", markup=False)


def _short(path: str) -> str:
    try:
        return str(Path(path).relative_to(Path.cwd()))
    except ValueError:
        return path


# -- lingxi demo ----------------------------------------------------------------------------

def sample_docs() -> Path:
    """The sample corpus shipped with lingxi (samples/docs at the root of the source tree)."""
    import lingxi

    for root in (Path(lingxi.__file__).resolve().parents[2], Path.cwd()):
        if (root / "samples" / "docs").is_dir():
            return root / "samples" / "docs"
    from lingxi.errors import ConfigError

    raise ConfigError("The sample corpus samples/docs was not found.", "run from a clone of lingxi, or pass --docs PATH")


def demo_command(
    question: Annotated[str | None, typer.Option(
        "--question", "-q", help="What to ask the sample corpus (default: a question in your locale's language).",
        show_default=False)] = None,
    docs: Annotated[Path | None, typer.Option(
        "--docs", help="Folder to ingest (default: the shipped samples/docs).", show_default=False)] = None,
    kb: Annotated[str, typer.Option("--kb", help="Knowledge base to (re)build.")] = "lingxi-demo",
    mode: ModeOpt = None,
    model: ModelOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Ingest the sample corpus and answer one question with verified citations (embedded defaults)."""
    from lingxi.knowledge.kb import KnowledgeBase

    question = question or demo_question()
    # the demo shows the whole pipeline (a generated draft checked sentence by sentence, extraction as the
    # fallback); `lingxi ask` without --mode takes the measured best per model (extractive on smollm2)
    mode = mode or "auto"
    folder = docs or sample_docs()
    started = time.perf_counter()
    base = KnowledgeBase.create(kb, exist_ok=True)
    report = base.ingest(folder)
    if not as_json:
        err.print(f"knowledge base '{kb}': {len(report.added)} files added, {len(report.changed)} changed, "
                  f"{report.unchanged} unchanged from {folder} ({time.perf_counter() - started:.1f} s)", markup=False)  # fmt: skip
        err.print(f"question: {question}", markup=False)
    answer, streamed = run_ask(question, base, mode, None, None, model, 4, 256, False, stream=not as_json)
    if as_json:
        print_json({"kb": kb, "docs": str(folder), "ingest": report.as_dict(), "answer": answer.model_dump(mode="json")})
        return
    show(answer, streamed)
    chinese_hint(question, model, mode)
    if answer.abstained:
        raise typer.Exit(1)


def demo_question() -> str:
    """The demo's question, in Chinese when the locale is Chinese (LC_ALL, LC_MESSAGES or LANG)."""
    import os

    loc = os.environ.get("LC_ALL") or os.environ.get("LC_MESSAGES") or os.environ.get("LANG") or ""
    return DEMO_QUESTION_ZH if loc.lower().startswith("zh") else DEMO_QUESTION


# -- lingxi chat --kb ---------------------------------------------------------------------------

def chat_with_kb(kb: str, model: str | None, session: str | None, memory: str | None, mode: str) -> None:
    """The interactive loop behind `lingxi chat --kb NAME`: every line is asked in one session."""
    from lingxi.rag.api import open_kb

    from lingxi.errors import ConfigError
    from lingxi.memory.strategies import STRATEGIES

    if memory is not None and memory not in STRATEGIES:  # before the first question, which would be lost
        raise ConfigError(f"Unknown memory strategy '{memory}'.", f"use one of: {', '.join(STRATEGIES)}")
    base = open_kb(kb)
    name = session or time.strftime("chat-%Y%m%d-%H%M%S")
    err.print(f"lingxi chat over '{kb}' (session {name}); answers cite the knowledge base. /exit or Ctrl-D to leave.",
              markup=False)  # fmt: skip
    while True:
        try:
            line = input("you> ").strip()
        except (EOFError, KeyboardInterrupt):
            err.print()
            return
        if line in ("/exit", "/quit"):
            return
        if not line:
            continue
        from lingxi.errors import LingxiError

        try:
            show(*run_ask(line, base, mode, name, memory, model, 4, 256, False, stream=True))
            memory = None  # the strategy is fixed once the session exists
        except LingxiError as exc:
            err.print(f"error: {exc.message}" + (f"\nhint: {exc.hint}" if exc.hint else ""), markup=False)
