"""DPO (6 steps) on top of the 1-epoch SFT adapter of `bench/tune.py --epochs 1`: SFT vs SFT+DPO through lingxi.ask
(the same 48 + 6 held-out questions). Run bench/tune.py --epochs 1 first. Results: bench/results/tune_dpo_on_sft.json."""
import json, os, random, sys, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent))
home = Path(os.environ.get("LINGXI_BENCH_HOME", Path.home() / ".lingxi-bench-tune"))
os.environ["LINGXI_HOME"] = str(home)
import tune as T
load0 = round(os.getloadavg()[0], 2)
t = time.time()
dpo = T.train(home, "dpo", home / "bench-tune" / "dpo.jsonl", "ask-dpo-on-sft-e1", "--max-steps", "6", "--lr", "2e-4",
              "--max-length", str(T.MAX_LENGTH), "--validation", "0.05", model="smollm2+ask-sft-full-e1-lr2e-4")
print("dpo", round(time.time() - t), "s", dpo["metrics"].get("losses"), file=sys.stderr)
data = {lang: T.load(lang) for lang in ("zh", "en")}
rng = random.Random(0)
tr, ev, un = [], [], []
for lang, (items, _) in data.items():
    tr += T.one_per_para([i for i in items if i["article"] % 2 == 0], rng)[:48]
    ev += T.one_per_para([i for i in items if i["article"] % 2 == 1], rng)[:24]
    un += T.one_per_para([i for i in items if i["article"] % 2 == 0], random.Random(9))[-3:]
models = {"smollm2+ask-sft-full-e1-lr2e-4 (generate)": ("smollm2+ask-sft-full-e1-lr2e-4", "generate"),
          "smollm2+ask-dpo-on-sft-e1 (generate)": ("smollm2+ask-dpo-on-sft-e1", "generate")}
out = T.evaluate(ev, un, models)
res = {"load_average": load0, "load_average_end": round(os.getloadavg()[0], 2), "dpo": T.train_row(dpo, 75),
       "metrics": out["metrics"]}
T.RESULTS / "tune_dpo_on_sft.json".write_text(json.dumps(res, ensure_ascii=False, indent=2) + "\n")
print(json.dumps(res["metrics"], indent=1))
