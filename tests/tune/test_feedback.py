"""The data flywheel: ratings posted to the real server's /api/feedback become SFT, DPO and KTO files
(`lingxi tune data from-feedback`) that tune's own reader accepts, with personal data redacted."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from lingxi.cli import main
from lingxi.config import Settings
from lingxi.db import connect
from lingxi.models.scripted import ScriptedChat
from lingxi.serve import create_app, serve_settings
from lingxi.serve.keys import create_key
from lingxi.testing.live import LiveServer
from lingxi.tune.data import read_examples

PHONE = "13812345678"
Q1 = [{"role": "user", "content": f"我的手机是{PHONE}，灵犀能离线运行吗？"}]
Q2 = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is the capital of France?"}]
Q3 = [{"role": "user", "content": "Say hello."}]
Q4 = [{"role": "user", "content": "Tell me a joke."}]
RATINGS = [  # (messages, answer, rating, extra fields of the body)
    (Q1, "能，灵犀可以离线运行[1]。", 1, None),
    (Q1, "不能。", -1, {"comment": "wrong"}),
    (Q2, "Lyon.", -1, {"correction": "Paris is the capital of France."}),  # the API's field
    (Q3, "Hello!", 1, None),
    (Q4, "No.", -1, None),
    (Q1, "能，灵犀可以离线运行[1]。", 1, None),  # the same answer rated twice counts once
]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home whose feedback was posted through the server's API (guard off, so PII is saved as sent)."""
    pytest.importorskip("helan", reason="needs: pip install 'lingxi[guard]'")
    home = tmp_path_factory.mktemp("feedback-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LINGXI_HOME", str(home))
        settings = Settings(home=home, guard={"profile": "off"})  # saved as sent: the redaction tested is ours
    conn = connect(settings)
    _, key = create_key(conn, "raw")
    conn.close()
    app = create_app(settings, serve_settings(rate_limit=0), models={"fake": ScriptedChat(default="Hi.")})
    with LiveServer(app) as server:
        for messages, answer, rating, extra in RATINGS:
            r = httpx.post(f"{server.url}/api/feedback", headers={"Authorization": f"Bearer {key}"}, timeout=60,
                           json={"model": "fake", "messages": messages, "answer": answer, "rating": rating,
                                 **(extra or {})})
            assert r.status_code == 200, r.text
    return home


def export(home: Path, monkeypatch: pytest.MonkeyPatch, fmt: str, *extra: str) -> tuple[int, Path]:
    monkeypatch.setenv("LINGXI_HOME", str(home))
    path = home / f"out-{fmt}{'-'.join(extra)}.jsonl"
    return main(["tune", "data", "from-feedback", "--format", fmt, "--since", "2000-01-01", "-o", str(path),
                 *extra]), path


def test_three_formats_read_back_with_tunes_reader(home: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    code, path = export(home, monkeypatch, "dpo")
    assert code == 0, capsys.readouterr().err
    dpo = read_examples(path, "dpo")
    assert sorted((r["chosen"], r["rejected"]) for r in dpo) == [
        ("Paris is the capital of France.", "Lyon."), ("能，灵犀可以离线运行[1]。", "不能。")]  # a correction is chosen
    assert [m["role"] for m in next(r for r in dpo if r["rejected"] == "Lyon.")["prompt"]] == ["system", "user"]
    assert "2 dpo records from 6 feedback rows" in capsys.readouterr().err

    code, path = export(home, monkeypatch, "kto")
    assert code == 0
    kto = {(r["completion"], r["label"]) for r in read_examples(path, "kto")}
    assert kto == {("能，灵犀可以离线运行[1]。", True), ("不能。", False), ("Paris is the capital of France.", True),
                   ("Lyon.", False), ("Hello!", True), ("No.", False)}

    code, path = export(home, monkeypatch, "sft")
    assert code == 0
    sft = read_examples(path, "sft")
    assert sorted(r["messages"][-1]["content"] for r in sft) == [
        "Hello!", "Paris is the capital of France.", "能，灵犀可以离线运行[1]。"]  # ups and corrections only


def test_personal_data_is_redacted_unless_asked_not_to(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    raw = connect(Settings(home=home)).execute("SELECT messages FROM feedback ORDER BY id LIMIT 1").fetchone()[0]
    assert PHONE in raw  # the server kept it (guard off): the export must remove it
    assert export(home, monkeypatch, "dpo")[0] == 0
    text = (home / "out-dpo.jsonl").read_text("utf-8")
    assert PHONE not in text and "[PHONE]" in text
    assert export(home, monkeypatch, "dpo", "--no-redact")[0] == 0
    assert PHONE in (home / "out-dpo--no-redact.jsonl").read_text("utf-8")


def test_no_feedback_in_range_says_how_to_collect_it(home: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    monkeypatch.setenv("LINGXI_HOME", str(home))
    assert main(["tune", "data", "from-feedback", "--since", "2100-01-01", "--format", "kto"]) == 1
    e = capsys.readouterr().err
    assert "No feedback was saved since 2100-01-01" in e and "the database holds 6 in all" in e and "/api/feedback" in e
    assert main(["tune", "data", "from-feedback", "--since", "last week"]) == 1
    assert "'last week' is not a date" in capsys.readouterr().err
    monkeypatch.setenv("LINGXI_HOME", str(tmp_path))  # an empty home
    assert main(["tune", "data", "from-feedback", "--format", "sft", "--no-redact"]) == 1
    assert "the database holds none yet" in capsys.readouterr().err


def test_dpo_without_pairs_points_to_kto(home: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    from lingxi.tune.feedback import Feedback, build

    rows = [Feedback(i, 0.0, "fake", m, a, r, c) for i, (m, a, r, c) in enumerate(RATINGS) if m in (Q3, Q4)]
    with pytest.raises(Exception) as info:
        build(rows, "dpo", redact=False)
    assert "forms a pair" in str(info.value.message) and "--format kto" in info.value.hint
    records, built = build(rows, "kto", redact=False)
    assert json.loads(json.dumps(records))[0]["label"] is True and built.records == 2


def test_a_comment_that_starts_with_correction_is_a_correction_too() -> None:
    from lingxi.tune.feedback import Feedback

    assert Feedback(1, 0.0, "m", [], "Lyon.", -1, "correction: Paris.").correction == "Paris."
    assert Feedback(1, 0.0, "m", [], "不能。", -1, "正确答案：能。").correction == "能。"
    assert Feedback(1, 0.0, "m", [], "Lyon.", -1, "wrong", "Paris.").correction == "Paris."
    assert Feedback(1, 0.0, "m", [], "Lyon.", -1, "wrong").correction is None
