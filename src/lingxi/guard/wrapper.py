"""`Guarded`: the outermost wrapper of the model funnel (guard -> trace -> provider).

Before a call, the newest user message is screened at the ``input`` stage (the fenced passages
and tool results inside it at the ``retrieval`` / ``tool`` stage: a blocked one is taken out of
the prompt), and trailing tool messages at the ``tool`` stage; a blocked input raises `Blocked`
(a GuardrailError; HTTP 400 on the server). After it, the answer is screened at the ``output``
stage: a blocked answer is replaced by a refusal with finish_reason ``content_filter``. Streams
are screened as they go, never held whole: with ``stream_check = "token"`` (the default) each piece
is sent once the sentence so far passes the cheap checks, and each finished sentence is checked in
full (a block ends the stream with content_filter); with ``"sentence"`` each sentence (or 40
characters of it) is held until it passes in full, so nothing unchecked is ever sent. With ``pii_mode = "vault"`` personal data in the
input becomes placeholders that are put back in the answer.

The profile comes from the request context (`funnel.calling(guard=...)`: a server key's) or the
settings; profile "off" (or one with no checks) costs one dictionary look-up per call.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from lingxi.config import Settings
from lingxi.guard.fence import segments
from lingxi.guard.pii import Vault
from lingxi.guard.policy import Profile
from lingxi.guard.screen import Blocked, profile_for, screen
from lingxi.models.base import as_messages
from lingxi.types import Completion, Delta, Message

REFUSAL = {"en": "I can't help with that.", "zh": "抱歉，这个问题我不能回答。"}
_END = re.compile(r"[。！？!?；;\n]|\.(?=\s)|\.$")
_HAN = re.compile(r"[\u4e00-\u9fff]")
MAX_HELD = 40  # characters held at most: a longer run is checked (with its sentence so far) and sent in parts


def refusal(text: str) -> str:
    return REFUSAL["zh" if _HAN.search(text) else "en"]


class Guarded:
    """A chat model whose calls are screened by the guard policy; everything else passes through."""

    def __init__(self, model: Any, settings: Settings) -> None:
        self.wrapped = model
        self._settings = settings
        cheap = settings.guard.model_copy(update={"deep": "lexicon"})
        self._cheap = settings.model_copy(update={"guard": cheap})  # the per-token checks of a stream

    def __getattr__(self, attr: str) -> Any:
        return getattr(self.wrapped, attr)

    def __repr__(self) -> str:
        return f"guarded({self.wrapped!r})"

    @property
    def name(self) -> str:
        return self.wrapped.name

    def count_tokens(self, text: str) -> int:
        return self.wrapped.count_tokens(text)

    def tokenize(self, text: str) -> Any:
        return self.wrapped.tokenize(text)

    def profile(self) -> Profile | None:
        p = profile_for(self._settings)
        return p if p.active else None

    # -- calls ----------------------------------------------------------------------------
    def chat(self, messages: Any, params: Any = None, tools: list[dict] | None = None) -> Completion:
        prof = self.profile()
        if prof is None:
            return self.wrapped.chat(messages, params, tools)
        vault = Vault()
        comp = self.wrapped.chat(self._screen_input(messages, prof, vault), params, tools)
        return self._screen_completion(comp, prof, vault)

    def stream(self, messages: Any, params: Any = None, tools: list[dict] | None = None) -> Iterator[Delta]:
        prof = self.profile()
        if prof is None:
            return self.wrapped.stream(messages, params, tools)
        vault = Vault()
        deltas = self.wrapped.stream(self._screen_input(messages, prof, vault), params, tools)
        return self._follow(deltas, prof, vault)

    # -- input ----------------------------------------------------------------------------
    def _screen_input(self, messages: Any, prof: Profile, vault: Vault) -> list[Message]:
        msgs = as_messages(messages)
        last_assistant = max((i for i, m in enumerate(msgs) if m.role == "assistant"), default=-1)
        out = list(msgs)
        for i, m in enumerate(msgs):
            if i <= last_assistant or not m.content:
                continue
            if m.role == "tool":
                s = screen(m.content, "tool", self._settings, prof, vault)
                out[i] = m.model_copy(update={"content": _withheld(s.blocked.reason) if s.blocked else s.text})
            elif m.role == "user" and i == len(msgs) - 1:
                out[i] = m.model_copy(update={"content": self._screen_user(m.content, prof, vault)})
        return out

    def _screen_user(self, text: str, prof: Profile, vault: Vault) -> str:
        parts = []
        for role, content, head, tail in segments(text):
            s = screen(content, role or "input", self._settings, prof, vault)  # type: ignore[arg-type]
            if s.blocked is not None:
                if role is None:
                    raise Blocked(s.blocked)
                parts.append(head + _withheld(s.blocked.reason) + tail if role == "tool" else "")
                continue
            parts.append(head + s.text + tail)
        return "".join(parts)

    # -- output ---------------------------------------------------------------------------
    def _screen_completion(self, comp: Completion, prof: Profile, vault: Vault) -> Completion:
        if not prof.output and not vault.mapping:
            return comp
        choices = []
        for c in comp.choices:
            text = c.message.content or ""
            s = screen(text, "output", self._settings, prof)
            if s.blocked is not None:
                msg = c.message.model_copy(update={"content": refusal(text), "tool_calls": None})
                choices.append(c.model_copy(update={"message": msg, "finish_reason": "content_filter", "logprobs": None}))
            else:
                msg = c.message.model_copy(update={"content": vault.restore(s.text) if text else c.message.content})
                choices.append(c.model_copy(update={"message": msg}))
        return comp.model_copy(update={"choices": choices})

    def _follow(self, deltas: Iterator[Delta], prof: Profile, vault: Vault) -> Iterator[Delta]:
        if not prof.output and not vault.mapping:
            yield from deltas
            return
        held: dict[int, _Held] = {}
        it = iter(deltas)
        try:
            for d in it:
                h = held.setdefault(d.index, _Held())
                if h.stopped:
                    if d.usage is not None:
                        yield Delta(index=d.index, usage=d.usage)
                    continue
                h.text += d.text
                sent = False
                for piece, whole in h.ready(d.finish_reason is not None, self._settings.guard.stream_check):
                    out = self._piece(h.sentence + piece, piece, prof, vault, whole)
                    if out is None:
                        h.stopped = True
                        yield Delta(index=d.index, finish_reason="content_filter", usage=d.usage)
                        break
                    h.advance(piece)
                    sent = True
                    yield Delta(index=d.index, text=out)
                if h.stopped:
                    continue
                if d.finish_reason or d.tool_calls or d.usage or d.logprobs:
                    yield d.model_copy(update={"text": ""})
                elif not sent:
                    yield Delta(index=d.index)  # nothing to show yet; lets a consumer that stops notice at once
        finally:
            close = getattr(it, "close", None)
            if close is not None:
                close()

    def _piece(self, sentence: str, piece: str, prof: Profile, vault: Vault, whole: bool = True) -> str | None:
        """`piece` (the end of `sentence`) to send, redacted and with placeholders restored, or None
        when the output stage blocks the sentence so far (checked fully when it is `whole`)."""
        if not piece.strip() and not whole:
            return piece
        s = screen(sentence, "output", self._settings if whole else self._cheap, prof)
        if s.blocked is not None:
            return None
        if s.text != sentence:  # redacted: send the redacted piece (the piece checked on its own)
            piece = screen(piece, "output", self._settings, prof).text
        return vault.restore(piece)


class GuardedText(Guarded):
    """A guarded model that also completes raw text (`TextModel`): the prompt is input, the text output."""

    def complete(self, prompt: str, params: Any = None) -> Completion:
        prof = self.profile()
        if prof is None:
            return self.wrapped.complete(prompt, params)
        vault = Vault()
        s = screen(prompt, "input", self._settings, prof, vault)
        if s.blocked is not None:
            raise Blocked(s.blocked)
        return self._screen_completion(self.wrapped.complete(s.text, params), prof, vault)

    def stream_complete(self, prompt: str, params: Any = None) -> Iterator[Delta]:
        prof = self.profile()
        if prof is None:
            return self.wrapped.stream_complete(prompt, params)
        vault = Vault()
        s = screen(prompt, "input", self._settings, prof, vault)
        if s.blocked is not None:
            raise Blocked(s.blocked)
        return self._follow(self.wrapped.stream_complete(s.text, params), prof, vault)


def _withheld(reason: str) -> str:
    return f"[withheld by the guard: {reason}]"


class _Held:
    """One choice's stream: the text not sent yet, and the part of the current sentence already sent
    (each piece is checked together with the start of its sentence, so context is never lost)."""

    def __init__(self) -> None:
        self.text = ""
        self.sentence = ""
        self.stopped = False

    def ready(self, final: bool, mode: str = "sentence") -> Iterator[tuple[str, bool]]:
        """(piece, ends its sentence) that may be checked now. "sentence": whole sentences, a long
        run's first MAX_HELD characters, and at the end of the stream whatever is left; "token":
        everything that arrived (a sentence end splits it)."""
        if mode == "token":
            while self.text:
                m = _END.search(self.text)
                cut = m.end() if m else len(self.text)
                piece, self.text = self.text[:cut], self.text[cut:]
                yield piece, bool(m) or final
            return
        while self.text:
            m = _END.search(self.text)
            if m and m.end() <= MAX_HELD:
                cut = m.end()
            elif len(self.text) > MAX_HELD:
                cut = max(self.text.rfind(c, 0, MAX_HELD) for c in " ，,、：:") + 1 or MAX_HELD
            elif final:
                cut = len(self.text)
            else:
                return
            piece, self.text = self.text[:cut], self.text[cut:]
            yield piece, bool(_END.search(piece)) or final

    def advance(self, piece: str) -> None:
        self.sentence = "" if _END.search(piece) else self.sentence + piece


def guarded(model: Any, settings: Settings) -> Any:
    from lingxi.models.base import TextModel

    if isinstance(model, Guarded):
        return model
    return (GuardedText if isinstance(model, TextModel) else Guarded)(model, settings)
