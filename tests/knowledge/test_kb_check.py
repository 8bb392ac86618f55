"""`lingxi kb check NAME [--repair] [--json]` (hardening #13.5): duplicates, orphans, mixed versions and
missing vectors are found, and repaired, through the CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from lingxi.cli import main
from lingxi.knowledge.kb import KnowledgeBase


def _cli(capsys, *args: str) -> tuple[int, dict]:
    capsys.readouterr()
    rc = main(["kb", "check", *args])
    return rc, json.loads(capsys.readouterr().out)


def test_kb_check_finds_and_repairs_planted_damage(tmp_path: Path, bag, capsys):
    from lingxi.registry import default_registry

    default_registry().add("embedding", "bag", type(bag), replace=True)
    docs = tmp_path / "docs"
    docs.mkdir()
    for n in range(4):
        (docs / f"f{n}.txt").write_text(f"File {n} tells about topic {n}.", encoding="utf-8")
    kb = KnowledgeBase.create("dmg", embedding="bag")
    kb.ingest(docs)
    rc, clean = _cli(capsys, "dmg", "--json")
    assert rc == 0 and clean["ok"] and clean["chunks"] == 4
    table = kb.store.table
    rows = table.search().limit(None).to_list()
    by_source = {Path(r["source"]).name: r for r in rows}
    table.add([{k: v for k, v in by_source["f0.txt"].items() if not k.startswith("_")}])  # a duplicate id
    (docs / "f1.txt").unlink()  # its chunks are now orphans
    stale = dict(by_source["f2.txt"], id="stale-version", file_hash="0" * 32)  # an older version of f2
    table.add([{k: v for k, v in stale.items() if not k.startswith("_")}])
    table.update(where=f"id = '{by_source['f3.txt']['id']}'", values={"vector": np.zeros(bag.dim).tolist()})
    summary = dict(by_source["f0.txt"], id="lost-summary", kind="summary", metadata=json.dumps({"children": ["gone"]}))
    table.add([{k: v for k, v in summary.items() if not k.startswith("_")}])

    rc, found = _cli(capsys, "dmg", "--json")
    assert rc == 1 and not found["ok"]
    assert found["duplicate_ids"] == {by_source["f0.txt"]["id"]: 2}
    assert [Path(s).name for s in found["orphan_sources"]] == ["f1.txt"] and found["orphan_chunks"] == 1
    assert [Path(s).name for s in found["mixed_sources"]] == ["f2.txt"]
    assert found["missing_vectors"] == [by_source["f3.txt"]["id"]] and found["orphan_summaries"] == ["lost-summary"]

    rc, fixed = _cli(capsys, "dmg", "--repair", "--json")
    assert rc == 0 and fixed["repaired"] == {"duplicate_rows_removed": 1, "orphan_chunks_removed": 3,
                                             "orphan_summaries_removed": 1, "vectors_queued": 1}  # fmt: skip
    kb = KnowledgeBase.open("dmg")
    kb.embed_pending()  # what the background worker started by --repair does
    rc, after = _cli(capsys, "dmg", "--json")
    assert rc == 0 and after["ok"] and after["chunks"] == 2 and after["pending"] == 0
    report = kb.ingest(docs)  # the next ingest reads the mixed-up file afresh
    assert [Path(s).name for s in report.added] == ["f2.txt"] and report.unchanged == 2
    assert _cli(capsys, "dmg", "--json")[1]["ok"]


def test_kb_check_text_output_names_the_fix(tmp_path: Path, bag, capsys):
    from lingxi.registry import default_registry

    default_registry().add("embedding", "bag", type(bag), replace=True)
    docs = tmp_path / "d"
    docs.mkdir()
    (docs / "a.txt").write_text("alpha", encoding="utf-8")
    KnowledgeBase.create("txt", embedding="bag").ingest(docs)
    (docs / "a.txt").unlink()
    capsys.readouterr()
    assert main(["kb", "check", "txt"]) == 1
    out = capsys.readouterr().out
    assert "found 1 removed files still indexed (1 chunks)" in out and "lingxi kb check txt --repair" in out
