"""Attacks on ingest (the hardening issue #13, items 6-9): hostile files in a folder.

Each case plants one hostile file beside a good one and ingests the folder: the ingest
must finish (no hang: pytest-timeout fails a case that blocks), the good sibling must be
ingested, and the hostile file must be one line in the report. Adding an attack is one
more entry in ATTACKS.
"""

from __future__ import annotations

import errno
import os
import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from lingxi.knowledge import KnowledgeBase
from lingxi.testing.bombs import zip_bomb

GOOD = "good.txt"
MB = 1 << 20


def fifo(d: Path) -> str:
    os.mkfifo(d / "pipe.txt")
    return "named pipe"


def dev_zero(d: Path) -> str:
    (d / "zero.txt").symlink_to("/dev/zero")
    return "character device"


def unix_socket(d: Path) -> str:
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(d / "sock.txt"))
    s.close()
    return "socket"


def symlink_loop(d: Path) -> str:
    (d / "a.txt").symlink_to(d / "b.txt")
    (d / "b.txt").symlink_to(d / "a.txt")
    return "loops"


def broken_link(d: Path) -> str:
    (d / "gone.txt").symlink_to(d / "nowhere.txt")
    return "does not exist"


def too_big(d: Path) -> str:
    with open(d / "big.txt", "wb") as f:  # 150 MB, sparse (no disk used): over the 100 MB default cap
        f.truncate(150 * MB)
    return "too large"


def docx_bomb(d: Path) -> str:
    zip_bomb(d / "bomb.docx", "docx", 24)  # 24 MB of XML in ~25 KB
    return "zip bomb"


def xlsx_bomb(d: Path) -> str:
    zip_bomb(d / "bomb.xlsx", "xlsx", 24)
    return "zip bomb"


def docx_too_big_unpacked(d: Path) -> str:
    import docx

    doc = docx.Document()
    doc.add_paragraph(os.urandom(400_000).hex())  # 800 KB of XML that barely compresses: over 0.5 MB unpacked
    doc.save(str(d / "large.docx"))
    os.environ["LINGXI_INGEST__MAX_UNZIPPED_MB"] = "0.5"  # restored by the test's monkeypatch
    return "would unpack to"


def fake_pdf(d: Path) -> str:
    (d / "fake.pdf").write_text("this is not a pdf at all")
    return "not a PDF"


ATTACKS: dict[str, Callable[[Path], str]] = {f.__name__: f for f in (
    fifo, dev_zero, unix_socket, symlink_loop, broken_link, too_big, docx_bomb, xlsx_bomb, docx_too_big_unpacked,
    fake_pdf,
)}  # fmt: skip


@pytest.fixture
def bag():
    from lingxi.registry import default_registry
    from tests.knowledge.conftest import BagEmbedder

    default_registry().add("embedding", "bag", BagEmbedder, replace=True)  # the CLI can open a "bag" KB too
    return BagEmbedder()


@pytest.fixture
def kb(bag):
    return KnowledgeBase.create("hostile", embedding=bag)


def _folder(tmp_path: Path) -> Path:
    d = tmp_path / "docs"
    d.mkdir()
    (d / GOOD).write_text("The good sibling file is ingested whatever its neighbours do.", encoding="utf-8")
    return d


@pytest.mark.timeout(60)
@pytest.mark.parametrize("attack", list(ATTACKS))
def test_hostile_file_is_one_report_line_and_the_good_sibling_is_ingested(attack, kb, tmp_path, monkeypatch, capfd):
    monkeypatch.setenv("LINGXI_INGEST__MAX_UNZIPPED_MB", "256")  # the default; a case may lower it
    d = _folder(tmp_path)
    needle = ATTACKS[attack](d)
    report = kb.ingest(d)
    assert [Path(s).name for s in report.added] == [GOOD], report
    assert len(report.failed) >= 1 and all("\n" not in message for _, message in report.failed)
    assert any(needle in message for _, message in report.failed), report.failed
    assert kb.search("good sibling", k=1)[0].chunk.source.endswith(GOOD)
    console = capfd.readouterr()
    assert "invalid pdf header" not in console.err.lower() and "EOF marker" not in console.err  # pypdf kept quiet


@pytest.mark.timeout(60)
def test_unreadable_file_is_reported_and_the_rest_goes_on(kb, tmp_path, monkeypatch):
    d = _folder(tmp_path)
    (d / "secret.txt").write_text("nobody may read this")
    real_open = os.open

    def denying_open(path, flags, *args, **kwargs):  # chmod 000 does not stop root: deny like the kernel would
        if str(path).endswith("secret.txt"):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", denying_open)
    report = kb.ingest(d)
    assert [Path(s).name for s in report.added] == [GOOD]
    assert [(Path(s).name, "permission denied" in m) for s, m in report.failed] == [("secret.txt", True)]


@pytest.mark.timeout(60)
def test_unreadable_folder_is_reported(kb, tmp_path, monkeypatch):
    d = _folder(tmp_path)
    (d / "locked").mkdir()
    (d / "locked" / "x.txt").write_text("inside")
    real_scandir = os.scandir

    def denying_scandir(path="."):
        if str(path).endswith("locked"):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", denying_scandir)
    report = kb.ingest(d)
    assert [Path(s).name for s in report.added] == [GOOD]
    assert [Path(s).name for s, _ in report.failed] == ["locked"] and "permission denied" in report.failed[0][1]


@pytest.mark.timeout(60)
def test_disk_full_is_one_sentence_and_keeps_written_batches(bag, tmp_path, monkeypatch):
    """ENOSPC while writing: the ingest stops with one sentence; the batches committed before stay
    whole, nothing is half-written, and the same ingest run again finishes the job."""
    from lingxi.errors import StoreError
    from lingxi.knowledge.ingest import ingest_path
    from lingxi.knowledge.lance import LanceStore

    kb = KnowledgeBase.create("full", embedding=bag)
    d = tmp_path / "many"
    d.mkdir()
    for n in range(6):
        (d / f"f{n}.txt").write_text(f"File number {n} says hello.")
    real = LanceStore.replace_sources
    calls = {"n": 0}

    def filling(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(LanceStore, "replace_sources", filling)
    with pytest.raises(StoreError, match="disk holding the knowledge base is full") as exc:
        ingest_path(kb.store, kb.splitter(), d, batch_files=2)
    assert "2 files written before it are kept" in exc.value.message and "run the same command again" in exc.value.hint
    assert sorted(Path(s).name for s in kb.sources()) == ["f0.txt", "f1.txt"] and kb.info()["chunks"] == 2
    monkeypatch.setattr(LanceStore, "replace_sources", real)
    again = ingest_path(kb.store, kb.splitter(), d, batch_files=2)
    assert again.unchanged == 2 and len(again.added) == 4 and kb.info()["chunks"] == 6


def test_disk_full_through_the_cli_is_a_sentence_not_a_traceback(bag, tmp_path, monkeypatch, capsys):
    from lingxi.cli import main
    from lingxi.knowledge.lance import LanceStore

    d = _folder(tmp_path)
    KnowledgeBase.create("full", embedding="bag")
    monkeypatch.setattr(LanceStore, "replace_sources",
                        lambda *a, **k: (_ for _ in ()).throw(OSError(errno.ENOSPC, "No space left on device")))
    capsys.readouterr()
    rc = main(["kb", "ingest", "full", str(d), "--json"])
    err = capsys.readouterr().err
    assert rc == 1 and "error: The disk holding the knowledge base is full" in err and "Traceback" not in err


def test_latin1_text_round_trips_and_the_report_names_the_encoding(kb, tmp_path):
    d = _folder(tmp_path)
    (d / "latin.txt").write_bytes("A naïve café owner in Zürich.".encode("latin-1"))
    (d / "russian.txt").write_bytes("Привет, это проверка кодировки текста.".encode("cp1251"))
    (d / "gbk.txt").write_bytes("上海是中国最大的经济中心城市。".encode("gbk"))
    report = kb.ingest(d)
    text = {Path(c.source).name: c.text for c in kb.store.iter_chunks()}
    assert text["latin.txt"] == "A naïve café owner in Zürich."  # not "naďve"
    assert text["russian.txt"].startswith("Привет") and text["gbk.txt"].startswith("上海")
    named = {Path(s).name: e for s, e in report.encodings.items()}
    assert named == {"latin.txt": "cp1252", "russian.txt": "cp1251", "gbk.txt": "gb18030"}
    assert kb.search("naïve café", k=1)[0].chunk.source.endswith("latin.txt")


@pytest.mark.parametrize("kind", ["words", "chinese", "one-letter"])
def test_a_2mb_single_line_splits_in_linear_work(kind):
    """One long line (2 MB of words) without a sentence end. The exact counter is only ever given windows of a few
    chunks' worth of text: the old binary search over the whole rest of the line was quadratic
    (128 KB took 38 s; 10 MB never finished). Work is measured in characters counted, not seconds."""
    from lingxi.knowledge.splitter import Splitter
    from lingxi.knowledge.text import estimate_tokens
    from lingxi.types import Document

    line = {"words": "word " * 400_000, "chinese": "字" * 300_000, "one-letter": "a" * 2_000_000}[kind]  # 2 MB, 0.9 MB
    counted = {"chars": 0}

    def counting(text: str) -> int:
        counted["chars"] += len(text)
        if counted["chars"] > 30 * len(line):
            raise AssertionError("the splitter counts tokens in quadratic work")
        return estimate_tokens(text)

    doc = Document(id="x", source="x", text=line)
    # an exact tokenizer beside the estimate (the e5 KB), and the estimate alone (no model tokenizer)
    for splitter in (Splitter(256, 32, count_tokens=counting), Splitter(256, 32, count_tokens=counting, estimate=counting)):
        counted["chars"] = 0
        chunks = splitter.split(doc)
        assert chunks and max(len(c.text) for c in chunks) <= 256 * 32
        assert all(estimate_tokens(c.text) <= 256 for c in chunks)
        assert chunks[0].start == 0 and chunks[-1].end >= len(line.rstrip()) - 1
