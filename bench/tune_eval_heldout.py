"""Write bench/tune.py's 30 answerable held-out prompts as SFT JSON Lines (/tmp/held.jsonl) for `lingxi tune eval` (bench/results/tune_eval_llamacpp.md)."""
import sys, json
sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
import tune as T
items = T.load_items("zh") + T.load_items("en")
tr, ev = T.split_items(items, 32, 36)
held = T.build(ev, ev, seed=2)
rows = [{"messages": [*e["messages"], {"role": "assistant", "content": e["target"]}]} for e in held if e["gold"] is not None]
T.write_jsonl(rows, __import__("pathlib").Path("/tmp/held.jsonl"))
print(len(rows))
