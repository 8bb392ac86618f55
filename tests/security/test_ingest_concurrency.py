"""Attacks on ingest by timing (hardening #13.5, newcomer #19.2-3): two writers at once, Ctrl-C in the
middle, a KB removed while its embedding worker runs. Real `lingxi` processes, as a user runs them."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

LINGXI = str(Path(sys.executable).with_name("lingxi"))


def lingxi(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([LINGXI, *args], capture_output=True, text=True, timeout=timeout, env=os.environ)


def start(*args: str) -> subprocess.Popen:
    return subprocess.Popen([LINGXI, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ,
                            preexec_fn=_ctrl_c_as_in_a_terminal)


def _ctrl_c_as_in_a_terminal() -> None:
    """The child gets Ctrl-C as a command typed in a terminal does: SIGINT neither blocked nor ignored. (In the
    full suite the child once finished a whole ingest after its SIGINT: a disposition inherited from the test
    process, which a user's shell does not pass on.)"""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _signal_state(pid: int) -> str:
    """The child's blocked and ignored signal masks (a failure report: a Ctrl-C it never saw)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError as exc:
        return f"no /proc status ({exc})"
    return " ".join(line.replace("\t", "") for line in status.splitlines() if line.startswith(("SigBlk", "SigIgn")))


def files(root: Path, n: int, prefix: str = "f") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (root / f"{prefix}{i:03d}.txt").write_text(f"Small file number {i} about topic {i % 7}.", encoding="utf-8")
    return root


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return False


@pytest.fixture
def kb(_isolated_home):
    assert lingxi("kb", "create", "conc").returncode == 0
    yield _isolated_home / "kb" / "conc"
    lingxi("kb", "rm", "-y", "conc")  # also stops a background embedding worker


@pytest.mark.timeout(240)
def test_a_second_writer_gets_one_sentence_or_waits(kb, tmp_path):
    from lingxi.knowledge.lock import writer_lock

    docs = files(tmp_path / "docs", 3)
    with writer_lock(kb, "conc", "a test holding the lock"):
        r = lingxi("kb", "ingest", "conc", str(docs))
        assert r.returncode == 1, r
        assert f"is being written by process {os.getpid()} (a test holding the lock" in r.stderr
        assert "--wait-lock" in r.stderr and "Traceback" not in r.stderr
        waiting = start("kb", "ingest", "conc", str(docs), "--wait-lock", "--json")
        time.sleep(3)
        assert waiting.poll() is None  # queued behind the holder
    out, err = waiting.communicate(timeout=180)
    assert waiting.returncode == 0, err
    assert len(json.loads(out)["added"]) == 3


@pytest.mark.timeout(300)
def test_two_concurrent_ingests_leave_no_duplicate_ids(kb, tmp_path):
    docs = files(tmp_path / "docs", 200)
    first, second = start("kb", "ingest", "conc", str(docs)), start("kb", "ingest", "conc", str(docs), "--wait-lock")
    results = [(p.wait(timeout=240), p.stderr.read()) for p in (first, second)]
    assert results[1][0] == 0, results[1][1]  # the queued one always gets its turn
    assert results[0][0] == 0 or "is being written by process" in results[0][1], results[0][1]
    check = lingxi("kb", "check", "conc", "--json")
    data = json.loads(check.stdout)
    assert check.returncode == 0 and data["duplicate_ids"] == {} and data["chunks"] == 200 and data["sources"] == 200


@pytest.mark.timeout(300)
def test_ctrl_c_keeps_finished_files_says_how_to_resume_and_exits_130(kb, tmp_path):
    docs = files(tmp_path / "docs", 40, prefix="a")
    sentence = "A sentence about the sea, the wind and the long road home. "
    # 9 MB: seconds of work still left after the first files, even when the test process is slow to send the signal
    # (at 3 MB a loaded 2-core CI machine once finished the whole ingest first)
    (docs / "zz.txt").write_text(sentence * 150_000, encoding="utf-8")
    files(docs, 2, prefix="zz")  # zz000.txt, zz001.txt: after the big one
    proc = start("kb", "ingest", "conc", str(docs), "--verbose")
    t0, state = time.monotonic(), ""
    for line in proc.stderr:
        if line.startswith("added: "):  # the first finished file: Ctrl-C now, with 42 files and 9 MB to go
            state = _signal_state(proc.pid) + f" first line after {time.monotonic() - t0:.2f} s"
            proc.send_signal(signal.SIGINT)  # (signalling later races a fast machine to the end of the ingest)
            break
    rest = proc.stderr.read()
    out = proc.stdout.read()
    assert proc.wait(timeout=120) == 130, f"{state}; ended after {time.monotonic() - t0:.2f} s\n" + out + rest
    found = re.search(r"interrupted: kept (\d+) finished files?", rest)
    assert found, rest
    assert "run the same command again" in rest and f"lingxi kb ingest conc {docs}" in rest
    kept = int(found.group(1))
    info = json.loads(lingxi("kb", "info", "conc", "--json").stdout)
    assert info["sources"] == kept and 1 <= kept < 43  # every finished file is in the KB, each whole; not all
    again = lingxi("kb", "ingest", "conc", str(docs), "--json")
    report = json.loads(again.stdout)
    assert again.returncode == 0 and report["unchanged"] == kept and len(report["added"]) == 43 - kept


@pytest.mark.timeout(300)
def test_embedding_progress_is_shown_and_kb_rm_stops_the_worker(kb, tmp_path):
    r = lingxi("kb", "ingest", "conc", str(files(tmp_path / "first", 20)), "--wait")
    assert r.returncode == 0 and re.search(r"^embeddings 20/20", r.stderr, re.M), r.stderr  # a line, not a bar
    assert "1,000,000" not in r.stdout + r.stderr
    report = json.loads(lingxi("kb", "ingest", "conc", str(files(tmp_path / "more", 1500)), "--json").stdout)  # enough that a fast machine is still embedding
    pid = report["embedding_worker_pid"]
    deadline, progress = time.monotonic() + 120, None
    while time.monotonic() < deadline and not (progress and progress.get("done")):
        progress = json.loads(lingxi("kb", "info", "conc", "--json").stdout)["embedding_progress"]
        time.sleep(0.5)
    assert progress and progress["total"] == 1500 and 0 < progress["done"] < 1500 and progress["pid"] == pid
    assert alive(pid)
    assert lingxi("kb", "rm", "-y", "conc").returncode == 0
    assert not alive(pid)  # stopped with its KB, not left writing into a removed folder
