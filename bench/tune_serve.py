"""Multi-LoRA serving on one loaded base (issue 14): switch cost, throughput, and peft = llama.cpp.

(a) Switch latency: `llama_adapter_lora_init` (reading an adapter file onto the loaded model,
    once per adapter: the provider caches the handle) and the per-request switch
    (`llama_set_adapters_lora` + `llm.reset()`), p50 and p90.
(b) Throughput: the same requests (and the plain base, for the adapter's own compute cost) (6 prompts in turn, greedy, --max-tokens each) for one adapter
    alone (`smollm2+a` every time) and for three interleaved (`smollm2+a`, `+b`, `+c` in turn),
    through the model funnel, generated tokens over wall time. Interleaving pays a switch and
    loses the cached prompt prefix on every request. The adapters are built directly
    (`lingxi.testing.lora`, r=8 on all seven projections: the size of a trained all-linear one).
(c) Identity: greedy decoding of 40 tokens with a trained adapter, peft on the dequantised base
    against llama.cpp on the GGUF with the exported LoRA (end of turn suppressed on both sides,
    so each prompt runs 40 tokens): tokens equal before the first difference. Trains a tiny adapter (`lingxi tune sft --max-steps 8`) unless --trained HOME:NAME.

    .venv/bin/python bench/tune_serve.py [--reps 12] [--max-tokens 48] [--threads 1] [--trained HOME:NAME]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
ROOT = Path(__file__).resolve().parents[1]
PROMPTS = ["Tell me about the sea.", "Name three colours.", "What is a river?", "Say something kind.",
           "Why is the sky blue?", "Describe a cat."]
STYLE = [{"prompt": q, "completion": "Ahoy, matey! Arr, the sea be calling."} for q in
         ("Say hello.", "Greet me.", "What do you say first?", "Hi!", "Good morning.", "Hello there.", "Hey.", "Yo!")]


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * (len(values) - 1) + 0.5))] if values else float("nan")


def switching(args: argparse.Namespace) -> dict:
    import llama_cpp

    from lingxi.config import Settings
    from lingxi.models.funnel import open_chat
    from lingxi.testing.lora import make_adapter
    from lingxi.types import SamplingParams

    home = Path(tempfile.mkdtemp(prefix="tune-serve-bench-"))
    settings = Settings(home=home, trace=False, n_threads=args.threads)
    paths = {n: make_adapter(settings, n, seed=i, r=8, full=True, strength=0.05) for i, n in enumerate("abc", 1)}
    params = SamplingParams(temperature=0.0, max_tokens=args.max_tokens)
    models = {n: open_chat(n, settings, cache=False) for n in ("smollm2", "smollm2+a", "smollm2+b", "smollm2+c")}
    models["smollm2"].chat(PROMPTS[0], SamplingParams(max_tokens=1))  # load the base once
    provider = models["smollm2+a"].wrapped.wrapped if hasattr(models["smollm2+a"], "wrapped") else models["smollm2+a"]
    while hasattr(provider, "wrapped"):
        provider = provider.wrapped
    base = provider._base
    with base.lock:
        llm = provider._load()
        init_s = []
        for _ in range(args.init_reps):
            for path in paths.values():
                t = time.perf_counter()
                h = llama_cpp.llama_adapter_lora_init(llm._model.model, str(path).encode())
                init_s.append(time.perf_counter() - t)
                llama_cpp.llama_adapter_lora_free(h)

    def run(names: list[str]) -> dict:
        tokens, started = 0, time.perf_counter()
        for i in range(args.reps):
            c = models[names[i % len(names)]].chat(PROMPTS[i % len(PROMPTS)], params)
            tokens += c.usage.completion_tokens
        wall = time.perf_counter() - started
        return {"requests": args.reps, "tokens": tokens, "seconds": round(wall, 2), "tokens_per_s": round(tokens / wall, 2)}

    run(["smollm2+a", "smollm2+b", "smollm2+c"][:1])  # warm: handles cached, pages in
    base.timings["set_s"].clear()
    modes = {"base": ["smollm2"], "alone": ["smollm2+a"], "interleaved": ["smollm2+a", "smollm2+b", "smollm2+c"]}
    runs: dict[str, list[dict]] = {m: [] for m in modes}
    for _ in range(2):  # twice each, alternating, against drift
        for mode, names in modes.items():
            runs[mode].append(run(names))
    set_s = list(base.timings["set_s"])
    tps = {m: round(statistics.median(r["tokens_per_s"] for r in rs), 2) for m, rs in runs.items()}
    return {"adapters": {n: {"bytes": p.stat().st_size} for n, p in paths.items()}, "loads": base.loads,
            "init_ms_p50": round(pct(init_s, 0.5) * 1e3, 2), "init_ms_p90": round(pct(init_s, 0.9) * 1e3, 2),
            "init_samples": len(init_s), "set_ms_p50": round(pct(set_s, 0.5) * 1e3, 3),
            "set_ms_p90": round(pct(set_s, 0.9) * 1e3, 3), "set_samples": len(set_s),
            "tokens_per_s_base": tps["base"], "tokens_per_s_1_adapter": tps["alone"], "tokens_per_s_3_interleaved": tps["interleaved"],
            "interleaved_vs_alone": round(tps["interleaved"] / tps["alone"], 3), "runs": runs}


def trained_adapter(args: argparse.Namespace) -> tuple[Path, str, float | None]:
    if args.trained:
        home, _, name = args.trained.rpartition(":")
        return Path(home), name, None
    home = Path(tempfile.mkdtemp(prefix="tune-serve-train-"))
    data = home / "style.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in STYLE), "utf-8")
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "lingxi.cli", "tune", "sft", "--model", "smollm2", "--data", str(data),
                    "--out", "style", "--max-steps", "8", "--lr", "3e-3", "--seed", "1"], check=True,
                   env={**os.environ, "LINGXI_HOME": str(home)}, cwd=ROOT)
    return home, "style", time.perf_counter() - t


def identity(args: argparse.Namespace, n_tokens: int = 40) -> dict:
    from lingxi.config import Settings
    from lingxi.testing.lora import greedy_both_ways

    home, name, train_s = trained_adapter(args)
    settings = Settings(home=home, trace=False, n_threads=args.threads)
    prompts = ["Say hello.", "Tell me about the sea.", "What is your name?", "Explain photosynthesis.",
               "Write a haiku about rain."]
    cases = [{k: v for k, v in c.items() if k not in ("peft", "llama_cpp")} | {"peft_tokens": len(c["peft"])}
             for c in greedy_both_ways(settings, name, prompts, n_tokens)]
    return {"adapter": name, "train_s": None if train_s is None else round(train_s, 1), "tokens": n_tokens,
            "identical": sum(c["identical"] for c in cases), "cases": cases}


def markdown(r: dict) -> str:
    s, i = r["switch"], r.get("identity")
    lines = ["# Multi-LoRA serving (bench/tune_serve.py)", "",
             f"{r['machine']}, load average {r['load_avg']}, llama.cpp threads {r['threads']}, "
             f"{s['runs']['alone'][0]['requests']} requests x {r['max_tokens']} tokens per run.", "",
             "| measure | value |", "| --- | ---: |",
             f"| adapter init (`llama_adapter_lora_init`, once per adapter) p50 / p90 | {s['init_ms_p50']} / {s['init_ms_p90']} ms |",
             f"| switch (`llama_set_adapters_lora` + reset) p50 / p90 | {s['set_ms_p50']} / {s['set_ms_p90']} ms |",
             f"| tokens/s, the base alone (no adapter) | {s['tokens_per_s_base']} |",
             f"| tokens/s, 1 adapter alone | {s['tokens_per_s_1_adapter']} |",
             f"| tokens/s, 3 adapters interleaved | {s['tokens_per_s_3_interleaved']} ({s['interleaved_vs_alone']}x) |",
             f"| base loads for 4 names | {s['loads']} |"]
    if i:
        lines.append(f"| peft = llama.cpp greedy, {i['tokens']} tokens | {i['identical']} of {len(i['cases'])} prompts |")
        lines += ["", "| prompt | equal tokens | peft | llama.cpp |", "| --- | ---: | --- | --- |"]
        for c in i["cases"]:
            lines.append(f"| {c['prompt']} | {c['equal_prefix']} / {c['peft_tokens']} | "
                         f"{c['peft_text'][:60]!r} | {c['llama_cpp_text'][:60]!r} |")
        lines += ["", "The trained adapter (`lingxi tune sft --max-steps 8 --lr 3e-3` on 8 greetings) is strongly "
                  "overfit, so its next-token distribution is sharp; peft runs float32 on the dequantised weights, "
                  "llama.cpp the Q4_1 GGUF."]
    lines += ["", f"Load average {r['load_avg']} at the start, {r['load_avg_end']} at the end (shared machine): "
              "tokens/s are noisy; the ratios matter more than the values. Interleaving loses the cached prompt "
              "prefix (the template's system prompt) on every switch."]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=12)
    ap.add_argument("--init-reps", type=int, default=5)
    ap.add_argument("--max-tokens", type=int, default=48)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--trained", default=None, help="HOME:NAME of a trained adapter (else train one, ~minutes)")
    ap.add_argument("--skip-identity", action="store_true")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results"))
    args = ap.parse_args()
    result = {"machine": f"{platform.machine()} {os.cpu_count()} CPUs", "load_avg": round(os.getloadavg()[0], 2),
              "threads": args.threads, "max_tokens": args.max_tokens, "switch": switching(args)}
    if not args.skip_identity:
        result["identity"] = identity(args)
    result["load_avg_end"] = round(os.getloadavg()[0], 2)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "tune_serve.json").write_text(json.dumps(result, ensure_ascii=False, indent=2), "utf-8")
    (out / "tune_serve.md").write_text(markdown(result), "utf-8")
    print(markdown(result))


if __name__ == "__main__":
    main()
