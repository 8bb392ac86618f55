"""Run the same prompts across models and sampling settings, side by side (`lingxi compare`).

prompts.yaml::

    sampling:                      # optional; one run per entry (default: temperature 0)
      - {temperature: 0}
      - {temperature: 0.8, top_p: 0.9}
    prompts:
      - name: capital
        prompt: "{{ country }}的首都是哪里？"
        vars: {country: 法国}
      - name: haiku
        system: You are a poet.
        prompt: Write a haiku about autumn.
      - name: sentiment
        template: sentiment_v2.yaml  # a template file (relative to prompts.yaml)
        vars: {text: 送餐太慢}
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from lingxi.errors import ConfigError, LingxiError
from lingxi.models.base import as_params
from lingxi.prompts.templates import PromptTemplate, load_template, read_data_file, template_from_dict


def load_suite(path: str | Path) -> tuple[list[tuple[str, PromptTemplate, dict]], list[dict[str, Any]]]:
    """(name, template, variables) per prompt, and the sampling settings, from a prompts file."""
    path = Path(path)
    data = read_data_file(path)
    if isinstance(data, list):
        data = {"prompts": data}
    if not isinstance(data, dict) or not data.get("prompts"):
        raise ConfigError(f"{path} lists no prompts.", "write prompts: [{name: ..., prompt: ...}]")
    out = []
    for i, item in enumerate(data["prompts"]):
        item = {"prompt": item} if isinstance(item, str) else dict(item)
        name = str(item.pop("name", f"prompt{i + 1}"))
        variables = dict(item.pop("vars", {}) or {})
        if "template" in item:
            tpl = load_template(path.parent / item["template"])
        else:
            tpl = template_from_dict({**item, "name": name}, source=f"prompt '{name}' in {path.name}")
        out.append((name, tpl, variables))
    sampling = [dict(s) for s in data.get("sampling") or [{"temperature": 0.0}]]
    for s in sampling:
        as_params(s)  # validate early, with the one-sentence error
    return out, sampling


def _label(s: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in s.items()) or "defaults"


def _price(name: str) -> tuple[float, float]:
    try:
        from lingxi.config import load_settings
        from lingxi.models.resolve import parse
        from lingxi.registry import default_registry

        spec = parse(name, load_settings(), default_registry())
        return spec.price_in, spec.price_out
    except LingxiError:
        return 0.0, 0.0


def run_comparison(suite: Sequence[tuple[str, PromptTemplate, dict]], sampling: Sequence[dict[str, Any]],
                   models: Sequence[str], get_model: Callable[[str], Any] | None = None) -> list[dict[str, Any]]:
    """One row per (prompt, sampling, model): text, tokens, latency, cost (or the error as a sentence)."""
    if get_model is None:
        from lingxi.models.funnel import open_chat as get_model
    rows = []
    for model_name in models:
        model = get_model(model_name)
        price_in, price_out = _price(model_name)
        for prompt_name, tpl, variables in suite:
            messages = tpl.render(**variables)
            for s in sampling:
                row: dict[str, Any] = {"prompt": prompt_name, "model": model_name, "sampling": _label(s)}
                started = time.perf_counter()
                try:
                    c = model.chat(messages, as_params(s))
                except LingxiError as exc:
                    rows.append({**row, "error": exc.message, "text": "", "latency_s": 0.0})
                    continue
                u = c.usage
                row.update(text=c.text, prompt_tokens=u.prompt_tokens, completion_tokens=u.completion_tokens,
                           latency_s=round(c.latency_s or time.perf_counter() - started, 3),
                           cost=(u.prompt_tokens * price_in + u.completion_tokens * price_out) / 1e6)
                rows.append(row)
    return rows


def comparison_markdown(rows: Sequence[dict[str, Any]]) -> str:
    """One table per prompt and sampling setting, one row per model."""
    lines = ["# Model comparison", ""]
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["prompt"], r["sampling"]), []).append(r)
    for (prompt, sampling), group in groups.items():
        lines += [f"## {prompt} ({sampling})", "", "| model | text | tokens in/out | latency s | cost |",
                  "| --- | --- | ---: | ---: | ---: |"]
        for r in group:
            text = (r.get("error") and f"error: {r['error']}") or r["text"]
            text = text.replace("|", "\\|").replace("\n", "<br>")
            lines.append(f"| {r['model']} | {text} | {r.get('prompt_tokens', 0)}/{r.get('completion_tokens', 0)} "
                         f"| {r['latency_s']:.2f} | {r.get('cost', 0.0):.6f} |")
        lines.append("")
    return "\n".join(lines)
