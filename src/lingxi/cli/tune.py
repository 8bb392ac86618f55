"""`lingxi tune sft|dpo|kto|pretrain` (LoRA training) and `lingxi adapters list|show|rm`."""

from __future__ import annotations

import os
from typing import Annotated, Any

import typer
from rich.table import Table

from lingxi.cli.common import JsonOpt, err, out, print_json
from lingxi.config import load_settings

app = typer.Typer(help="Fine-tune local models with LoRA (SFT, DPO, KTO, continued pre-training).",
                  no_args_is_help=True)
adapters_app = typer.Typer(help="List, inspect and remove trained adapters.", no_args_is_help=True)

Model = Annotated[str, typer.Option("--model", "-m", help="The base: an alias (smollm2), a .gguf path or hf:/folder; "
                                    "BASE+ADAPTER starts from that trained adapter.")]
Data = Annotated[str, typer.Option("--data", "-d", help="Training data (JSON Lines; a folder or .txt/.md for pretrain).")]
Out = Annotated[str, typer.Option("--out", "-o", help="The adapter's name (then use the model BASE+NAME).")]
MaxSteps = Annotated[int | None, typer.Option("--max-steps", help="Stop after this many steps.", show_default=False)]
R = Annotated[int | None, typer.Option("--r", help="LoRA rank (default 8; BASE+ADAPTER keeps the adapter's).",
                                       show_default=False)]
Alpha = Annotated[int | None, typer.Option("--alpha", help="LoRA alpha, scale = alpha / r (default 16; BASE+ADAPTER "
                                           "keeps the adapter's).", show_default=False)]
Lr = Annotated[float, typer.Option("--lr", help="Learning rate.")]
Epochs = Annotated[float, typer.Option("--epochs", help="Passes over the training data (when --max-steps is not set).")]
Seed = Annotated[int, typer.Option("--seed", help="Seed for the split, the initialisation and the order.")]
Targets = Annotated[list[str] | None, typer.Option("--target-modules", help="Modules to adapt (repeatable; default all linear layers).",
                                                  show_default=False)]
Batch = Annotated[int, typer.Option("--batch-size", help="Examples per step.")]
Validation = Annotated[float, typer.Option("--validation", help="Share of the data held out for the validation loss.")]
MaxLen = Annotated[int, typer.Option("--max-length", help="Most tokens per example.")]
SaveSteps = Annotated[int | None, typer.Option("--save-steps", help="Checkpoint every N steps (default: ~10 per run).",
                                              show_default=False)]
Threads = Annotated[int, typer.Option("--threads", help="torch threads.")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Show the plan and the time estimated from one timed step.")]


def _run(method: str, model: str, data: str, out_name: str, max_steps: int | None, r: int | None, alpha: int | None,
         lr: float,
         epochs: float, seed: int, target_modules: list[str] | None, batch_size: int, validation: float,
         max_length: int, save_steps: int | None, threads: int, dry_run: bool, as_json: bool) -> None:
    from lingxi.tune.train import Plan, dry_run as plan_only, train

    plan = Plan(method=method, model=model, data=data, out=out_name, r=r, alpha=alpha, lr=lr, epochs=epochs,
                max_steps=max_steps, batch_size=batch_size, seed=seed, target_modules=target_modules or None,
                validation=validation, max_length=max_length, save_steps=save_steps, threads=threads)
    settings = load_settings()
    try:
        os.nice(10)  # a training run shares the machine politely
    except OSError:
        pass
    if dry_run:
        info = plan_only(plan, settings)
        if as_json:
            print_json(info)
            return
        p = info["plan"]
        out.print(f"plan: {method} LoRA r={p['r']} alpha={p['alpha']} lr={p['lr']} on {p['base']['name']} "
                  f"({p['base']['format']}), {info['data']['train']} train / {info['data']['validation']} validation "
                  f"examples, {info['steps']} steps of {p['batch_size']}")
        out.print(f"one step took {info['step_s']:.1f} s (loading {info['load_s']:.1f} s): "
                  f"about {info['estimated_s'] / 60:.1f} min in all; nothing was saved")
        return
    manifest = _train_with_bar(plan, settings, train, quiet=as_json)
    if as_json:
        print_json(manifest)
        return
    m = manifest["metrics"]
    val = m.get("validation_loss")
    out.print(f"trained '{out_name}': {m['steps']} steps in {m['seconds']:.0f} s, final loss {m['train_loss']:.4f}"
              + (f", validation loss {val:.4f}" if val is not None else ""))
    out.print(f"report: {manifest['report']['markdown']} (loss curve {manifest['report']['png']})")
    export = f"  (export for llama.cpp: lingxi tune export {out_name})" if manifest["base"].get("format") == "gguf" else ""
    out.print(f"use it: lingxi complete --model {manifest['base']['name']}+{out_name} \"...\"{export}")


def _train_with_bar(plan: Any, settings: Any, train: Any, quiet: bool) -> dict[str, Any]:
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TextColumn("loss {task.fields[loss]}"), TextColumn("{task.fields[rate]} ex/s"),
                  TimeRemainingColumn(), console=err, disable=quiet, transient=False) as bar:
        task = bar.add_task(f"{plan.method} {plan.out}", total=None, loss="-", rate="-")

        def on_step(s: dict[str, Any]) -> None:
            bar.update(task, completed=s["step"], total=s["steps"],
                       loss=f"{s['loss']:.4f}" if s["loss"] is not None else "-", rate=f"{s['examples_per_s']:.2f}")

        return train(plan, settings, on_step=on_step)


def _command(method: str, doc: str) -> Any:
    def command(model: Model = "smollm2", data: Data = "", out_name: Out = "", max_steps: MaxSteps = None, r: R = None,
                alpha: Alpha = None, lr: Lr = 2e-4, epochs: Epochs = 2.0, seed: Seed = 0, target_modules: Targets = None,
                batch_size: Batch = 2, validation: Validation = 0.1, max_length: MaxLen = 512,
                save_steps: SaveSteps = None, threads: Threads = 2, dry_run: DryRun = False, as_json: JsonOpt = False) -> None:
        if not data or not out_name:
            from lingxi.errors import ConfigError

            raise ConfigError("--data and --out are required.", f"e.g. lingxi tune {method} --data train.jsonl --out style")
        _run(method, model, data, out_name, max_steps, r, alpha, lr, epochs, seed, target_modules, batch_size,
             validation, max_length, save_steps, threads, dry_run, as_json)

    command.__doc__ = doc
    return command


for _method, _doc in (
    ("sft", "Supervised fine-tuning on chat messages, prompt/completion or alpaca records."),
    ("dpo", "Direct preference optimisation on prompt/chosen/rejected records."),
    ("kto", "KTO on prompt/completion/label records (thumbs up or down)."),
    ("pretrain", "Continued pre-training on raw text (txt/md files, folders, or JSON Lines with 'text')."),
):
    app.command(_method)(_command(_method, _doc))


@adapters_app.command("list")
def list_command(as_json: JsonOpt = False) -> None:
    """Every trained adapter with its base, method and validation loss."""
    from lingxi.tune.adapters import list_adapters

    rows = list_adapters(load_settings())
    if as_json:
        print_json(rows)
        return
    if not rows:
        out.print("no adapters yet; train one with: lingxi tune sft --model smollm2 --data X.jsonl --out NAME")
        return
    table = Table("name", "base", "method", "status", "steps", "validation loss", "exported")
    for a in rows:
        vl = a["validation_loss"]
        table.add_row(a["name"], str(a["base"]), str(a["method"]), str(a["status"]), str(a["steps"] or "-"),
                      f"{vl:.4f}" if vl is not None else "-", "yes" if a["exported"] else "no")
    out.print(table)


@adapters_app.command("show")
def show_command(name: str, as_json: JsonOpt = False) -> None:
    """An adapter's manifest: base and its SHA-256, data hash, method, hyper-parameters, metrics."""
    from lingxi.tune.adapters import read_manifest

    m = read_manifest(name, load_settings())
    if as_json:
        print_json(m)
        return
    met = m.get("metrics", {})
    out.print(f"{m['name']}: {m['method']} on {m['base']['name']} (sha256 {m['base']['sha256'][:16]}), {m['status']}")
    out.print(f"data: {m['data']['path']} (sha256 {m['data']['sha256'][:16]}), "
              f"{m['data']['train']} train / {m['data']['validation']} validation")
    if m.get("from"):
        out.print(f"started from: {m['from']['name']} (sha256 {m['from']['sha256'][:16]})")
    out.print("hyper-parameters: " + ", ".join(f"{k}={v}" for k, v in m["hyper"].items()))
    out.print("metrics: " + ", ".join(f"{k}={v}" for k, v in met.items() if k != "losses"))


@adapters_app.command("rm")
def rm_command(name: str, yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False) -> None:
    """Remove an adapter and its checkpoints."""
    from lingxi.tune.adapters import read_manifest, remove

    settings = load_settings()
    read_manifest(name, settings)
    if not yes and not typer.confirm(f"remove adapter '{name}'?"):
        raise typer.Abort()
    remove(name, settings)
    out.print(f"removed adapter '{name}'")


@app.command("export")
def export_command(
    name: str,
    merge: Annotated[bool, typer.Option("--merge", help="Also write the base with the adapter folded in, as one GGUF.")] = False,
    quant: Annotated[str | None, typer.Option("--quant", help="The merged file's type (f16, q8_0, q6_k, q5_k_m, q4_k_m, "
                                              "q4_1, ...; default: q8_0).", show_default=False)] = None,
    as_json: JsonOpt = False,
) -> None:
    """Write the adapter as a llama.cpp LoRA GGUF (adapters/NAME/adapter.gguf); --merge also a merged, quantised GGUF."""
    from lingxi.tune.export import export

    settings = load_settings()
    path = export(name, settings)
    merged = None
    if merge or quant:
        from lingxi.tune.merge import LOW_BIT
        from lingxi.tune.merge import merge as merge_into_base

        merged = merge_into_base(name, settings, quant)
    if as_json:
        print_json({"name": name, "gguf": str(path), "bytes": path.stat().st_size,
                    **({"merged": str(merged), "merged_bytes": merged.stat().st_size} if merged else {})})
        return
    out.print(f"wrote {path} ({path.stat().st_size / 2**20:.1f} MiB); llama.cpp: --lora {path}")
    if merged and (quant or "").lower() in LOW_BIT:
        err.print(f"note: merged into {quant}: a 4- or 5-bit type rounds much of a small adapter away (measured: q4_1 "
                  "kept none of its answers on 6 prompts, q8_0 4); see bench/results/tune_identity.md.", style="yellow")
    if merged:
        out.print(f"wrote {merged} ({merged.stat().st_size / 2**20:.1f} MiB): the base with '{name}' merged in; "
                  f"use it as a model of its own: lingxi complete --model {merged} \"...\"")


@app.command("eval")
def eval_command(
    name: str,
    data: Annotated[str, typer.Option("--data", "-d", help="Held-out SFT data (JSON Lines); the last answer is the reference.")],
    judge: Annotated[str | None, typer.Option("--judge", help="Also score relevance with this model as judge.",
                                              show_default=False)] = None,
    max_tokens: Annotated[int, typer.Option("--max-tokens", help="Most tokens per answer.")] = 128,
    limit: Annotated[int | None, typer.Option("--limit", help="Use only the first N examples.", show_default=False)] = None,
    out_dir: Annotated[str | None, typer.Option("--out", help="Report folder (default: adapters/NAME/eval).",
                                                show_default=False)] = None,
    as_json: JsonOpt = False,
) -> None:
    """Run the base and BASE+NAME on the same held-out prompts; write a side-by-side report (JSON + Markdown)."""
    from lingxi.tune.evaluate import evaluate

    report = evaluate(name, data, load_settings(), judge=judge, max_tokens=max_tokens, limit=limit, out=out_dir)
    if as_json:
        print_json({k: v for k, v in report.items() if k != "items"})
        return
    models = report["models"]
    for key, base_value in report["metrics"]["base"].items():
        new = report["metrics"]["adapter"][key]
        out.print(f"{key}: {models['base']} {base_value:.2f} -> {models['adapter']} {new:.2f}"
                  if base_value is not None and new is not None else f"{key}: -")
    out.print(f"report: {report['files']['markdown']} ({report['n']} prompts)")


from lingxi.cli.tune_data import data_app  # noqa: E402 - `lingxi tune data ...`, in its own module

app.add_typer(data_app, name="data")
