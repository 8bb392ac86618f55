"""A longer fuzz of the server from its OpenAPI document than the test suite runs: cases tried per
operation, 5xx seen (target 0), and the latency of a 400 (the cost of refusing bad input).

    .venv/bin/python bench/fuzz.py [--examples 500] [--out bench/results]

The server runs the scripted model, so a case measures request handling, not generation.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings

from lingxi.config import Settings
from lingxi.models.scripted import ScriptedChat
from lingxi.serve import create_app, serve_settings
from lingxi.testing.live import LiveServer


def fuzz(examples: int) -> dict:
    home = Path(tempfile.mkdtemp(prefix="lingxi-fuzz-"))
    app = create_app(Settings(home=home, default_model="fake"), serve_settings(no_auth=True, rate_limit=0),
                     models={"fake": ScriptedChat(default="ok")})
    rows = []
    with LiveServer(app) as live:
        schema = schemathesis.openapi.from_url(live.url + "/openapi.json")
        for result in schema.get_all_operations():
            op = result.ok()
            seen: list[tuple[int, float]] = []

            @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck),
                      phases=[Phase.explicit, Phase.generate], database=None)
            @given(case=op.as_strategy())
            def run(case, _seen=seen) -> None:
                started = time.perf_counter()
                response = case.call(timeout=30)
                _seen.append((response.status_code, time.perf_counter() - started))

            run()
            codes = [c for c, _ in seen]
            bad = [t * 1000 for c, t in seen if c == 400]
            rows.append({"operation": f"{op.method.upper()} {op.path}", "cases": len(seen),
                         "5xx": sum(c >= 500 for c in codes), "400": codes.count(400),
                         "other_4xx": sum(400 < c < 500 for c in codes), "2xx": sum(200 <= c < 300 for c in codes),
                         "p50_400_ms": round(statistics.median(bad), 2) if bad else None})
    return {"examples_per_operation": examples, "operations": rows, "load_avg": os.getloadavg(),
            "cases": sum(r["cases"] for r in rows), "5xx": sum(r["5xx"] for r in rows)}


def markdown(res: dict) -> str:
    lines = ["# Server fuzz (schemathesis against /openapi.json)", "",
             f"{res['cases']} cases, **{res['5xx']} answered 5xx** (target 0); load avg {res['load_avg'][0]:.1f}.", "",
             "| operation | cases | 5xx | 400 | other 4xx | 2xx | p50 of a 400 (ms) |", "|---|---:|---:|---:|---:|---:|---:|"]
    for r in res["operations"]:
        lines.append(f"| {r['operation']} | {r['cases']} | {r['5xx']} | {r['400']} | {r['other_4xx']} | {r['2xx']} | "
                     f"{r['p50_400_ms'] if r['p50_400_ms'] is not None else '-'} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--examples", type=int, default=500)
    ap.add_argument("--out", default="bench/results")
    args = ap.parse_args()
    res = fuzz(args.examples)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "hardening_fuzz.json").write_text(json.dumps(res, indent=2) + "\n")
    (out / "hardening_fuzz.md").write_text(markdown(res))
    print(markdown(res))


if __name__ == "__main__":
    main()
