"""The code-interpreter sandbox against real escape attempts (real child processes)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from lingxi.agents.sandbox import Sandbox, SandboxLimits, run_code

pytestmark = pytest.mark.skipif(os.name != "posix", reason="the sandbox needs POSIX rlimits")
BOX = Sandbox(SandboxLimits(timeout_s=3, memory_mb=512, file_mb=4, processes=8))


def test_runs_code_and_returns_result_stdout_and_files() -> None:
    code = "import csv, os\nrows = list(csv.reader(open('in.csv')))\nprint('rows', len(rows))\nos.makedirs('out')\n" \
           "open('out/sum.txt', 'w').write(str(sum(int(r[1]) for r in rows[1:])))\n2**100 + 17 * 3"
    r = BOX.run(code, files={"in.csv": b"name,n\na,1\nb,2\n"})
    assert r.ok, r.error
    assert r.result == "1267650600228229401496703205427" and r.value == 2**100 + 51
    assert r.stdout == "rows 3\n"
    assert r.files == {os.path.join("out", "sum.txt"): b"3"}  # the unchanged input does not come back


def test_errors_come_back_as_text() -> None:
    r = run_code("x = 1\n1 / 0", limits=SandboxLimits(timeout_s=3))
    assert not r.ok and r.error.startswith("ZeroDivisionError") and "line 2" in r.error


def test_cannot_read_files_outside_its_directory(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("s3cr3t")
    code = f"data = []\nfor p in [{str(secret)!r}, '/etc/passwd', '../stdout', {str(Path.cwd() / 'pyproject.toml')!r}]:\n" \
           "    try:\n        data.append(open(p).read())\n    except OSError as e:\n        data.append(type(e).__name__)\ndata"
    r = BOX.run(code)
    assert r.ok, r.error
    assert "s3cr3t" not in r.stdout + (r.result or "")
    assert all(v in ("FileNotFoundError", "PermissionError") for v in r.value), r.value


def test_cannot_open_sockets() -> None:
    code = "import socket\ns = socket.create_connection(('127.0.0.1', 22), timeout=1)"
    r = BOX.run(code)
    assert not r.ok and ("PermissionError" in r.error or "OSError" in r.error)


def test_fork_bomb_is_contained() -> None:
    r = BOX.run("import os\nwhile True:\n    os.fork()")
    assert not r.ok and "creating processes" in r.error
    if r.isolation.get("user", "same") != "same":  # the kernel limit too, going around the audit hook
        code = "import ctypes\nlibc = ctypes.CDLL(None)\npids = [libc.fork() for _ in range(40)]\nmin(pids)"
        started = time.monotonic()
        r = BOX.run(code)
        assert time.monotonic() - started < 10
        assert "-1" in r.stdout + str(r.result) or r.result == "-1" or not r.ok


def test_infinite_loop_is_stopped() -> None:
    box = Sandbox(SandboxLimits(timeout_s=1))
    started = time.monotonic()
    r = box.run("while True:\n    pass")
    assert time.monotonic() - started < 5
    assert not r.ok and (r.timed_out or "killed" in r.error)


def test_allocating_10_gb_fails_inside() -> None:
    r = BOX.run("x = bytearray(10 * 2**30)\nlen(x)")
    assert not r.ok and "MemoryError" in r.error


def test_writing_a_huge_file_is_cut() -> None:
    r = BOX.run("with open('big.bin', 'wb') as f:\n    for _ in range(1000):\n        f.write(b'x' * 2**20)")
    assert not r.ok and "File too large" in r.error
    assert len(r.files.get("big.bin", b"")) <= 4 * 2**20


def test_filling_the_disk_with_many_files_is_stopped() -> None:
    box = Sandbox(SandboxLimits(timeout_s=5, file_mb=4, disk_mb=8))
    r = box.run("for i in range(100):\n    open(f'part{i}.bin', 'wb').write(b'x' * 3 * 2**20)")
    if "disk" not in r.isolation:
        pytest.skip("the total-disk quota needs root (a tmpfs in a mount namespace)")
    assert not r.ok and "No space left on device" in r.error and r.isolation["disk"] == "tmpfs 8 MB"
    assert sum(map(len, r.files.values())) <= 8 * 2**20 and "part0.bin" in r.files  # what fitted comes back


def test_cannot_kill_its_parent() -> None:
    r = BOX.run("import os, signal\nos.kill(os.getppid(), signal.SIGKILL)")
    assert not r.ok and "PermissionError" in r.error
    assert os.getpid() > 0  # we are still here
    if r.isolation.get("user", "same") != "same":
        r = BOX.run(f"import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n(libc.kill({os.getpid()}, 9), ctypes.get_errno())")
        assert r.ok and r.value[0] == -1 and r.value[1] in (1, 3)  # EPERM (another uid) or ESRCH (PID namespace)


def test_isolation_is_reported_and_runs_are_independent() -> None:
    first = BOX.run("open('state.txt', 'w').write('1')\nimport os\nsorted(os.listdir('.'))")
    second = BOX.run("import os\nsorted(os.listdir('.'))")
    assert first.value == ["state.txt"] and second.value == []
    assert {"network", "filesystem", "user"} <= set(first.isolation)


def test_processes_left_behind_are_killed() -> None:
    code = ("import ctypes, time\nlibc = ctypes.CDLL(None)\npid = libc.fork()\n"
            "if pid == 0:\n    libc.setsid()\n    time.sleep(60)\n'parent done'")
    r = BOX.run(code)
    if not r.isolation.get("user", "same").startswith("uid "):
        pytest.skip("needs root for the PID namespace and the throw-away uid")
    assert r.ok and r.result == "'parent done'"
    uid = r.isolation["user"].split()[1]
    time.sleep(0.2)
    left = [p for p in Path("/proc").glob("[0-9]*") if _uid_of(p) == uid]
    assert left == []


def _uid_of(proc: Path) -> str | None:
    try:
        for line in (proc / "status").read_text().splitlines():
            if line.startswith("Uid:"):
                return line.split()[1]
    except OSError:
        return None
    return None
