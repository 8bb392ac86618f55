"""One LoRA training run: plan it, time a step (--dry-run), train with checkpoints, report.

    plan = Plan(method="sft", model="smollm2", data="style.jsonl", out="style", max_steps=8)
    manifest = train(plan, settings, on_step=print)     # resumes from the last checkpoint if interrupted

``--model BASE+ADAPTER`` starts the new adapter from ADAPTER's weights (`lingxi.tune.start`).
SFT runs trl's SFTTrainer on examples tokenised by `lingxi.tune.template` (the completion's tokens
only are learned); DPO and KTO use trl's DPOTrainer / KTOTrainer with ``ref_model=None`` (the base
with the adapter off is the reference; the starting adapter when there is one); pretrain is SFTTrainer
with packing on raw text.
An interrupt (Ctrl-C, SIGTERM) saves a checkpoint at the end of the current step and stops;
running the same command again continues from there.
"""

from __future__ import annotations

import math
import signal
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from lingxi.config import Settings
from lingxi.errors import TuneError, missing_extra
from lingxi.tune import adapters
from lingxi.tune.base import Base, load_base
from lingxi.tune.data import data_hash, read_examples, split
from lingxi.tune.start import Start, shape, starting_point
from lingxi.tune.template import conversational, sft_features


@dataclass
class Plan:
    method: str
    model: str
    data: str
    out: str
    r: int | None = None  # None: 8, or the starting adapter's (r, alpha and target_modules alike)
    alpha: int | None = None  # None: 16
    dropout: float = 0.0
    lr: float = 2e-4
    epochs: float = 2.0  # measured: 2 beat 1 on bench/tune.py (F1 30.2 vs 17.9, bench/results/tune.md)
    max_steps: int | None = None
    batch_size: int = 2
    seed: int = 0
    target_modules: list[str] | None = None  # None: ["all-linear"]
    validation: float = 0.1
    max_length: int = 512
    save_steps: int | None = None  # default: about ten checkpoints per run
    threads: int = 2

    def hyper(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k not in ("method", "model", "data", "out")}


class Interrupted(TuneError):
    exit_code = 130


@dataclass
class Prepared:
    plan: Plan
    base: Base
    train: list[dict[str, Any]]
    val: list[dict[str, Any]]
    data_sha256: str
    steps: int
    start: Start | None = None


def prepare(plan: Plan, settings: Settings) -> Prepared:
    """Read and split the data, resolve the base (and the adapter to start from), count the steps (cheap: nothing
    is loaded). The returned plan has its r, alpha and target modules filled in."""
    adapters.check_name(plan.out)
    base, start = starting_point(plan.model, settings)
    if start is not None and start.name == plan.out:
        raise TuneError(f"'{plan.out}' cannot start from itself.", "choose another --out for the new adapter")
    plan = replace(plan, **shape(plan, start))
    if plan.r < 1 or plan.alpha < 1 or plan.lr <= 0 or plan.batch_size < 1 or plan.epochs <= 0:
        raise TuneError("r, alpha, learning rate, batch size and epochs must be positive.", "check the options")
    examples = read_examples(plan.data, plan.method)
    train_set, val_set = split(examples, plan.validation, plan.seed)
    per_epoch = math.ceil(len(train_set) / plan.batch_size)
    steps = plan.max_steps or max(1, math.ceil(per_epoch * plan.epochs))
    return Prepared(plan, base, train_set, val_set, data_hash(plan.data), steps, start)


def _trl() -> Any:
    try:
        import datasets
        import peft
        import trl
    except ImportError as exc:
        raise missing_extra(exc.name or "trl", "tune") from exc
    return datasets, peft, trl


def _trainer(p: Prepared, settings: Settings, output_dir: Path, callbacks: list[Any]) -> Any:
    datasets, peft, trl = _trl()
    import torch

    torch.set_num_threads(p.plan.threads)
    tok, model = load_base(p.base, settings)
    plan = p.plan
    if p.start is not None:  # trl then makes no adapter of its own, and copies this one as DPO/KTO's reference
        model, lora = p.start.load(model, plan.dropout), None
    else:
        lora = peft.LoraConfig(r=plan.r, lora_alpha=plan.alpha, lora_dropout=plan.dropout, task_type="CAUSAL_LM",
                               target_modules=plan.target_modules[0] if plan.target_modules == ["all-linear"]
                               else plan.target_modules)
    common = dict(output_dir=str(output_dir), per_device_train_batch_size=plan.batch_size,
                  per_device_eval_batch_size=plan.batch_size, learning_rate=plan.lr, num_train_epochs=plan.epochs,
                  max_steps=p.steps, seed=plan.seed, logging_steps=1, save_strategy="steps",
                  save_steps=plan.save_steps or max(1, p.steps // 10), save_total_limit=2, report_to=[],
                  use_cpu=True, disable_tqdm=True, dataloader_num_workers=0, eval_strategy="no")
    if plan.method in ("sft", "pretrain"):
        if plan.method == "sft":
            rows = [sft_features(tok, e["messages"], plan.max_length) for e in p.train]
            val = [sft_features(tok, e["messages"], plan.max_length) for e in p.val]
            cfg = trl.SFTConfig(**common, max_length=plan.max_length, completion_only_loss=True)
        else:
            rows, val = p.train, p.val
            cfg = trl.SFTConfig(**common, max_length=plan.max_length, packing=True, dataset_text_field="text")
        cls, extra = trl.SFTTrainer, {}
    elif plan.method == "dpo":
        rows, val = [conversational(e) for e in p.train], [conversational(e) for e in p.val]
        cfg = trl.DPOConfig(**common, max_length=plan.max_length)
        cls, extra = trl.DPOTrainer, {"ref_model": None}
    else:
        rows, val = [conversational(e) for e in p.train], [conversational(e) for e in p.val]
        cfg = trl.KTOConfig(**common, max_length=plan.max_length)
        cls, extra = trl.KTOTrainer, {"ref_model": None}
    to_ds = datasets.Dataset.from_list
    trainer = cls(model=model, args=cfg, train_dataset=to_ds(rows), eval_dataset=to_ds(val) if val else None,
                  processing_class=tok, peft_config=lora, callbacks=callbacks, **extra)
    from transformers.trainer_callback import PrinterCallback

    trainer.remove_callback(PrinterCallback)  # the progress bar shows the loss; no log dicts on stdout
    return trainer


def _callback(total: int, batch: int, on_step: Callable[[dict[str, Any]], None], stop: dict[str, bool]) -> Any:
    from transformers import TrainerCallback

    class Progress(TrainerCallback):
        def __init__(self) -> None:
            self.losses: list[tuple[int, float]] = []
            self.started = time.perf_counter()
            self.first_step: int | None = None

        def on_log(self, args: Any, state: Any, control: Any, logs: dict | None = None, **kw: Any) -> None:
            if logs and "loss" in logs:
                self.losses.append((state.global_step, float(logs["loss"])))

        def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> Any:
            if self.first_step is None:
                self.first_step, self.started = state.global_step - 1, self.started
            done = state.global_step - self.first_step
            spent = time.perf_counter() - self.started
            rate = done / spent if spent else 0.0
            on_step({"step": state.global_step, "steps": total, "loss": self.losses[-1][1] if self.losses else None,
                     "examples_per_s": rate * batch, "eta_s": (total - state.global_step) / rate if rate else None})
            if stop["now"]:
                control.should_save = True
                control.should_training_stop = True
            return control

    return Progress()


def train(plan: Plan, settings: Settings, on_step: Callable[[dict[str, Any]], None] = lambda _s: None) -> dict[str, Any]:
    """Train (or continue) the adapter `plan.out`; return its manifest."""
    p = prepare(plan, settings)
    plan = p.plan
    folder = adapters.adapter_dir(plan.out, settings)
    ckpts = folder / "checkpoints"
    old = _previous(plan, p, folder, settings)
    resume = old is not None and any(ckpts.glob("checkpoint-*"))
    stop = {"now": False}
    progress = _callback(p.steps, plan.batch_size, on_step, stop)
    folder.mkdir(parents=True, exist_ok=True)
    manifest = _manifest(p, "training")
    adapters.write_manifest(plan.out, manifest, settings)
    trainer = _trainer(p, settings, ckpts, [progress])
    started = time.perf_counter()
    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}

    def interrupt(_signum: int, _frame: Any) -> None:
        stop["now"] = True

    for s in previous:
        signal.signal(s, interrupt)
    try:
        result = trainer.train(resume_from_checkpoint=True if resume else None)
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
    seconds = time.perf_counter() - started + (old or {}).get("metrics", {}).get("seconds", 0.0)
    losses = (old or {}).get("metrics", {}).get("losses", []) if resume else []
    losses = [x for x in losses if x[0] < (progress.losses[0][0] if progress.losses else 1 << 30)] + progress.losses
    manifest["metrics"] = {"steps": trainer.state.global_step, "seconds": round(seconds, 2), "losses": losses,
                           "train_loss": losses[-1][1] if losses else None}
    if stop["now"] and trainer.state.global_step < p.steps:
        manifest["status"] = "interrupted"
        adapters.write_manifest(plan.out, manifest, settings)
        raise Interrupted(f"Training of '{plan.out}' stopped at step {trainer.state.global_step} of {p.steps}; "
                          "a checkpoint was saved.", "run the same command again to continue")
    if p.val:
        manifest["metrics"].update(_validation(trainer.evaluate()))
    trainer.model.save_pretrained(folder / "adapter", selected_adapters=["default"])  # not DPO/KTO's "ref" copy
    manifest["status"] = "trained"
    manifest["metrics"]["examples_per_s"] = round(p.steps * plan.batch_size / max(seconds, 1e-9), 3)
    del result
    from lingxi.tune.report import write_report

    manifest["report"] = write_report(folder, manifest)
    import shutil

    shutil.rmtree(ckpts, ignore_errors=True)  # finished: the checkpoints (optimizer state) are no longer needed
    adapters.write_manifest(plan.out, manifest, settings)
    return manifest


def _validation(metrics: dict[str, Any]) -> dict[str, Any]:
    """The validation loss, and trl's other numbers (DPO's reward accuracy and margin, KTO's KL...).
    trl's preference trainers may report no ``eval_loss`` (its prediction step returns none on
    some batches), so the loss is optional."""
    numbers = {k.removeprefix("eval_"): float(v) for k, v in metrics.items()
               if isinstance(v, (int, float)) and not k.endswith(("runtime", "per_second", "epoch"))}
    out: dict[str, Any] = {"validation": numbers}
    if "loss" in numbers:
        out["validation_loss"] = numbers["loss"]
    return out


def _previous(plan: Plan, p: Prepared, folder: Path, settings: Settings) -> dict[str, Any] | None:
    """The manifest of an unfinished run of this same plan (to resume), None for a new run."""
    if not (folder / "manifest.json").is_file():
        return None
    old = adapters.read_manifest(plan.out, settings)
    same = (old.get("method") == plan.method and old.get("hyper") == plan.hyper()
            and old.get("base", {}).get("sha256") == p.base.sha256 and old.get("data", {}).get("sha256") == p.data_sha256
            and old.get("from") == (p.start.describe() if p.start else None))
    if old.get("status") == "trained":
        raise TuneError(f"The adapter '{plan.out}' is already trained.",
                        f"choose another --out, or remove it first: lingxi adapters rm {plan.out}")
    if not same:
        raise TuneError(f"An unfinished run named '{plan.out}' used other data, base or options.",
                        f"rerun it with the same options, or remove it: lingxi adapters rm {plan.out}")
    return old


def _manifest(p: Prepared, status: str) -> dict[str, Any]:
    import lingxi

    return {"name": p.plan.out, "method": p.plan.method, "status": status, "created_at": time.time(),
            "base": p.base.describe(), **({"from": p.start.describe()} if p.start else {}), "hyper": p.plan.hyper(),
            "data": {"path": str(Path(p.plan.data).expanduser().resolve()), "sha256": p.data_sha256,
                     "train": len(p.train), "validation": len(p.val)},
            "steps_planned": p.steps, "lingxi": getattr(lingxi, "__version__", "0.1.0")}


def dry_run(plan: Plan, settings: Settings) -> dict[str, Any]:
    """The plan, and the time it would take from one timed training step (nothing is saved)."""
    import tempfile

    p = prepare(plan, settings)
    plan = p.plan
    with tempfile.TemporaryDirectory() as tmp:
        timed = Prepared(plan, p.base, p.train, [], p.data_sha256, 1, p.start)
        started = time.perf_counter()
        trainer = _trainer(timed, settings, Path(tmp), [])
        load_s = time.perf_counter() - started
        trainer.args.save_strategy = "no"
        started = time.perf_counter()
        trainer.train()
        step_s = time.perf_counter() - started
    return {"plan": {"method": plan.method, "base": p.base.describe(), "out": plan.out, **plan.hyper(),
                     **({"from": p.start.describe()} if p.start else {})},
            "data": {"train": len(p.train), "validation": len(p.val), "sha256": p.data_sha256},
            "steps": p.steps, "load_s": round(load_s, 2), "step_s": round(step_s, 2),
            "estimated_s": round(load_s + step_s * p.steps, 1)}
