"""The /v1/edu/ routes and their role checks, and the /edu page in headless Chromium.

Screenshots go to $LINGXI_SCREENSHOTS when set (LINGXI_SCREENSHOTS=docs/screenshots refreshes
docs/screenshots/edu-*.png), else under pytest's temporary folder."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

CHROMIUM = os.environ.get("LINGXI_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
SPEED = "光在真空中的传播速度约为 3×10^8 米每秒[1]。"


@pytest.fixture(scope="module")
def site(edu_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from lingxi.apps.edu.courses import create_course
    from lingxi.apps.edu.roles import create_role_key
    from lingxi.config import Settings
    from lingxi.serve import create_app, serve_settings
    from lingxi.serve.keys import create_key
    from lingxi.db import connect
    from lingxi.models.scripted import ScriptedChat
    from lingxi.testing.live import LiveServer

    other = tmp_path_factory.mktemp("other-course")
    (other / "a.md").write_text("# 声音\n\n声音是由物体的振动产生的。", encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LINGXI_HOME", str(edu_home))
        create_course("sound", other)
        keys = {role: create_role_key(f"web-{role}", role, "小明" if role == "student" else None)[1]
                for role in ("admin", "teacher", "student")}
        conn = connect()
        keys["none"] = create_key(conn, "no-role")[1]
        conn.close()
        # the edu routes use the server's own model pool: its default model here is "served"
        served = ScriptedChat(default=SPEED, name="served")
        app = create_app(Settings(home=edu_home, default_model="served"), serve_settings(rate_limit=0),
                         models={"served": served})
        with LiveServer(app) as server:
            server.keys, server.served = keys, served
            yield server


def api(site: Any, role: str | None, method: str, path: str, **kw: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {site.keys[role]}"} if role else {}
    return httpx.request(method, site.url + path, headers=headers, timeout=120, **kw)


def test_each_role_sees_and_does_only_its_own(site):
    assert api(site, None, "GET", "/v1/edu/me").status_code == 401
    r = api(site, "none", "GET", "/v1/edu/me")
    assert r.status_code == 403 and r.json()["error"]["code"] == "no_role"
    assert api(site, "admin", "GET", "/v1/edu/me").json()["courses"] == ["light", "sound"]
    me = api(site, "student", "GET", "/v1/edu/me").json()
    assert me == {"role": "student", "student": "小明", "courses": ["light"]}
    assert [c["name"] for c in api(site, "student", "GET", "/v1/edu/courses").json()["data"]] == ["light"]
    assert api(site, "student", "GET", "/v1/edu/courses/sound").status_code == 404
    assert "students" not in api(site, "student", "GET", "/v1/edu/courses/light").json()
    for path in ("/v1/edu/courses/light/coverage", "/v1/edu/courses/light/quiz"):
        r = api(site, "student", "POST", path, json={})
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden_role"
    assert api(site, "student", "GET", "/v1/edu/courses/light/mastery?student=小红").status_code == 403
    t = api(site, "student", "POST", "/v1/edu/courses/light/tutor", json={"message": "光速是多少？", "student": "小红"}).json()
    assert t["student"] == "小明"  # a student key always tutors its own student
    assert api(site, "student", "GET", "/v1/edu/courses/light/mastery").json()["student"] == "小明"


def test_teacher_routes_make_quizzes_plans_and_files(site):
    q = api(site, "teacher", "POST", "/v1/edu/courses/light/quiz", json={"topic": "光的反射", "n": 2})
    assert q.status_code == 200 and len(q.json()["questions"]) == 2
    p = api(site, "teacher", "POST", "/v1/edu/courses/light/plan", json={"topic": "光的反射", "minutes": 40}).json()
    assert sum(s["minutes"] for s in p["timeline"]) == 40
    d = api(site, "teacher", "POST", "/v1/edu/export", json={"kind": "plan", "data": p, "format": "docx"})
    assert d.status_code == 200 and d.content[:2] == b"PK"
    bad = api(site, "teacher", "POST", "/v1/edu/courses/light/quiz", json={"n": 0})
    assert bad.status_code == 400 or bad.status_code == 422
    assert site.served.calls and all(c["params"].max_tokens <= 512 for c in site.served.calls)  # the server's cap


PROGRAM = "```python\ndef solution():\n    cut = 6\n    total = cut / (2 / 5)\n    return total - cut\n```"


def test_solve_runs_on_the_servers_model_within_a_time_budget(site, monkeypatch):
    from lingxi.apps.edu import web

    site.served.queue(PROGRAM)
    r = api(site, "student", "POST", "/v1/edu/solve", json={"problem": "一段布剪去6米，正好剪去这段布的(2/5)，这段布还剩多少米？"})
    assert r.status_code == 200 and r.json()["answer"] == "9" and r.json()["checked"]
    monkeypatch.setattr(web, "TIMEOUT_S", 0.0)  # spent before the first model call
    r = api(site, "student", "POST", "/v1/edu/solve", json={"problem": "小明有3个苹果，又买了5个，现在有几个？"})
    assert r.status_code == 504 and r.json()["error"]["code"] == "edu_timeout"
    assert "ask for less" in r.json()["error"]["message"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is absent: the page tests need Debian's chromium")
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs: pip install playwright")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def _shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Path(os.environ.get("LINGXI_SCREENSHOTS") or tmp_path_factory.getbasetemp() / "edu-screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _open(browser: Any, site: Any, role: str) -> tuple[Any, Any, list[str]]:
    ctx = browser.new_context(viewport={"width": 1200, "height": 900})
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(site.url + "/edu")
    page.fill("#key", site.keys[role])
    page.click("#save-key")
    page.wait_for_selector(f"#role[data-role={role}]", timeout=15_000)
    return ctx, page, errors


def test_the_edu_page_for_admin_teacher_and_student(browser, site, tmp_path_factory):
    shots = _shots(tmp_path_factory)
    ctx, page, errors = _open(browser, site, "admin")
    page.click("#run-coverage")
    page.wait_for_selector("#heatmap:not([hidden])", timeout=60_000)
    assert page.locator("#coverage-table tbody tr").count() == 10
    assert page.locator("#coverage-table tr.missing").count() >= 1
    page.screenshot(path=str(shots / "edu-admin-coverage.png"), full_page=True)
    page.click("#run-plan")
    page.wait_for_selector("#plan-timeline", timeout=60_000)
    page.fill("#quiz-n", "3")
    page.click("#run-quiz")
    page.wait_for_selector("ol.quiz li", timeout=60_000)
    assert page.locator("ol.quiz > li").count() == 3
    page.locator("#plan-view").screenshot(path=str(shots / "edu-teacher-plan.png"))
    page.locator("#quiz-view").screenshot(path=str(shots / "edu-teacher-quiz.png"))
    assert not errors, errors
    ctx.close()
    ctx, page, errors = _open(browser, site, "student")
    assert page.is_hidden("#coverage-view") and page.is_hidden("#plan-view") and page.is_visible("#tutor-view")
    page.fill("#tutor-input", "光在真空中的传播速度是多少？")
    page.click("#tutor-send")
    page.wait_for_selector(".msg.tutor", timeout=60_000)
    assert "hint level" in page.inner_text(".msg.tutor")
    page.screenshot(path=str(shots / "edu-student-tutor.png"), full_page=True)
    assert not errors, errors
    ctx.close()
