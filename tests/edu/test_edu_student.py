"""The student's side on the sample course: the Socratic tutor, its memory, the gap report, and PAL solving."""

from __future__ import annotations

import json

import pytest

from lingxi.cli import main
from lingxi.models.scripted import ScriptedChat

SPEED = "光在真空中的传播速度约为 3×10^8 米每秒[1]。"
PROGRAM = "```python\ndef solution():\n    cut = 6\n    total = cut / (2 / 5)\n    left = total - cut\n    return left\n```"
CLOTH = "一段布剪去6米，正好剪去这段布的(2/5)，这段布还剩多少米？"


def test_the_tutor_asks_then_hints_then_explains_with_citations(capsys):
    question = "光在真空中的传播速度是多少？"
    turns = []
    for _ in range(3):
        assert main(["edu", "tutor", "light", "--student", "小明", "--message", question, "--model", f"scripted:{SPEED}", "--json"]) == 0
        turns.append(json.loads(capsys.readouterr().out))
    assert [t["hint_level"] for t in turns] == [1, 2, 3]
    first, second, third = turns
    assert "____" in first["text"] and "3×10^8" not in first["text"] and first["answer"] is None
    assert "提示" in second["text"] and "3×10^8 米每秒" not in second["text"]
    assert "3×10^8" in third["text"] and third["citations"][0]["source"].endswith("01-光的直线传播.md")
    assert first["practice"] and all(p["id"] for p in first["practice"])  # what to practise next


def test_the_tutor_remembers_each_student_across_sessions(course):
    from lingxi.apps.edu.tutor import session_name
    from lingxi.memory import Session

    from lingxi.apps.edu.tutor import tutor_turn

    tutor_turn(course, "小红", "平面镜成像的特点是什么？", model=ScriptedChat(default="物体在平面镜中成的是虚像[1]。"))
    s = Session.open(session_name(course, "小红"))
    assert s.memory.kind == "entity" and any("平面镜" in m["content"] for m in s.messages())
    assert not any("平面镜成像" in m["content"] for m in Session.open(session_name(course, "小明")).messages())


def test_an_unanswerable_question_abstains_and_reaches_the_gap_report(course):
    from lingxi.apps.edu.coverage import gap_report
    from lingxi.apps.edu.tutor import tutor_turn

    t = tutor_turn(course, "小红", "光合作用需要哪些原料和条件？", model=ScriptedChat(default="植物需要二氧化碳和水[1]。"))
    assert t["abstained"] and not t["citations"]
    gaps = gap_report(course)
    assert "光合作用需要哪些原料和条件？" in gaps["questions"]
    assert any("光合作用需要哪些原料和条件？" in c["examples"] for c in gaps["clusters"])


def test_solve_runs_the_program_in_the_sandbox_and_shows_its_steps(capsys):
    assert main(["edu", "solve", CLOTH, "--model", f"scripted:{PROGRAM}", "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["answer"] == "9" and s["checked"] and "def solution" in s["program"]
    assert "total = 15.0" in s["steps"] and s["steps"][-1] == "答案 = 9"


def test_the_homework_policy_leaves_the_last_step_to_the_student(course):
    from lingxi.apps.edu.tutor import tutor_turn

    t = tutor_turn(course, "小明", CLOTH, model=ScriptedChat(default=PROGRAM))
    assert t["kind"] == "math" and t["solution"]["answer"] is None and "最后一步" in t["text"]
    assert "left = 9" not in t["text"] and "cut = 6" in t["text"]


@pytest.mark.parametrize(("raw", "want"), [(9.0, "9"), ("((3)/(4))", "0.75"), ("10%", "0.1"), ("(1/3)", "1/3"),
                                           ("22.608", "22.608"), ("9米", "9"), (0.1 + 0.2, "0.3")])
def test_answers_are_normalised(raw, want):
    from lingxi.apps.edu.solve import normalize, same

    assert normalize(raw) == want
    assert same(raw, want)
    assert not same("9", "10")


def test_solve_refuses_a_program_whose_answer_is_not_a_number(capsys):
    program = "```python\ndef solution():\n    return [15, 0]\n```"
    assert main(["edu", "solve", CLOTH, "--model", f"scripted:{program}", "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["answer"] is None and not s["checked"] and "not a number" in s["error"]


def test_the_tutor_keeps_its_memory_in_the_servers_home(course, edu_home, tmp_path, monkeypatch):
    """A server runs edu requests inside `courses.home(its settings)`: the tutor's session goes to that
    home's database, not to the environment's (LINGXI_HOME points elsewhere here)."""
    from lingxi.apps.edu.courses import home
    from lingxi.apps.edu.tutor import session_name, tutor_turn
    from lingxi.config import Settings
    from lingxi.memory import Session

    served = Settings(home=edu_home)
    monkeypatch.setenv("LINGXI_HOME", str(tmp_path / "elsewhere"))
    with home(served):
        tutor_turn(course, "小红", "光的反射定律是什么？", model=ScriptedChat(default="反射角等于入射角[1]。"))
    name = session_name(course, "小红")
    assert any("反射定律" in m["content"] for m in Session.open(name, settings=served).messages())
    assert name not in Session.names(Settings(home=tmp_path / "elsewhere"))
