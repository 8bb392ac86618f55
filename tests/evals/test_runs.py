"""Runs stored in the home database, reports and comparison."""

from __future__ import annotations

import pytest

from lingxi.db import connect, version
from lingxi.errors import ConfigError
from lingxi.evals.runs import (compare_runs, comparison_markdown, list_runs, load_run, save_run, write_comparison,
                               write_run_report)


def test_save_load_list_compare(tmp_path):
    a = save_run("qa", {"em": 50.0, "f1": 70.0, "lang": "zh", "items": [1]}, name="base", model="m1",
                 details=[{"id": "q1", "em": 1.0}])
    b = save_run("qa", {"em": 55.0, "f1": 68.0}, name="tuned", model="m2")
    run = load_run(a, with_details=True)
    assert run["metrics"] == {"em": 50.0, "f1": 70.0} and run["details"] == [{"id": "q1", "em": 1.0}]
    assert load_run("tuned")["id"] == b
    assert [r["id"] for r in list_runs("qa")] == [b, a]
    cmp = compare_runs(a, b)
    deltas = {r["metric"]: r["delta"] for r in cmp["rows"]}
    assert deltas == {"em": pytest.approx(5.0), "f1": pytest.approx(-2.0)}
    assert "| em | 50 | 55 | +5 |" in comparison_markdown(cmp)
    files = write_comparison(cmp, tmp_path)
    assert open(files["png"], "rb").read(4) == b"\x89PNG"
    rep = write_run_report(run, tmp_path)
    assert "| f1 | 70 |" in open(rep["markdown"], encoding="utf-8").read()
    with pytest.raises(ConfigError, match="lingxi eval runs"):
        load_run(999)
    with connect() as conn:
        assert version(conn) >= 4
