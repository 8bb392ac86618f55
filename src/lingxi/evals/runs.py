"""Evaluation runs in the home database (table ``eval_runs``), their reports, and run comparison.

    run_id = save_run("qa", {"em": 61.2, "f1": 80.3}, model="qwen2.5-1.5b", dataset="cmrc2018")
    compare_runs(3, 5)        # metric, a, b, delta for the metrics both runs have
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lingxi.config import Settings
from lingxi.errors import ConfigError


def numeric_metrics(metrics: dict[str, Any]) -> dict[str, float]:
    """The top-level numbers of a result (lists, dicts and booleans left out)."""
    return {k: float(v) for k, v in metrics.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)}


def _connect(settings: Settings | None) -> Any:
    from lingxi.db import connect

    return connect(settings)


def save_run(kind: str, metrics: dict[str, Any], *, name: str | None = None, model: str | None = None,
             dataset: str | None = None, config: dict[str, Any] | None = None,
             details: Sequence[Any] | None = None, settings: Settings | None = None) -> int:
    """Store a run; return its id. `metrics` keeps its numbers, `details` the per-item results."""
    conn = _connect(settings)
    try:
        cur = conn.execute(
            "INSERT INTO eval_runs (created_at, kind, name, model, dataset, metrics, config, details) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (time.time(), kind, name, model, dataset, json.dumps(numeric_metrics(metrics)),
             json.dumps(config or {}, ensure_ascii=False, default=str),
             json.dumps(list(details or []), ensure_ascii=False, default=str)),
        )
        return int(cur.lastrowid)
    finally:
        conn.close()


def _row(row: Any, with_details: bool) -> dict[str, Any]:
    out = {"id": row["id"], "created_at": row["created_at"], "kind": row["kind"], "name": row["name"],
           "model": row["model"], "dataset": row["dataset"], "metrics": json.loads(row["metrics"]),
           "config": json.loads(row["config"])}
    if with_details:
        out["details"] = json.loads(row["details"])
    return out


def load_run(ref: int | str, settings: Settings | None = None, with_details: bool = False) -> dict[str, Any]:
    """A run by id, or the latest run with that name."""
    conn = _connect(settings)
    try:
        if str(ref).isdigit():
            row = conn.execute("SELECT * FROM eval_runs WHERE id = ?", (int(ref),)).fetchone()
        else:
            row = conn.execute("SELECT * FROM eval_runs WHERE name = ? ORDER BY id DESC LIMIT 1", (str(ref),)).fetchone()
    finally:
        conn.close()
    if row is None:
        raise ConfigError(f"There is no evaluation run '{ref}'.", "list the runs with: lingxi eval runs")
    return _row(row, with_details)


def list_runs(kind: str | None = None, limit: int = 50, settings: Settings | None = None) -> list[dict[str, Any]]:
    conn = _connect(settings)
    try:
        sql, args = "SELECT * FROM eval_runs", []
        if kind:
            sql, args = sql + " WHERE kind = ?", [kind]
        rows = conn.execute(sql + " ORDER BY id DESC LIMIT ?", (*args, limit)).fetchall()
    finally:
        conn.close()
    return [_row(r, False) for r in rows]


def compare_runs(a: int | str, b: int | str, settings: Settings | None = None) -> dict[str, Any]:
    """Metric by metric: a, b and b - a (for the metrics either run has)."""
    ra, rb = load_run(a, settings), load_run(b, settings)
    if ra["kind"] != rb["kind"]:
        note = f"run {ra['id']} is {ra['kind']} and run {rb['id']} is {rb['kind']}; only shared metrics compare"
    else:
        note = ""
    names = sorted(set(ra["metrics"]) | set(rb["metrics"]))
    rows = []
    for m in names:
        va, vb = ra["metrics"].get(m), rb["metrics"].get(m)
        rows.append({"metric": m, "a": va, "b": vb, "delta": None if va is None or vb is None else vb - va})
    return {"a": {k: ra[k] for k in ("id", "kind", "name", "model", "dataset")},
            "b": {k: rb[k] for k in ("id", "kind", "name", "model", "dataset")}, "rows": rows, "note": note}


def _fmt(v: float | None) -> str:
    return "—" if v is None else f"{v:.4g}"


def comparison_markdown(cmp: dict[str, Any]) -> str:
    a, b = cmp["a"], cmp["b"]
    label = lambda r: f"#{r['id']} {r['name'] or r['kind']} ({r['model'] or '-'})"  # noqa: E731
    lines = [f"## Run {label(a)} vs {label(b)}", "", "| metric | A | B | B − A |", "| --- | ---: | ---: | ---: |"]
    for r in cmp["rows"]:
        delta = "—" if r["delta"] is None else f"{r['delta']:+.4g}"
        lines.append(f"| {r['metric']} | {_fmt(r['a'])} | {_fmt(r['b'])} | {delta} |")
    if cmp["note"]:
        lines += ["", f"_{cmp['note']}_"]
    return "\n".join(lines) + "\n"


def run_markdown(run: dict[str, Any], image: str | None = None) -> str:
    lines = [f"## Evaluation run #{run['id']}: {run['kind']}", ""]
    for key in ("name", "model", "dataset"):
        if run.get(key):
            lines.append(f"- {key}: {run[key]}")
    lines += ["", "| metric | value |", "| --- | ---: |"]
    lines += [f"| {k} | {_fmt(v)} |" for k, v in run["metrics"].items()]
    if image:
        lines += ["", f"![metrics]({image})"]
    return "\n".join(lines) + "\n"


def _chartable(metrics: dict[str, float]) -> dict[str, float]:
    """Metrics on a shared 0-1 or 0-100 scale are charted; counts are not."""
    skip = ("queries", "n", "total", "skip", "folds")
    return {k: v for k, v in metrics.items() if k not in skip and not k.endswith(("_unreadable", "_s"))}


def write_run_report(run: dict[str, Any], folder: str | Path) -> dict[str, str]:
    from lingxi.evals.charts import bars_png

    folder = Path(folder)
    png = bars_png({f"#{run['id']}": _chartable(run["metrics"])}, folder / f"run_{run['id']}.png",
                   title=f"{run['kind']} run #{run['id']}")
    md = folder / f"run_{run['id']}.md"
    md.write_text(run_markdown(run, png.name), encoding="utf-8")
    return {"markdown": str(md), "png": str(png)}


def write_comparison(cmp: dict[str, Any], folder: str | Path) -> dict[str, str]:
    from lingxi.evals.charts import bars_png

    folder = Path(folder)
    stem = f"compare_{cmp['a']['id']}_{cmp['b']['id']}"
    series = {f"A #{cmp['a']['id']}": {}, f"B #{cmp['b']['id']}": {}}
    for r in cmp["rows"]:
        if r["metric"] in _chartable({r["metric"]: 0.0}):
            series[f"A #{cmp['a']['id']}"][r["metric"]] = r["a"] or 0.0
            series[f"B #{cmp['b']['id']}"][r["metric"]] = r["b"] or 0.0
    png = bars_png(series, folder / f"{stem}.png", title="A vs B")
    md = folder / f"{stem}.md"
    md.write_text(comparison_markdown(cmp) + f"\n![A vs B]({png.name})\n", encoding="utf-8")
    return {"markdown": str(md), "png": str(png)}
