"""Issue 13, sandbox: the escape suite contained as root and as uid 65534, and start-up cost per run,
for this sandbox and the one before it (the sandbox.py/_runner.py of the commit before _seccomp.py
was added), side by side in one run.

    .venv/bin/python bench/hardening_sandbox.py [--reps 30] [--before REV] [--out bench/results]

Needs root (the non-root runs go through `setpriv --reuid=65534 --regid=65534 --clear-groups`, see
tests/security/sandbox_attacks.py). Writes hardening_sandbox.json and .md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "security"))
import sandbox_attacks as sa  # noqa: E402

TIMER = """import json, sys, time
sys.path.insert(0, {path!r})
import sandbox_attacks as sa
mod = sa.load_impl({impl!r})
box = mod.Sandbox(mod.SandboxLimits(timeout_s=5))
box.run("1")
out = []
for _ in range({reps}):
    t = time.perf_counter()
    r = box.run("1")
    out.append(time.perf_counter() - t)
    assert r.ok, r.error
print(json.dumps(out))
"""


def before_copy(rev: str | None) -> tuple[str, str]:
    """The previous sandbox (sandbox.py + _runner.py) in a folder every user can read."""
    if rev is None:
        added = subprocess.run(["git", "log", "--diff-filter=A", "--format=%H", "--", "src/lingxi/agents/_seccomp.py"],
                               cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
        rev = f"{added[-1]}~1"
    folder = Path(tempfile.mkdtemp(prefix="sbx-before-"))
    folder.chmod(0o755)
    for name in ("sandbox.py", "_runner.py"):
        src = subprocess.run(["git", "show", f"{rev}:src/lingxi/agents/{name}"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout
        (folder / name).write_text(src)
        (folder / name).chmod(0o644)
    rev_id = subprocess.run(["git", "rev-parse", "--short", rev], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    return f"old:{folder / 'sandbox.py'}", rev_id


def escape_suite(impl: str, who: str) -> dict[str, Any]:
    targets = sa.Targets()
    started = time.perf_counter()
    try:
        obs = sa.run_suite(targets.spec, impl) if who == "root" else sa.suite_as_nobody(targets, impl)
        obs = targets.judge(obs)
    finally:
        targets.close()
    return {"attempts": len(obs), "contained": sum(o["contained"] for o in obs.values()),
            "escaped": sorted(n for n, o in obs.items() if not o["contained"]),
            "seconds": round(time.perf_counter() - started, 1),
            "by_attack": {n: {"contained": o["contained"], "wall_s": o["wall_s"], "error": o.get("error"),
                              "host_error": o.get("host_error"), "leftover": o.get("leftover")} for n, o in obs.items()}}


def startup(impl: str, who: str, reps: int) -> dict[str, Any]:
    code = TIMER.format(path=str(ROOT / "tests" / "security"), impl=impl, reps=reps)
    if who == "root":
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    else:
        proc = sa.run_as_nobody([sys.executable, "-c", code], timeout=600)
    if proc.returncode != 0:
        return {"error": proc.stderr[-500:]}
    times = json.loads(proc.stdout.strip().splitlines()[-1])
    return {"n": len(times), "p50_ms": _ms(_pct(times, 50)), "p95_ms": _ms(_pct(times, 95))}


def bare_python(reps: int) -> dict[str, Any]:
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-I", "-c", "pass"], check=True)
        times.append(time.perf_counter() - t)
    return {"n": reps, "p50_ms": _ms(_pct(times, 50)), "p95_ms": _ms(_pct(times, 95))}


def _pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if len(values) > 1 else values[0]


def _ms(s: float) -> float:
    return round(s * 1000, 1)


def markdown(res: dict[str, Any]) -> str:
    rows = ["| sandbox | user | attempts contained | escaped | start-up p50 | start-up p95 |",
            "| --- | --- | --- | --- | --- | --- |"]
    for key in ("after", "before"):
        for who in ("root", "nobody"):
            e, s = res[key]["escapes"][who], res[key]["startup"][who]
            rows.append(f"| {res[key]['label']} | {'root' if who == 'root' else 'uid 65534'} | "
                        f"{e['contained']}/{e['attempts']} | {', '.join(e['escaped']) or '—'} | "
                        f"{s.get('p50_ms', '—')} ms | {s.get('p95_ms', '—')} ms |")
    b = res["bare_python"]
    return "\n".join([
        "# Sandbox hardening (issue 13, items 1-4)", "",
        f"{res['machine']}; {res['date']}; 1-minute load average {res['load_before']:.1f} at the start and "
        f"{res['load_after']:.1f} at the end (other work shares the 2 cores: the times are side by side, not "
        "absolute). Escape suite: tests/security/sandbox_attacks.py "
        f"({res['after']['escapes']['root']['attempts']} attempts; the before sandbox skips the 2 that stop or kill "
        "its own host process). Start-up: `Sandbox().run('1')`, "
        f"{res['reps']} runs after one warm-up; bare `python -I -c pass`: p50 {b['p50_ms']} ms, p95 {b['p95_ms']} ms.",
        "", *rows, "",
        f"After: {res['after']['isolation']}.", ""])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=30)
    ap.add_argument("--before", default=None, help="git revision of the previous sandbox")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results"))
    args = ap.parse_args()
    if not sa.have_root():
        sys.exit("run this as root with bwrap and setpriv installed: it measures the non-root sandbox through setpriv")
    old, rev = before_copy(args.before)
    from lingxi.agents.sandbox import Sandbox

    res: dict[str, Any] = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, Linux {platform.release()}",
                           "date": time.strftime("%Y-%m-%d"), "reps": args.reps, "load_before": os.getloadavg()[0],
                           "bare_python": bare_python(args.reps)}
    for key, impl, label in (("after", "new", "this branch (bwrap + seccomp)"), ("before", old, f"before ({rev})")):
        res[key] = {"label": label, "escapes": {}, "startup": {}}
        for who in ("root", "nobody"):
            res[key]["escapes"][who] = escape_suite(impl, who)
            res[key]["startup"][who] = startup(impl, who, args.reps)
            print(key, who, res[key]["escapes"][who]["contained"], "/", res[key]["escapes"][who]["attempts"],
                  res[key]["startup"][who], flush=True)
    res["after"]["isolation"] = Sandbox().run("1").isolation
    res["load_after"] = os.getloadavg()[0]
    shutil.rmtree(Path(old.split(":", 1)[1]).parent, ignore_errors=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "hardening_sandbox.json").write_text(json.dumps(res, indent=2, ensure_ascii=False, default=repr) + "\n")
    (out / "hardening_sandbox.md").write_text(markdown(res))
    print(markdown(res))


if __name__ == "__main__":
    main()
