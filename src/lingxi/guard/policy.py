"""The guard policy in settings: which checks run at each stage, and what happens when one flags.

    [guard]
    profile = "default"                 # the profile every call uses (a server key may name another)
    judge_model = "qwen2.5-1.5b"        # optional: the model behind the "judge" check

    [guard.profiles.school]             # your own profile (or redefine a built-in one)
    input = {moderation = "block", injection = "block", pii = "redact"}
    retrieval = {injection = "block"}
    tool = {injection = "block"}
    output = {moderation = "block", pii = "redact"}
    pii_mode = "vault"                  # mask, redact or vault (placeholders restored in the answer)

    [guard.keys]                        # server API key name -> profile
    ci-bot = "off"

Stages: ``input`` (the user's newest message), ``retrieval`` (each chunk before it reaches a
prompt), ``tool`` (each tool result), ``output`` (the model's answer, sentence by sentence when
streamed). Actions: ``block`` (input: refuse with GuardrailError / HTTP 400; retrieval: drop the
chunk; tool: withhold the result; output: stop with finish_reason "content_filter"), ``redact``
(hide the flagged spans: personal data per ``pii_mode``), ``flag`` (let it through, marked: a
flagged chunk or tool result is shown to the model with a warning).
Built-in profiles: off, monitor (flag everything), default, strict.
"""

from __future__ import annotations

import difflib
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from lingxi.errors import ConfigError
from lingxi.guard.base import Action, Role

PiiMode = Literal["mask", "redact", "vault"]
Deep = Literal["auto", "always", "never", "lexicon"]


class Profile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    input: dict[str, Action] = Field(default_factory=dict)
    retrieval: dict[str, Action] = Field(default_factory=dict)
    tool: dict[str, Action] = Field(default_factory=dict)
    output: dict[str, Action] = Field(default_factory=dict)
    pii_mode: PiiMode = "mask"
    redact_logs: bool = True  # personal data hidden before traces and feedback are written

    def stage(self, role: Role) -> dict[str, Action]:
        return getattr(self, role)

    @property
    def active(self) -> bool:
        return any((self.input, self.retrieval, self.tool, self.output))


_ALL = ("moderation", "injection", "pii")
BUILTIN: dict[str, Profile] = {
    "off": Profile(redact_logs=False),
    "monitor": Profile(input={c: "flag" for c in _ALL}, retrieval={"injection": "flag"}, tool={"injection": "flag"},
                       output={"moderation": "flag", "pii": "flag"}),
    "default": Profile(input={"moderation": "block", "injection": "block"}, retrieval={"injection": "block"},
                       tool={"injection": "block"}, output={"moderation": "block"}),
    "strict": Profile(input={"moderation": "block", "injection": "block", "pii": "redact"},
                      retrieval={"injection": "block", "moderation": "flag"}, tool={"injection": "block", "pii": "redact"},
                      output={"moderation": "block", "pii": "redact"}, pii_mode="redact"),
}


class GuardSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    profile: str = "default"
    profiles: dict[str, Profile] = Field(default_factory=dict)
    keys: dict[str, str] = Field(default_factory=dict)  # server API key name -> profile name
    judge_model: str | None = None
    deep: Deep = "auto"  # when the e5 heads read a text: auto (when the cheap checks are unsure), always, never
    # streams: "token" sends each piece once the sentence so far passes the cheap checks (lexicon, character
    # model) and checks each finished sentence fully; "sentence" holds every sentence until it passes in full
    stream_check: Literal["token", "sentence"] = "token"

    def names(self) -> list[str]:
        return sorted({*BUILTIN, *self.profiles})

    def resolve(self, name: str | None = None) -> Profile:
        """The profile called `name` (default: the configured one)."""
        name = name or self.profile
        found = self.profiles.get(name) or BUILTIN.get(name)
        if found is None:
            close = difflib.get_close_matches(name, self.names(), n=1)
            raise ConfigError(f"There is no guard profile named '{name}'.",
                              f"did you mean '{close[0]}'?" if close else f"known profiles: {', '.join(self.names())}")
        return found

    def for_key(self, key_name: str | None) -> str | None:
        """The profile a server key is bound to (None: the server's own)."""
        return self.keys.get(key_name) if key_name else None
