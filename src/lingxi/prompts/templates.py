"""Prompt templates: role-tagged Jinja2 messages, variables, few-shot blocks, versioned files.

    t = PromptTemplate(
        messages=[("system", "你是情感分析助手。"), "examples", ("user", "{{ text }}")],
        few_shot=("{{ input }}", "{{ output }}"),
        examples=[{"input": "太好吃了", "output": "好评"}],
    )
    t.render(text="送餐太慢")          # -> list[Message]

The string ``"examples"`` in `messages` marks where the few-shot examples go, as
alternating user/assistant turns. Every template also sees ``examples`` as a
variable, for inline few-shot text. Templates run in Jinja2's sandboxed
environment with undefined variables as errors, so a template file from
somebody else cannot reach Python internals and a typo cannot render silently.

Files (YAML or JSON) carry a name and a version so prompts are kept and
compared like code::

    name: sentiment
    version: 2
    messages:
      - system: 你是情感分析助手。
      - examples
      - user: "{{ text }}"
    few_shot: {user: "{{ input }}", assistant: "{{ output }}"}
    examples: [{input: 太好吃了, output: 好评}]
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from lingxi.errors import ConfigError
from lingxi.types import Message

EXAMPLES = "examples"
ROLES = ("system", "user", "assistant")


@lru_cache(maxsize=1)
def _env() -> Any:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment(undefined=StrictUndefined, keep_trailing_newline=False, autoescape=False)


@lru_cache(maxsize=512)
def _compile(source: str) -> Any:
    from jinja2 import TemplateSyntaxError

    try:
        return _env().from_string(source)
    except TemplateSyntaxError as exc:
        raise ConfigError(f"The prompt template has a syntax error on line {exc.lineno}: {exc.message}.",
                          "check the {{ }} and {% %} pairs in the template") from exc


def render_string(source: str, variables: Mapping[str, Any]) -> str:
    """Render one Jinja2 string in the sandbox; a missing variable is a ConfigError."""
    from jinja2 import UndefinedError
    from jinja2.sandbox import SecurityError

    try:
        return _compile(source).render(**variables)
    except UndefinedError as exc:
        raise ConfigError(f"The prompt template needs a variable that was not given: {exc.message}.",
                          f"pass it to render(), e.g. render({_first_word(exc.message)}=...)") from exc
    except SecurityError as exc:
        raise ConfigError(f"The prompt template tried something the sandbox forbids: {exc}.",
                          "templates may only read the variables they are given") from exc


def _first_word(message: str | None) -> str:
    return (message or "name").split("'")[1] if "'" in (message or "") else "name"


def variables_of(source: str) -> set[str]:
    """The undeclared variables a Jinja2 string reads."""
    from jinja2 import meta

    return set(meta.find_undeclared_variables(_env().parse(source)))


Part = tuple[str, str] | str


@dataclass
class PromptTemplate:
    messages: list[Part]
    few_shot: tuple[str, str] | None = None
    examples: list[dict[str, Any]] = field(default_factory=list)
    name: str = "prompt"
    version: str = "1"
    description: str = ""
    defaults: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.messages = [_check_part(p) for p in self.messages]
        self.version = str(self.version)

    @classmethod
    def from_text(cls, text: str, system: str | None = None, **kw: Any) -> PromptTemplate:
        """A one-turn template: an optional system message and one user message."""
        parts: list[Part] = [("system", system)] if system else []
        return cls(messages=[*parts, ("user", text)], **kw)

    @property
    def variables(self) -> set[str]:
        """The variables the messages read (few-shot fields and `examples` excluded)."""
        names: set[str] = set()
        for part in self.messages:
            if isinstance(part, tuple):
                names |= variables_of(part[1])
        return names - {EXAMPLES}

    @property
    def fingerprint(self) -> str:
        """A short hash of the template's content: two prompts with the same text share it."""
        blob = json.dumps([self.messages, self.few_shot, self.examples], ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]

    def render(self, examples: Sequence[Mapping[str, Any]] | None = None, **variables: Any) -> list[Message]:
        """The messages for these variables; `examples` overrides the template's own (e.g. selected ones)."""
        shots = list(self.examples if examples is None else examples)
        values = {**self.defaults, **variables, EXAMPLES: shots}
        out: list[Message] = []
        for part in self.messages:
            if part == EXAMPLES:
                out.extend(self._shots(shots))
            else:
                role, source = part
                out.append(Message(role=role, content=render_string(source, values)))
        return out

    def format(self, examples: Sequence[Mapping[str, Any]] | None = None, **variables: Any) -> str:
        """The rendered messages joined as plain text (for completion models and logs)."""
        return "\n\n".join(m.content or "" for m in self.render(examples, **variables))

    def _shots(self, shots: Sequence[Mapping[str, Any]]) -> list[Message]:
        if not shots:
            return []
        if self.few_shot is None:
            raise ConfigError(f"The template '{self.name}' has an 'examples' slot but no few_shot block.",
                              "add few_shot: {user: '{{ input }}', assistant: '{{ output }}'}")
        user, assistant = self.few_shot
        out = []
        for shot in shots:
            out.append(Message(role="user", content=render_string(user, shot)))
            out.append(Message(role="assistant", content=render_string(assistant, shot)))
        return out

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "version": self.version}
        if self.description:
            data["description"] = self.description
        data["messages"] = [p if isinstance(p, str) else {p[0]: p[1]} for p in self.messages]
        if self.few_shot:
            data["few_shot"] = {"user": self.few_shot[0], "assistant": self.few_shot[1]}
        if self.examples:
            data["examples"] = self.examples
        if self.defaults:
            data["defaults"] = self.defaults
        return data

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".json":
            path.write_text(json.dumps(self.to_dict(), ensure_ascii=False, indent=2), encoding="utf-8")
        else:
            import yaml

            path.write_text(yaml.safe_dump(self.to_dict(), allow_unicode=True, sort_keys=False), encoding="utf-8")
        return path


def _check_part(part: Any) -> Part:
    if part == EXAMPLES:
        return EXAMPLES
    if isinstance(part, Mapping):
        part = (part["role"], part.get("content", "")) if "role" in part else next(iter(part.items()), None)
    if isinstance(part, (tuple, list)) and len(part) == 2 and part[0] in ROLES and isinstance(part[1], str):
        return (part[0], part[1])
    raise ConfigError(f"A prompt message must be (role, text) with role in {', '.join(ROLES)}, not {part!r}.",
                      "write messages as [{system: ...}, examples, {user: ...}]")


def template_from_dict(data: Mapping[str, Any], source: str = "the template") -> PromptTemplate:
    if not isinstance(data, Mapping) or "messages" not in data and "prompt" not in data:
        raise ConfigError(f"{source} has no 'messages' (or 'prompt').", "see lingxi.prompts.templates for the format")
    known = {"name", "version", "description", "messages", "prompt", "system", "few_shot", "examples", "defaults"}
    extra = set(data) - known
    if extra:
        raise ConfigError(f"{source} has unknown fields: {', '.join(sorted(extra))}.", f"known fields: {', '.join(sorted(known))}")
    messages = list(data.get("messages") or [])
    if "prompt" in data:
        messages = ([{"system": data["system"]}] if data.get("system") else []) + [{"user": data["prompt"]}]
    shot = data.get("few_shot")
    few_shot = (shot["user"], shot["assistant"]) if isinstance(shot, Mapping) else (tuple(shot) if shot else None)
    return PromptTemplate(
        messages=messages, few_shot=few_shot, examples=list(data.get("examples") or []),  # type: ignore[arg-type]
        name=str(data.get("name", "prompt")), version=str(data.get("version", "1")),
        description=str(data.get("description", "")), defaults=dict(data.get("defaults") or {}),
    )


def read_data_file(path: str | Path) -> Any:
    """A YAML or JSON file as Python data, with one-sentence errors."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise ConfigError(f"The file {path} does not exist.", "check the path")
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix == ".json":
            return json.loads(text)
        import yaml

        return yaml.safe_load(text)
    except Exception as exc:  # yaml and json raise different types
        raise ConfigError(f"{path} is not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {exc}.",
                          "fix the syntax and try again") from exc


def load_template(path: str | Path) -> PromptTemplate:
    """A template from a YAML or JSON file (name and version inside; name defaults to the file stem)."""
    data = read_data_file(path)
    if isinstance(data, Mapping) and "name" not in data:
        data = {**data, "name": Path(path).stem}
    return template_from_dict(data, source=str(path))


class TemplateLibrary:
    """A folder of template files; `get(name)` is the highest version, `get(name, "2")` an exact one."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder).expanduser()

    def all(self) -> list[PromptTemplate]:
        files = sorted(p for ext in ("*.yaml", "*.yml", "*.json") for p in self.folder.rglob(ext))
        return [load_template(p) for p in files]

    def versions(self, name: str) -> list[str]:
        return sorted((t.version for t in self.all() if t.name == name), key=_version_key)

    def get(self, name: str, version: str | int | None = None) -> PromptTemplate:
        found = [t for t in self.all() if t.name == name]
        if version is not None:
            found = [t for t in found if t.version == str(version)]
        if not found:
            have = sorted({f"{t.name}@{t.version}" for t in self.all()})
            raise ConfigError(f"No template '{name}'{f' version {version}' if version else ''} in {self.folder}.",
                              f"available: {', '.join(have) or 'none'}")
        return max(found, key=lambda t: _version_key(t.version))


def _version_key(version: str) -> tuple:
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in version.replace("-", ".").split("."))
