"""Quizzes and lesson plans as Markdown and Word (python-docx) documents."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

KIND_NAME = {"mc": "选择题", "short": "填空/简答", "truefalse": "判断题"}


def quiz_markdown(quiz: dict[str, Any], with_key: bool = True) -> str:
    lines = [f"# 测验：{quiz['course']}", ""]
    for i, q in enumerate(quiz["questions"], start=1):
        lines.append(f"**{i}. [{KIND_NAME.get(q['kind'], q['kind'])}]** {q['question']}")
        lines += [f"   {chr(65 + j)}. {o}" for j, o in enumerate(q.get("options") or []) if q["kind"] == "mc"]
        lines.append("")
    if with_key:
        lines += ["## 答案与出处", ""]
        for i, q in enumerate(quiz["questions"], start=1):
            s = q.get("source") or {}
            lines.append(f"{i}. {q['answer']} — {s.get('file', '')}" + (f" § {s['heading']}" if s.get("heading") else "")
                         + f"：“{s.get('quote', '')}”")  # fmt: skip
    return "\n".join(lines) + "\n"


def plan_markdown(plan: dict[str, Any]) -> str:
    lines = [f"# 教案：{plan['topic']}", "", f"对象：{plan['audience']}　时长：{plan['minutes']} 分钟", ""]
    for name, title in (("objectives", "教学目标"), ("prerequisites", "预备知识")):
        lines += [f"## {title}", "", *[f"- {_text(x)}" for x in plan.get(name) or []], ""]
    lines += ["## 教学过程", "", "| 分钟 | 环节 | 内容 |", "| ---: | --- | --- |"]
    lines += [f"| {s['minutes']} | {s['activity']} | {_text(s.get('details', ''))} |" for s in plan.get("timeline") or []]
    lines.append("")
    for name, title in (("activities", "学生活动"), ("assessment", "评价"), ("homework", "作业")):
        lines += [f"## {title}", "", *[f"- {_text(x)}" for x in plan.get(name) or []], ""]
    d = plan.get("differentiation") or {}
    lines += ["## 分层教学", "", *[f"- 基础较弱：{_text(x)}" for x in d.get("weaker") or []],
              *[f"- 学有余力：{_text(x)}" for x in d.get("stronger") or []], ""]  # fmt: skip
    if plan.get("citations"):
        lines += ["## 出处", "", *[f"[{c['n']}] {c['file']}" + (f" § {c['heading']}" if c.get("heading") else "")
                                   + f"：“{c['quote']}”" for c in plan["citations"]], ""]  # fmt: skip
    return "\n".join(lines)


def _text(x: Any) -> str:
    return str(x.get("text", x)) if isinstance(x, dict) else str(x)


def to_docx(markdown: str, path: str | Path) -> Path:
    """A Word document from the simple Markdown above (headings, lists, tables, paragraphs)."""
    from docx import Document

    doc, table = Document(), None
    for line in markdown.splitlines():
        s = line.strip()
        if s.startswith("|"):
            cells = [c.strip() for c in s.strip("|").split("|")]
            if set("".join(cells)) <= set("-: "):
                continue
            if table is None:
                table = doc.add_table(rows=0, cols=len(cells))
                table.style = "Table Grid"
            row = table.add_row().cells
            for cell, text in zip(row, cells, strict=False):
                cell.text = text
            continue
        table = None
        if not s:
            continue
        if s.startswith("#"):
            level = len(s) - len(s.lstrip("#"))
            doc.add_heading(s.lstrip("#").strip(), level=min(level, 3))
        elif s.startswith("- "):
            doc.add_paragraph(s[2:].replace("**", ""), style="List Bullet")
        else:
            doc.add_paragraph(s.replace("**", ""))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(path))
    return path


def write(kind: str, data: dict[str, Any], fmt: str, path: str | Path) -> Path:
    """Write a quiz or plan (`kind`) as md, docx or json to `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "json":
        path.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
        return path
    md = quiz_markdown(data) if kind == "quiz" else plan_markdown(data)
    if fmt == "docx":
        return to_docx(md, path)
    path.write_text(md, encoding="utf-8")
    return path
