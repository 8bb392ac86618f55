from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lingxi.cli.kb import app
from lingxi.errors import StoreError

runner = CliRunner()


def run(*args: str) -> str:
    result = runner.invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_cli_round_trip(tmp_path: Path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# 退货政策\n\n收到商品七天内可以无理由退货。", encoding="utf-8")
    (docs / "b.txt").write_text("Shipping takes three to five business days.", encoding="utf-8")
    assert json.loads(run("create", "shop", "--json"))["model_id"].startswith("intfloat/multilingual-e5-small")
    report = json.loads(run("ingest", "shop", str(docs), "--wait", "--json"))
    assert len(report["added"]) == 2 and report["embedding"]["embedded"] == report["chunks"]
    hits = json.loads(run("search", "shop", "怎么退货", "--k", "2", "--json"))
    assert hits[0]["source"].endswith("a.md") and hits[0]["headings"] == ["退货政策"]
    assert {"keyword", "vector"} <= hits[0]["scores"].keys() and "无理由退货" in hits[0]["text"]
    text = run("search", "shop", "how long is shipping")
    assert "b.txt" in text.splitlines()[0] and "vector=" in text
    assert [r["name"] for r in json.loads(run("ls", "--json"))] == ["shop"]
    assert json.loads(run("info", "shop", "--json"))["chunks"] == report["chunks"]
    exported = [json.loads(line) for line in run("export", "shop").splitlines()]
    assert len(exported) == report["chunks"]
    assert json.loads(run("rm", "shop", "--json")) == {"removed": "shop"}
    with pytest.raises(StoreError, match="No knowledge base named 'shop'"):
        runner.invoke(app, ["info", "shop"], catch_exceptions=False)


def test_cli_ingest_without_wait_starts_background_worker(tmp_path: Path):
    import time

    docs = tmp_path / "d"
    docs.mkdir()
    (docs / "x.txt").write_text("后台嵌入测试的内容。", encoding="utf-8")
    run("create", "bg")
    report = json.loads(run("ingest", "bg", str(docs), "--json"))
    assert report["pending_embeddings"] == 1 and report["embedding_worker_pid"]
    assert json.loads(run("search", "bg", "后台嵌入", "--json"))[0]["source"].endswith("x.txt")  # keyword at once
    deadline = time.time() + 60
    while time.time() < deadline and json.loads(run("info", "bg", "--json"))["pending"]:
        time.sleep(0.2)
    assert json.loads(run("info", "bg", "--json"))["embedded"] == 1
