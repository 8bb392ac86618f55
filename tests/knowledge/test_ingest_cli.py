"""`lingxi kb ingest` as a newcomer meets it (newcomer issue #19.3): a failed or empty ingest exits non-zero
with a hint, a missing path is called a path, a fake PDF is one clean line, and rates are sane."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lingxi.cli import main
from lingxi.knowledge.kb import KnowledgeBase


@pytest.fixture
def kb(bag):
    from lingxi.registry import default_registry

    default_registry().add("embedding", "bag", type(bag), replace=True)
    return KnowledgeBase.create("new", embedding="bag")


def test_missing_path_is_named_a_path_not_a_folder(kb, tmp_path, capsys):
    missing = tmp_path / "nonexistent.txt"
    assert main(["kb", "ingest", "new", str(missing)]) == 1
    err = capsys.readouterr().err
    assert f"The path '{missing}' does not exist." in err and "The folder" not in err and "hint:" in err


def test_empty_folder_exits_1_with_a_hint(kb, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.xyz").write_text("an unsupported type")
    assert main(["kb", "ingest", "new", str(tmp_path / "empty")]) == 1
    err = capsys.readouterr().err
    assert "no files to ingest under" in err and "--include" in err


def test_every_file_failing_exits_1_and_a_fake_pdf_is_one_clean_line(kb, tmp_path, capfd):
    d = tmp_path / "bad"
    d.mkdir()
    (d / "fake.pdf").write_text("this is not a pdf")
    (d / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj garbage")  # a header, then nothing pypdf can read
    assert main(["kb", "ingest", "new", str(d)]) == 1
    err = capfd.readouterr().err
    failed = [line for line in err.splitlines() if line.startswith("failed: ")]
    assert len(failed) == 2 and all("PDF" in line for line in failed)
    assert "none of the 2 files could be ingested" in err and "hint:" in err
    assert "invalid pdf header" not in err.lower() and "EOF marker" not in err and "Traceback" not in err


def test_instant_work_shows_no_absurd_rate(kb, tmp_path, capsys):
    from lingxi.cli.kb import rate_text
    from lingxi.knowledge.ingest import IngestReport

    assert rate_text(3, 1e-6) == "" and rate_text(30, 2.0) == "15.0/s"
    assert IngestReport(chunks=3, seconds=1e-5).chunks_per_s is None
    (tmp_path / "one.txt").write_text("One small file.")
    assert main(["kb", "ingest", "new", str(tmp_path / "one.txt"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["chunks"] == 1 and (data["chunks_per_s"] is None or data["chunks_per_s"] < 10_000)
    assert Path(data["added"][0]).name == "one.txt"
