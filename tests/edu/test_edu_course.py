"""Courses, students and the administrator's coverage report, through the CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lingxi.cli import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_the_sample_course_ships_lessons_in_md_and_docx_and_a_syllabus_with_ten_objectives():
    from lingxi.apps.edu import SAMPLE_MATERIALS, SAMPLE_SYLLABUS, read_syllabus
    from lingxi.knowledge import load_file

    kinds = sorted(p.suffix for p in SAMPLE_MATERIALS.iterdir())
    assert kinds.count(".md") >= 3 and ".docx" in kinds
    objectives = read_syllabus(SAMPLE_SYLLABUS)
    assert len(objectives) == 10 and objectives[0].id == "L1" and objectives[0].subject == "物理"
    docx = next(SAMPLE_MATERIALS.glob("*.docx"))
    assert "折射角小于入射角" in "".join(d.text for d in load_file(docx))


def test_course_list_show_and_students(capsys, course):
    code, out, _ = run(capsys, "edu", "course", "list", "--json")
    assert code == 0
    row = next(r for r in json.loads(out) if r["name"] == "light")
    assert row["objectives"] == 10 and row["students"] >= 2
    code, out, _ = run(capsys, "edu", "course", "show", "light", "--json")
    shown = json.loads(out)
    assert shown["kb"] == "edu-light" and {s["name"] for s in shown["students"]} >= {"小明", "小红"}
    code, out, _ = run(capsys, "edu", "student", "add", "小刚", "--course", "light", "--class", "初二(1)班", "--json")
    assert code == 0 and json.loads(out)["class"] == "初二(1)班"
    code, out, _ = run(capsys, "edu", "student", "list", "--course", "light", "--json")
    assert "小刚" in {s["name"] for s in json.loads(out)}


def test_errors_are_sentences_with_a_hint(capsys, tmp_path):
    code, _, err = run(capsys, "edu", "course", "show", "nope")
    assert code != 0 and "No course named 'nope'" in err and "hint:" in err
    code, _, err = run(capsys, "edu", "course", "create", "x", "--materials", str(tmp_path / "missing"))
    assert code != 0 and "does not exist" in err
    code, _, err = run(capsys, "edu", "student", "add", "小明", "--course", "nope")
    assert code != 0 and "No course named" in err


def test_coverage_finds_the_uncovered_objective_and_cites_the_rest(capsys, tmp_path):
    code, out, _ = run(capsys, "edu", "coverage", "light", "--json", "--out", str(tmp_path))
    assert code == 0
    doc = json.loads(out)
    status = {o["id"]: o["status"] for o in doc["objectives"]}
    assert status["L10"] == "missing"  # dispersion: no lesson covers it
    covered = [o for o in doc["objectives"] if o["status"] == "covered"]
    assert len(covered) >= 6, status
    for o in covered:
        assert o["citations"] and all(c["file"] and c["quote"] for c in o["citations"])
    refraction = next(o for o in doc["objectives"] if o["id"] == "L8")
    assert refraction["status"] != "missing" and refraction["citations"][0]["file"].endswith(".docx")
    assert 0.5 < doc["coverage"] < 1.0
    assert len(doc["matrix"]) == 10 and len(doc["matrix"][0]) == len(doc["materials"]) == 4
    for key in ("png", "markdown", "html"):
        assert Path(doc["files"][key]).stat().st_size > 500
    assert "缺失 missing" in Path(doc["files"]["markdown"]).read_text(encoding="utf-8")


def test_the_heatmap_uses_a_cjk_font_where_the_machine_has_one():
    import shutil
    import subprocess

    from lingxi.evals.charts import cjk_font

    fc = shutil.which("fc-list")
    families = subprocess.run([fc, ":", "family"], capture_output=True, text=True).stdout if fc else ""
    if "Noto Sans CJK SC" not in families:
        pytest.skip("no Noto Sans CJK font on this machine (Debian: apt-get install fonts-noto-cjk)")
    assert cjk_font() == "Noto Sans CJK SC"


def test_every_course_and_key_command_answers_json(capsys, tmp_path):
    (tmp_path / "a.md").write_text("# 声音\n\n声音是由物体的振动产生的。", encoding="utf-8")
    code, out, _ = run(capsys, "edu", "course", "create", "json-check", "--materials", str(tmp_path), "--json")
    assert code == 0 and json.loads(out)["name"] == "json-check"
    code, out, _ = run(capsys, "edu", "course", "set", "json-check", "socratic", "false", "--json")
    assert code == 0 and json.loads(out)["settings"]["socratic"] is False
    code, out, _ = run(capsys, "edu", "key", "create", "json-key", "--role", "teacher", "--json")
    made = json.loads(out)
    assert code == 0 and made["role"] == "teacher" and made["key"].startswith("lx-")
    code, out, _ = run(capsys, "edu", "key", "grant", str(made["id"]), "--role", "admin", "--json")
    assert code == 0 and json.loads(out) == {"key_id": made["id"], "role": "admin", "student": None}
    code, _, err = run(capsys, "edu", "course", "rm", "json-check", "--json")
    assert code != 0 and "--yes" in err
    code, out, _ = run(capsys, "edu", "course", "rm", "json-check", "--yes", "--json")
    assert code == 0 and json.loads(out) == {"removed": "json-check"}
