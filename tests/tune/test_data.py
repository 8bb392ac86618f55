"""Tuning data: every accepted shape normalises to messages, and every bad record is named by its line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lingxi.errors import TuneError
from lingxi.tune.data import data_hash, read_examples, split


def write(path: Path, rows: list) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in rows) + "\n",
                    "utf-8")
    return path


def test_sft_shapes_normalise_to_messages(tmp_path: Path) -> None:
    f = write(tmp_path / "sft.jsonl", [
        {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]},
        {"prompt": "2+2?", "completion": "4", "system": "Be terse."},
        {"instruction": "Translate", "input": "你好", "output": "Hello"},
        "",
        {"instruction": "Say yes", "output": "yes"},
    ])
    ex = read_examples(f, "sft")
    assert [e["messages"][-1]["content"] for e in ex] == ["Hello", "4", "Hello", "yes"]
    assert ex[1]["messages"][0] == {"role": "system", "content": "Be terse."}
    assert ex[2]["messages"][0]["content"] == "Translate\n\n你好"
    assert ex[3]["messages"][0]["content"] == "Say yes"


def test_dpo_kto_and_raw_text(tmp_path: Path) -> None:
    dpo = read_examples(write(tmp_path / "d.jsonl", [{"prompt": "Q", "chosen": "good", "rejected": "bad"}]), "dpo")
    assert dpo == [{"prompt": [{"role": "user", "content": "Q"}], "chosen": "good", "rejected": "bad"}]
    kto = read_examples(write(tmp_path / "k.jsonl", [{"prompt": "Q", "completion": "a", "label": "down"},
                                                     {"prompt": "Q", "completion": "b", "label": 1}]), "kto")
    assert [k["label"] for k in kto] == [False, True]
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("# 标题\n\n正文。", "utf-8")
    (tmp_path / "docs" / "b.txt").write_text("plain text", "utf-8")
    texts = read_examples(tmp_path / "docs", "pretrain")
    assert sorted(t["text"].strip() for t in texts)[-1] == "plain text" and len(texts) == 2


@pytest.mark.parametrize(("method", "rows", "said"), [
    ("sft", [{"prompt": "a", "completion": "b"}, "{not json"], "line 2: not valid JSON"),
    ("sft", [{"prompt": "a", "completion": "b"}, {}, {"question": "x"}], "line 2: no 'messages'"),
    ("sft", [{"messages": [{"role": "user", "content": "only a question"}]}], "line 1: the last message must be the assistant"),
    ("sft", [{"messages": [{"role": "robot", "content": "x"}]}], "line 1: message 1 needs a role"),
    ("dpo", [{"prompt": "q", "chosen": "c", "rejected": "r"}, {"prompt": "q", "chosen": "c"}], "line 2: 'rejected' is missing"),
    ("kto", [{"prompt": "q", "completion": "c", "label": "maybe"}], "line 1: 'label' must be true or false"),
    ("dpo", [[1, 2]], "line 1: expected a JSON object"),
    ("pretrain", [{"text": ""}], "line 1: 'text' must be a non-empty string"),
])
def test_bad_records_name_their_line(tmp_path: Path, method: str, rows: list, said: str) -> None:
    f = write(tmp_path / "bad.jsonl", rows)
    with pytest.raises(TuneError) as info:
        read_examples(f, method)
    assert f"bad.jsonl {said}" in info.value.message
    assert info.value.hint


def test_missing_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(TuneError, match="does not exist"):
        read_examples(tmp_path / "nope.jsonl", "sft")
    with pytest.raises(TuneError, match="holds no examples"):
        read_examples(write(tmp_path / "e.jsonl", [""]), "sft")
    with pytest.raises(TuneError, match="Unknown tuning method"):
        read_examples(tmp_path, "rlhf")


def test_split_is_seeded_and_keeps_a_validation_example(tmp_path: Path) -> None:
    ex = [{"text": str(i)} for i in range(10)]
    train, val = split(ex, 0.2, seed=3)
    assert len(train) == 8 and len(val) == 2 and not {e["text"] for e in train} & {e["text"] for e in val}
    assert split(ex, 0.2, seed=3) == (train, val)
    assert len(split(ex[:4], 0.1)[1]) == 1 and split(ex[:3], 0.1)[1] == []
    f = write(tmp_path / "a.jsonl", [{"text": "x"}])
    h = data_hash(f)
    f.write_text('{"text": "y"}\n', "utf-8")
    assert data_hash(f) != h
