"""`lingxi tune dpo` and `lingxi tune kto` end to end through the entry point: one step each on the
shared tiny data, an adapter and a manifest at the end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import ROWS, lingxi


@pytest.mark.timeout(1500)  # alone, the first test of a session dequantises the base (minutes on busy cores)
@pytest.mark.parametrize("method", ["dpo", "kto"])
def test_preference_methods_train_through_the_cli(method: str, tune_home: Path) -> None:
    data = tune_home / f"{method}.jsonl"
    if method == "dpo":
        rows = [{"prompt": r["prompt"], "chosen": r["completion"], "rejected": "Hello."} for r in ROWS[:4]]
    else:  # KTO needs both labels in a batch
        rows = [{"prompt": r["prompt"], "completion": r["completion"] if i % 2 else "Hello.", "label": bool(i % 2)}
                for i, r in enumerate(ROWS[:4])]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")
    run = lingxi(tune_home, "tune", method, "--model", "smollm2", "--data", str(data), "--out", f"pref-{method}",
                 "--max-steps", "1", "--validation", "0", "--max-length", "64", "--json")
    out, err = run.communicate(timeout=1200)
    assert run.returncode == 0, err[-3000:]
    manifest = json.loads(out)
    assert manifest["method"] == method and manifest["status"] == "trained" and manifest["metrics"]["steps"] == 1
    assert manifest["metrics"]["train_loss"] is not None
    assert (tune_home / "adapters" / f"pref-{method}" / "adapter" / "adapter_model.safetensors").is_file()
