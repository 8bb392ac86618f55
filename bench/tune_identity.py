"""Does the served adapter answer as the trained one? peft vs llama.cpp, and the merged GGUF vs base+LoRA.

    python bench/tune_identity.py                      # the SFT adapter bench/tune.py trained, 6 held-out prompts

On `lingxi ask`'s own prompts for held-out questions (bench/tune.py's held-out KB), greedy:
1. peft (float32, the dequantised base) against llama.cpp (the Q4_1 GGUF with the exported LoRA,
   switched on per call by the provider): 40 tokens each, end of turn suppressed on both sides;
2. the merged GGUF (`lingxi tune export NAME --merge`, each --quant) against base+LoRA in llama.cpp:
   the greedy answer (up to 48 tokens) of each.
Results: bench/results/tune_identity.json and .md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import tune as T  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--adapter", default="ask-sft-full")
    ap.add_argument("--prompts", type=int, default=6)
    ap.add_argument("--quants", default="q4_1,q4_k_m,q5_k_m,q6_k,q8_0,f16")
    ap.add_argument("--home", default=os.environ.get("LINGXI_BENCH_HOME", str(Path.home() / ".lingxi-bench-tune")))
    a = ap.parse_args()
    os.environ["LINGXI_HOME"] = str(Path(a.home).expanduser())
    import random

    from lingxi.config import load_settings
    from lingxi.knowledge.kb import KnowledgeBase
    from lingxi.models.funnel import open_chat
    from lingxi.testing.lora import greedy_both_ways
    from lingxi.tune.merge import merge
    from lingxi.types import SamplingParams

    settings = load_settings()
    load0 = round(os.getloadavg()[0], 2)
    rng = random.Random(5)
    items = []
    for lang in ("zh", "en"):
        qs, _ = T.load(lang)
        items += T.one_per_para([i for i in qs if i["article"] % 2 == 1], rng)[: a.prompts // 2]
    prompts = [e["messages"] for e in T.training_examples(items, KnowledgeBase.open("tune-held"), open_chat("smollm2"))]
    t = time.perf_counter()
    cases = greedy_both_ways(settings, a.adapter, prompts, n_tokens=40)
    peft_s = time.perf_counter() - t
    served = open_chat(f"smollm2+{a.adapter}", settings, cache=False)
    params = SamplingParams(temperature=0.0, max_tokens=48)
    lora = [served.chat(p, params).text for p in prompts]
    plain = [open_chat("smollm2", settings, cache=False).chat(p, params).text for p in prompts]
    merged = {}
    for q in a.quants.split(","):
        t = time.perf_counter()
        path = merge(a.adapter, settings, q)
        spent = time.perf_counter() - t
        model = open_chat(str(path), settings, cache=False)
        texts = [model.chat(p, params).text for p in prompts]
        same = [x == y for x, y in zip(texts, lora, strict=True)]
        prefix = [next((i for i, (c, d) in enumerate(zip(x, y)) if c != d), min(len(x), len(y))) for x, y in zip(texts, lora)]
        merged[q] = {"seconds": round(spent, 1), "bytes": path.stat().st_size, "identical": sum(same),
                     "same_as_base": sum(x == y for x, y in zip(texts, plain, strict=True)),
                     "common_prefix_chars": prefix, "texts": texts}
    result = {"adapter": a.adapter, "load_average": load0, "load_average_end": round(os.getloadavg()[0], 2),
              "peft_vs_llama_cpp": {"prompts": len(cases), "identical_40": sum(c["identical"] for c in cases),
                                    "equal_prefix": [c["equal_prefix"] for c in cases], "seconds": round(peft_s, 1),
                                    "cases": [{k: c[k] for k in ("equal_prefix", "peft_text", "llama_cpp_text")} for c in cases]},
              "merged_vs_lora": merged, "lora_texts": lora, "base_texts": plain,
              "lora_same_as_base": sum(x == y for x, y in zip(lora, plain, strict=True))}
    T.RESULTS.mkdir(parents=True, exist_ok=True)
    (T.RESULTS / "tune_identity.json").write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", "utf-8")
    pv = result["peft_vs_llama_cpp"]
    lines = [f"# The served adapter answers as the trained one (`python bench/tune_identity.py`, adapter `{a.adapter}`)", "",
             f"{len(prompts)} `lingxi ask` prompts for held-out questions (zh + en), greedy. Load average {load0} at the "
             f"start, {result['load_average_end']} at the end.", "",
             "| comparison | identical | equal leading tokens / chars per prompt | answers equal to the base's |",
             "|---|---:|---|---:|",
             f"| peft (float32) vs llama.cpp (Q4_1 + LoRA), 40 tokens | {pv['identical_40']} / {pv['prompts']} | "
             f"{', '.join(map(str, pv['equal_prefix']))} tokens | base + LoRA: {result['lora_same_as_base']} |"]
    for q, m in merged.items():
        lines.append(f"| merged {q} GGUF vs base + LoRA (llama.cpp), the answer | {m['identical']} / {len(prompts)} | "
                     f"{', '.join(map(str, m['common_prefix_chars']))} chars (merge {m['seconds']} s, "
                     f"{m['bytes'] / 2**20:.0f} MiB) | {m['same_as_base']} |")
    lines += ["", "peft computes in float32 on the dequantised weights; llama.cpp multiplies Q4_1 weights with "
              "8-bit-quantised activations, so identity is not guaranteed: the table says how far they agree.", ""]
    (T.RESULTS / "tune_identity.md").write_text("\n".join(lines), "utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
