"""The teacher's tools on the sample course: reviewed quizzes, grading, verified lesson plans."""

from __future__ import annotations

import json

import pytest

from lingxi.cli import main
from lingxi.models.scripted import ScriptedChat

WRONG = {"question": "光在真空中的传播速度约为多少？", "answer": "100 米每秒", "explanation": "光在真空中的传播速度约为 100 米每秒。"}
RIGHT = {"question": "光在真空中的传播速度约为多少？", "answer": "3×10^8 米每秒",
         "explanation": "光在真空中的传播速度约为 3×10^8 米每秒。"}


@pytest.fixture(scope="module")
def quiz_doc(edu_home):
    """A quiz built without a model (the extraction fallback), shared by the grading tests."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LINGXI_HOME", str(edu_home))
        from lingxi.apps.edu.courses import open_course
        from lingxi.apps.edu.quiz import make_quiz

        return make_quiz(open_course("light"), n=6, use_model=False).to_dict()


def test_the_reviewer_rejects_a_wrong_key_and_the_regenerated_question_is_accepted(course):
    from lingxi.apps.edu.quiz import make_quiz

    model = ScriptedChat([json.dumps(WRONG, ensure_ascii=False), json.dumps(RIGHT, ensure_ascii=False)], default="{}")
    quiz = make_quiz(course, topic="光在真空中的传播速度", n=1, kinds=["short"], model=model)
    q = quiz.questions[0]
    assert q["answer"] == "3×10^8 米每秒" and q["origin"] == "model"
    assert quiz.stats["rejected"] == 1 and quiz.stats["regenerated"] == 1
    rejected = q["review"]["attempts"][0]
    assert rejected["question"] == WRONG["question"] and "not supported" in " ".join(rejected["problems"])
    assert "审核退回" in model.calls[1]["messages"][-1].content  # the reviewer's reasons went back to the generator
    assert q["source"]["file"].startswith("01-") and q["review"]["checks"]["supported"]


def test_the_reviewer_checks_each_rule(course):
    from lingxi.apps.edu.evidence import passages
    from lingxi.apps.edu.review import review

    src = passages(course.kb(), "镜面反射和漫反射", k=1)[0]
    stem = "我们能从不同方向看到黑板上的字，是因为光在黑板表面发生了____。"
    good = {"kind": "mc", "question": stem, "options": ["漫反射", "折射", "色散"], "answer": "漫反射",
            "explanation": "我们能从不同方向看到黑板上的字，是因为光在黑板表面发生了漫反射。"}
    assert review(good, src, course.kb())["ok"]
    two_right = dict(good, options=["漫反射", "反射", "色散"])  # 反射 is stated by the evidence sentence too
    assert not review(two_right, src, course.kb())["checks"]["one_right"]
    leak = dict(good, kind="short", options=[], question="漫反射：我们能从不同方向看到黑板上的字，是因为发生了什么？")
    assert not review(leak, src, course.kb())["checks"]["no_leak"]
    assert not review(good, src, course.kb(), accepted=[good])["checks"]["unique"]
    false_tf = {"kind": "truefalse", "question": "判断对错：镜面反射不遵守光的反射定律。", "options": ["正确", "错误"],
                "answer": "正确", "explanation": "镜面反射和漫反射都遵守光的反射定律。"}
    assert not review(false_tf, src, course.kb())["checks"]["one_right"]


def test_extracted_questions_are_all_reviewed_and_cite_their_passage(quiz_doc):
    qs = quiz_doc["questions"]
    assert len(qs) == 6 and {q["kind"] for q in qs} == {"mc", "short", "truefalse"}
    for q in qs:
        assert q["review"]["ok"] and q["origin"] == "extractive"
        assert q["source"]["file"] and q["source"]["quote"]
        if q["kind"] == "mc":
            assert q["answer"] in q["options"] and len(set(q["options"])) == len(q["options"])
    assert len({q["question"] for q in qs}) == len(qs)


def test_grading_gives_feedback_with_the_passage_and_updates_mastery(capsys, tmp_path, quiz_doc):
    quiz = tmp_path / "quiz.json"
    quiz.write_text(json.dumps(quiz_doc, ensure_ascii=False), encoding="utf-8")
    qs = quiz_doc["questions"]
    answers = {q["id"]: q["answer"] for q in qs}
    wrong = qs[1]
    answers[wrong["id"]] = "完全不对的答案"
    if qs[0]["kind"] == "mc":
        answers[qs[0]["id"]] = "ABCD"[qs[0]["options"].index(qs[0]["answer"])]  # a letter works too
    path = tmp_path / "answers.json"
    path.write_text(json.dumps(answers, ensure_ascii=False), encoding="utf-8")
    assert main(["edu", "grade", str(quiz), str(path), "--student", "小红", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["score"] == len(qs) - 1 and r["total"] == len(qs)
    bad = next(a for a in r["answers"] if a["id"] == wrong["id"])
    assert bad["credit"] == 0 and wrong["source"]["quote"] in bad["feedback"] and "请重读" in bad["feedback"]
    tried = {m["id"]: m for m in r["mastery"] if m["attempts"]}
    assert tried and wrong["objective"] in tried and tried[wrong["objective"]]["mastery"] < 1


def test_quiz_cli_exports_markdown_and_docx(capsys, tmp_path):
    assert main(["edu", "quiz", "light", "--topic", "平面镜成像", "--n", "3", "--no-model", "--out", str(tmp_path / "q.docx"), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert len(doc["questions"]) == 3 and (tmp_path / "q.docx").stat().st_size > 5000
    assert main(["edu", "quiz", "light", "--n", "2", "--kinds", "essay"]) != 0
    assert "Unknown question kind" in capsys.readouterr().err


PLAN = {
    "objectives": ["理解光的反射定律"], "prerequisites": ["光沿直线传播"],
    "timeline": [{"minutes": 10, "activity": "导入", "details": "教师演示激光笔照射平面镜。"},
                 {"minutes": 30, "activity": "新课讲授", "details": "反射角等于入射角。反射光线总是比入射光线更亮。"},
                 {"minutes": 20, "activity": "练习", "details": "学生完成练习。"}],
    "activities": ["分组实验：测量入射角和反射角。"],
    "differentiation": {"weaker": ["先复习：光在同种均匀介质中沿直线传播。"], "stronger": ["拓展：在反射现象中，光路是可逆的。"]},
    "assessment": ["入射角为 30 度时，反射角是多少？"], "homework": ["整理实验记录。"],
}


def test_a_lesson_plan_adds_up_and_keeps_only_verified_facts(course):
    from lingxi.apps.edu.plan import make_plan, valid

    model = ScriptedChat([json.dumps(PLAN, ensure_ascii=False)], default="{}")
    p = make_plan(course, "光的反射", "初二学生", 45, model=model)
    assert p["origin"] == "model" and valid({k: p[k] for k in PLAN})
    assert sum(s["minutes"] for s in p["timeline"]) == 45  # 60 planned minutes scaled to the lesson's 45
    lesson = p["timeline"][1]["details"]
    assert "反射角等于入射角[" in lesson and "更亮" not in lesson  # the invented sentence is dropped
    assert "反射光线总是比入射光线更亮。" in p["verification"]["unsupported"]
    assert p["verification"]["supported"] >= 2 and p["citations"] and p["citations"][0]["file"]
    redo = make_plan(course, "光的反射", section="homework", base=p, use_model=False)
    assert redo["redone"] == ["homework"] and redo["homework"] != p["homework"] and redo["timeline"] == p["timeline"]


def test_plan_cli_without_a_model_builds_from_the_course(capsys, tmp_path):
    out = tmp_path / "plan.docx"
    assert main(["edu", "plan", "light", "--topic", "平面镜成像", "--minutes", "40", "--no-model", "--out", str(out), "--json"]) == 0
    p = json.loads(capsys.readouterr().out)
    assert p["origin"] == "course" and sum(s["minutes"] for s in p["timeline"]) == 40
    assert p["verification"]["factual"] >= 2 and p["verification"]["supported"] == p["verification"]["factual"]
    assert out.stat().st_size > 5000
