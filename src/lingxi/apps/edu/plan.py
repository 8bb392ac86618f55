"""Lesson plans under a JSON schema, every factual sentence verified against the course.

    plan = make_plan(course, topic="光的反射", audience="初二学生", minutes=45)
    plan["timeline"], plan["verification"], plan["citations"]
    plan = make_plan(course, topic="光的反射", section="homework", base=plan)   # redo one section

The model writes the plan as JSON under `SCHEMA` (through the funnel); what it cannot write
(a small model, a broken reply) is built from the course itself: the syllabus objectives that
match the topic and the passages about it. Then the timeline is repaired so its minutes add
up to the lesson's, and every factual sentence (not the teacher's instructions) is checked by
the RAG verifier: supported ones get a [n] citation, the others are dropped (or marked [?]).
"""

from __future__ import annotations

import json
import re
from typing import Any

from lingxi.apps.edu import evidence as E
from lingxi.apps.edu import extract as X
from lingxi.apps.edu.courses import Course
from lingxi.errors import ConfigError, LingxiError
from lingxi.knowledge.text import terms
from lingxi.types import Message, SamplingParams

_LIST = {"type": "array", "items": {"type": "string"}}
SECTIONS = ("objectives", "prerequisites", "timeline", "activities", "differentiation", "assessment", "homework")
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "objectives": _LIST, "prerequisites": _LIST,
        "timeline": {"type": "array", "minItems": 1, "items": {"type": "object", "properties": {
            "minutes": {"type": "integer", "minimum": 1}, "activity": {"type": "string"}, "details": {"type": "string"}},
            "required": ["minutes", "activity", "details"]}},
        "activities": _LIST,
        "differentiation": {"type": "object", "properties": {"weaker": _LIST, "stronger": _LIST}, "required": ["weaker", "stronger"]},
        "assessment": _LIST, "homework": _LIST,
    },
    "required": list(SECTIONS),
}  # fmt: skip
_INSTRUCTION = re.compile(r"学生|教师|老师|讨论|提问|小组|完成|练习|复习|观察|思考|请|引导|展示|演示|布置|回答|总结|阅读|"
                          r"分组|组织|导入|提示|出示|巩固|检测|作业|填空|判断|选择|补全|画出|完成|尝试|说一说|想一想|"
                          r"students?|teacher|discuss|ask|review|practi[cs]e|group|explain to")  # fmt: skip
SYSTEM = "你是一名经验丰富的中学教师。根据资料写一份教案，只输出符合格式的 JSON；事实必须来自资料。"


def _passages(course: Course, topic: str, k: int = 5) -> list[Any]:
    return E.passages(course.kb(), topic, k=k)


def _facts(sources: list[Any]) -> list[str]:
    return [s for src in sources for s in E.sentences_of(src.text) if len(s) >= 10]


def _objectives(course: Course, topic: str, facts: list[str]) -> tuple[list[str], list[str]]:
    """Syllabus objectives about the topic, and the ones before them as prerequisites."""
    want = set(terms(topic + " " + " ".join(facts[:6])))
    scored = [(len(set(terms(o.objective)) & want), i, o) for i, o in enumerate(course.objectives)]
    hits = sorted([x for x in scored if x[0] >= 2], key=lambda x: -x[0])[:3]
    first = min((i for _, i, _ in hits), default=0)
    return [o.objective for *_, o in sorted(hits, key=lambda x: x[1])], [o.objective for o in course.objectives[max(0, first - 2):first]]


def fallback(course: Course, topic: str, audience: str, minutes: int) -> dict[str, Any]:
    """A plan built from the course's own material (no model)."""
    facts = _facts(_passages(course, topic))
    objectives, prereq = _objectives(course, topic, facts)
    pool = X.pool_of(facts)
    qs = [q for q in (X.build(k, f, pool) for k, f in zip(("mc", "truefalse", "short"), facts[1:4])) if q]
    steps = [("导入", f"提出问题，引导学生思考：生活中哪些现象与“{topic}”有关？"),
             ("新课讲授", " ".join(facts[:2])), ("探究活动", " ".join(facts[2:4]) or "学生分组观察并记录现象。"),
             ("课堂练习", "完成练习：" + (qs[0]["question"] if qs else "复述本课要点。")), ("小结", "学生总结本课要点，教师补充。")]
    shares = (0.1, 0.35, 0.3, 0.15, 0.1)
    return {
        "objectives": objectives or [f"理解{topic}"], "prerequisites": prereq,
        "timeline": [{"minutes": max(1, round(minutes * s)), "activity": a, "details": d} for (a, d), s in zip(steps, shares)],
        "activities": [f"分组讨论：{facts[2]}" if len(facts) > 2 else "分组讨论本课现象。", "教师演示，学生观察并记录。"],
        "differentiation": {"weaker": ["先复习要点：" + (facts[0] if facts else topic)],
                            "stronger": ["拓展思考：" + (facts[-1] if facts else topic)]},
        "assessment": [q["question"] for q in qs[:2]] or ["口头提问本课要点。"],
        "homework": [X.cloze(f, X.key_of(f))["question"] for f in facts[4:6] if X.key_of(f) and X.key_of(f) in f] or ["复习本课内容。"],
    }  # fmt: skip


def _ask(chat: Any, course: Course, topic: str, audience: str, minutes: int, schema: dict, extra: str = "") -> dict | None:
    facts = " ".join(_facts(_passages(course, topic)))[:1500]
    user = f"资料：{facts}\n\n课题：{topic}\n对象：{audience}\n时长：{minutes} 分钟\n{extra}"
    params = SamplingParams(temperature=0.3, max_tokens=700,
                            response_format={"type": "json_schema", "json_schema": {"name": "plan", "schema": schema}})
    try:
        data = json.loads(chat.chat([Message(role="system", content=SYSTEM), Message(role="user", content=user)], params).text)
    except (LingxiError, ValueError):
        return None
    return data if valid(data, schema) else None


def valid(plan: Any, schema: dict | None = None) -> bool:
    import jsonschema

    try:
        jsonschema.validate(plan, schema or SCHEMA)
        return True
    except jsonschema.ValidationError:
        return False


def repair_minutes(timeline: list[dict[str, Any]], minutes: int) -> list[dict[str, Any]]:
    """Scale the steps so their minutes add up to the lesson's (each at least 1)."""
    if not timeline:
        return [{"minutes": minutes, "activity": "授课", "details": ""}]
    steps = [dict(s, minutes=max(1, int(s.get("minutes") or 1))) for s in timeline][:minutes]
    total = sum(s["minutes"] for s in steps)
    if total != minutes:
        for s in steps:
            s["minutes"] = max(1, round(s["minutes"] * minutes / total))
        longest = max(steps, key=lambda s: s["minutes"])
        longest["minutes"] += minutes - sum(s["minutes"] for s in steps)
        while longest["minutes"] < 1:  # many 1-minute steps: take from the others
            donor = max(steps, key=lambda s: s["minutes"])
            donor["minutes"] -= 1
            longest["minutes"] += 1
    return steps


def _claim(sentence: str) -> str | None:
    """The factual part of a plan sentence (after 'label：'), or None for an instruction or a question."""
    body = sentence.split("：", 1)[1] if "：" in sentence else sentence
    body = body.strip()
    if len(body) < 6 or X.BLANK in body or body.endswith(("？", "?")) or _INSTRUCTION.search(body):
        return None
    return body


def _verify_text(text: str, sources: list[Any], kb: Any, unsupported: str, stats: dict[str, Any]) -> str:
    from lingxi.knowledge.text import sentence_spans

    out = []
    for a, b in sentence_spans(text):
        sentence = text[a:b].strip()
        claim = _claim(sentence)
        if claim is None:
            out.append(sentence)
            continue
        stats["factual"] += 1
        ok, v = E.supported(claim, sources, kb)
        if ok:
            stats["supported"] += 1
            n = v.citations[0]
            stats["used"].add(n)
            out.append(_mark(sentence, f"[{n}]"))
        else:
            stats["unsupported"].append(sentence)
            if unsupported == "mark":
                out.append(_mark(sentence, "[?]"))
    return "".join(out)


def _mark(sentence: str, mark: str) -> str:
    m = re.search(r"[。！？.!?]+$", sentence)
    return f"{sentence[: m.start()]}{mark}{sentence[m.start():]}" if m else sentence + mark


def verify_plan(plan: dict[str, Any], course: Course, topic: str, sections: tuple[str, ...] = SECTIONS,
                unsupported: str = "drop") -> dict[str, Any]:  # fmt: skip
    """Check the factual sentences of `sections`; keep supported ones with [n], drop or mark the rest."""
    kb = course.kb()
    sources = _passages(course, topic)
    stats: dict[str, Any] = {"factual": 0, "supported": 0, "unsupported": [], "used": set()}
    fix = lambda xs: [t for t in (_verify_text(str(x), sources, kb, unsupported, stats) for x in xs) if t.strip()]  # noqa: E731
    for name in sections:
        if name in ("objectives", "prerequisites"):
            continue  # goals from the syllabus, not claims about the world
        if name == "timeline":
            plan["timeline"] = [dict(s, details=_verify_text(str(s.get("details", "")), sources, kb, unsupported, stats))
                                for s in plan["timeline"]]  # fmt: skip
        elif name == "differentiation":
            d = plan.get("differentiation") or {}
            plan["differentiation"] = {"weaker": fix(d.get("weaker") or []), "stronger": fix(d.get("stronger") or [])}
        else:
            plan[name] = fix(plan.get(name) or [])
    by_n = {s.n: s for s in sources}
    old = {c["n"]: c for c in plan.get("citations") or []}
    old.update({n: {"n": n, **E.citation(by_n[n], by_n[n].text[:80])} for n in stats["used"]})
    plan["citations"] = [old[n] for n in sorted(old)]
    v = plan.get("verification") or {"factual": 0, "supported": 0, "unsupported": []}
    plan["verification"] = {"factual": v["factual"] + stats["factual"], "supported": v["supported"] + stats["supported"],
                            "unsupported": v["unsupported"] + stats["unsupported"], "policy": unsupported}  # fmt: skip
    return plan


def make_plan(
    course: Course, topic: str, audience: str = "初二学生", minutes: int = 45, *, model: Any = None,
    use_model: bool = True, section: str | None = None, base: dict[str, Any] | None = None, unsupported: str = "drop",
) -> dict[str, Any]:  # fmt: skip
    """A verified lesson plan; with `section` (and `base`, a plan made before) only that section is redone."""
    if not topic.strip():
        raise ConfigError("A lesson plan needs a topic.", 'e.g. --topic "光的反射"')
    if minutes < 5 or minutes > 300:
        raise ConfigError(f"{minutes} minutes is not a lesson length.", "give 5 to 300 minutes, e.g. --minutes 45")
    if section is not None and section not in SECTIONS:
        raise ConfigError(f"Unknown section '{section}'.", f"use one of: {', '.join(SECTIONS)}")
    if unsupported not in ("drop", "mark"):
        raise ConfigError(f"Unknown policy '{unsupported}' for unsupported sentences.", "use drop or mark")
    chat = None
    if use_model:
        from lingxi.models.funnel import open_chat

        chat = open_chat(model if model is not None else course.settings.get("model"))
    if section is not None:
        if base is None:
            raise ConfigError("Redoing one section needs the plan it belongs to.", "pass --from PLAN.json")
        return _redo(course, base, section, chat, unsupported)
    data = _ask(chat, course, topic, audience, minutes, SCHEMA) if chat is not None else None
    plan = {"topic": topic, "audience": audience, "minutes": minutes, "origin": "model" if data else "course",
            **(data or fallback(course, topic, audience, minutes))}  # fmt: skip
    if chat is not None:  # what the model itself got right, before the fallback and the minutes repair
        plan["generation"] = {"schema_valid": data is not None,
                              "minutes_added_up": data is not None and sum(int(s.get("minutes") or 0) for s in data["timeline"]) == minutes}
    plan["timeline"] = repair_minutes(plan["timeline"], minutes)
    return verify_plan(plan, course, topic, unsupported=unsupported)


def _redo(course: Course, base: dict[str, Any], section: str, chat: Any, unsupported: str) -> dict[str, Any]:
    topic, audience, minutes = base["topic"], base.get("audience", ""), int(base.get("minutes", 45))
    schema = {"type": "object", "properties": {section: SCHEMA["properties"][section]}, "required": [section]}
    data = _ask(chat, course, topic, audience, minutes, schema, f"只重写这一部分：{section}") if chat is not None else None
    plan = dict(base)
    plan[section] = (data or fallback(course, topic, audience, minutes))[section]
    if section == "timeline":
        plan["timeline"] = repair_minutes(plan["timeline"], minutes)
    plan.setdefault("redone", []).append(section)
    return verify_plan(plan, course, topic, (section,), unsupported)
