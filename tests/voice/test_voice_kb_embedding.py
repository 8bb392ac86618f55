"""An audio KB answers the same while its background embedding runs: the extractive answer to a
question cites the same recording, time range and sentence with no vector stored, with some,
and with all (the embedding step is run by hand here, chunk by chunk, instead of by the worker)."""

from __future__ import annotations

import numpy as np
import pytest

from lingxi.knowledge.kb import KnowledgeBase
from lingxi.rag import ask

pytestmark = pytest.mark.slow  # e5 embeds the chunks and the question

LECTURE = ("Welcome to the physics lecture. Today we talk about water. "
           "Water boils at one hundred degrees at sea level. "
           "On a high mountain the air pressure is lower, so water boils at a lower temperature. "
           "Next week we will study how ice melts.")
QUESTION = "At what temperature does water boil at sea level?"


def cited(name: str) -> tuple[str, float, float, str]:
    answer = ask(QUESTION, kb=name, mode="extractive")
    assert answer.citations, answer.model_dump(mode="json")
    c = answer.citations[0]
    return c.source, c.start_s, c.end_s, c.quote


def test_the_answer_does_not_change_while_chunks_get_their_vectors(tmp_path, monkeypatch):
    pytest.importorskip("faster_whisper", reason="needs: pip install 'lingxi[voice]'")
    from lingxi.voice.audio import wav_bytes

    monkeypatch.setenv("LINGXI_VOICE__TRANSCRIBER", f"scripted:{LECTURE}")
    monkeypatch.setenv("LINGXI_VOICE__KB_LANGUAGE", "en")
    folder = tmp_path / "talks"
    folder.mkdir()
    (folder / "lecture.wav").write_bytes(wav_bytes(np.zeros(16_000 * 12, np.float32), 16_000))
    kb = KnowledgeBase.create("talks", chunk_tokens=24, overlap=0)
    kb.ingest(folder, embed="later")  # keyword-searchable; no vector yet, and no worker
    total = kb.info()["pending"]
    assert total >= 4

    first = cited("talks")
    source, start, end, quote = first
    assert source.endswith("lecture.wav") and 0 <= start < end <= 12 and "boil" in quote.lower(), first
    for done in range(1, total + 1):
        assert kb.embed_pending(limit=1)["embedded"] == 1
        assert cited("talks") == first, f"with {done} of {total} chunks embedded"
    kb.store.optimize()  # what the worker does last
    assert kb.info()["pending"] == 0 and cited("talks") == first
