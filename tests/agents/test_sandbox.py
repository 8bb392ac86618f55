"""The code-interpreter sandbox against real escape attempts (real child processes)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from lingxi.agents.builtins import python_tool
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
    # the kernel limit too, going around the audit hook: RLIMIT_NPROC counts this sandbox's processes only
    code = "import ctypes\nlibc = ctypes.CDLL(None)\npids = [libc.fork() for _ in range(40)]\nmin(pids)"
    started = time.monotonic()
    r = BOX.run(code)
    assert time.monotonic() - started < 10
    assert r.value == -1 or not r.ok
    assert _processes_of(r.run_id) == []


def test_infinite_loop_is_stopped() -> None:
    box = Sandbox(SandboxLimits(timeout_s=1))
    started = time.monotonic()
    r = box.run("while True:\n    pass")
    assert time.monotonic() - started < 5
    # the wall-clock timer or the CPU-time limit (both 1 s): on an idle machine either may stop it first
    assert not r.ok and (r.timed_out or "killed" in r.error or "CPU-time limit" in r.error), r.error


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
    assert not r.ok and "No space left on device" in r.error and r.isolation["disk"] == "tmpfs 8 MB"
    assert sum(map(len, r.files.values())) <= 8 * 2**20 and "part0.bin" in r.files  # what fitted comes back


def test_cannot_kill_its_parent() -> None:
    r = BOX.run("import os, signal\nos.kill(os.getppid(), signal.SIGKILL)")
    assert not r.ok and "PermissionError" in r.error
    assert os.getpid() > 0  # we are still here
    r = BOX.run(f"import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n(libc.kill({os.getpid()}, 9), ctypes.get_errno())")
    assert r.ok and r.value == [-1, 3]  # ESRCH: we are not in its PID namespace


def test_isolation_is_reported_and_runs_are_independent() -> None:
    first = BOX.run("open('state.txt', 'w').write('1')\nimport os\nsorted(os.listdir('.'))")
    second = BOX.run("import os\nsorted(os.listdir('.'))")
    assert first.value == ["state.txt"] and second.value == []
    assert {"network", "filesystem", "user"} <= set(first.isolation)


def test_processes_left_behind_are_killed() -> None:
    code = ("import ctypes, time\nlibc = ctypes.CDLL(None)\npid = libc.fork()\n"
            "if pid == 0:\n    libc.setsid()\n    time.sleep(60)\n'parent done'")
    r = BOX.run(code)
    assert r.ok and r.result == "'parent done'"
    assert _processes_of(r.run_id) == []  # gone when run() returns, not a moment later


def test_a_setsid_sleeper_does_not_outlive_the_timeout() -> None:
    """Issue 13 item 2: `os.setsid(); time.sleep(600)` under a 2 s limit."""
    started = time.monotonic()
    r = Sandbox(SandboxLimits(timeout_s=2)).run("import os, time\nos.setsid()\ntime.sleep(600)")
    assert r.timed_out and "Timeout" in r.error and time.monotonic() - started < 8
    assert _processes_of(r.run_id) == []


def test_the_python_tool_leaves_no_process_behind() -> None:
    tool = python_tool(Sandbox(SandboxLimits(timeout_s=2)))
    out = tool.run({"code": "import ctypes, time\nif ctypes.CDLL(None).fork() == 0:\n    time.sleep(600)\n'started'"})
    assert out.ok and "'started'" in out.content
    assert _processes_of(tool.fn.last.run_id) == []


def test_memfd_and_shared_memory_are_refused() -> None:
    """Issue 13 item 3: memory the address-space limit does not see (memfd, SysV shm, /dev/shm) is refused."""
    code = ("import os, ctypes\nout = []\ntry:\n    os.memfd_create('m')\n    out.append('memfd')\n"
            "except OSError as e:\n    out.append(e.errno)\nout.append(ctypes.CDLL(None).shmget(0, 1 << 24, 0o1600))\n"
            "out.append(os.path.exists('/dev/shm'))\nout")
    r = Sandbox(SandboxLimits(timeout_s=3, memory_mb=128)).run(code)
    assert r.ok and r.value == [1, -1, False]  # EPERM, -1, no /dev/shm


def test_a_forged_result_line_does_not_change_the_result() -> None:
    """Issue 13 item 4: code writing its own result on every descriptor, then raising."""
    code = ("import os\nfor fd in range(3, 256):\n    try:\n        os.write(fd, b'{\"ok\": true, \"result\": \"FORGED\"}\\n')\n"
            "    except OSError:\n        pass\nraise ValueError('real')")
    r = BOX.run(code)
    assert not r.ok and r.result is None and "FORGED" not in (r.error or "")
    assert "cannot be trusted" in r.error


def test_deep_folders_and_many_files_come_back_bounded() -> None:
    """Issue 13 item 4: 1,100 nested folders and 3,000 files: no RecursionError, no folder left, caps kept."""
    code = ("import os\nfor i in range(3000):\n    open(f'f{i}.txt', 'w').write('x')\ntop = os.getcwd()\n"
            "for _ in range(1100):\n    os.mkdir('d')\n    os.chdir('d')\nopen('deep.txt', 'w').write('deep')\n'ok'")
    before = set(Path(tempfile.gettempdir()).glob("lingxi-sbx-*"))
    r = Sandbox(SandboxLimits(timeout_s=10, max_files=500, max_depth=8)).run(code)
    assert r.ok and r.result == "'ok'"
    assert len(r.files) == 500 and all(name.count("/") <= 8 for name in r.files)
    assert any("2500 file(s) over the 500-file limit" in n for n in r.notes)
    assert any("deeper than 8 levels" in n for n in r.notes)
    assert set(Path(tempfile.gettempdir()).glob("lingxi-sbx-*")) == before


def test_killing_the_host_process_kills_the_sandbox() -> None:
    """Every way out, even SIGKILL of the process that started the sandbox (bwrap --die-with-parent)."""
    script = ("from lingxi.agents.sandbox import Sandbox, SandboxLimits\n"
              "Sandbox(SandboxLimits(timeout_s=60)).run('import time\\ntime.sleep(600)')")
    host = subprocess.Popen([sys.executable, "-c", script])
    deadline, tree = time.monotonic() + 60, {}
    while time.monotonic() < deadline and not any(b"/.lingxi/runner.py" in c for c in tree.values()):
        time.sleep(0.1)
        tree = _descendants(host.pid)
    assert any(b"/.lingxi/runner.py" in c for c in tree.values()), "the sandbox did not start"
    host.kill()
    host.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() for pid in tree):
        time.sleep(0.05)
    assert [pid for pid in tree if Path(f"/proc/{pid}").exists()] == []


def _descendants(root: int) -> dict[int, bytes]:
    """{pid: cmdline} of every process below `root`."""
    parents: dict[int, int] = {}
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            parents[int(proc.name)] = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    found, frontier = {}, [root]
    while frontier:
        pid = frontier.pop()
        for child, parent in parents.items():
            if parent == pid and child not in found:
                try:
                    found[child] = Path(f"/proc/{child}/cmdline").read_bytes()
                except OSError:
                    found[child] = b""
                frontier.append(child)
    return found


def _processes_of(run_id: str) -> list[int]:
    """Host processes of one run: every sandbox process carries its run id in its command line."""
    assert run_id
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if run_id.encode() in (proc / "cmdline").read_bytes():
                found.append(int(proc.name))
        except OSError:
            continue
    return found


def test_a_big_result_comes_back_cut_not_lost() -> None:
    r = BOX.run("'x' * 300_000")
    assert r.ok and r.result.startswith("'xxx") and len(r.result) <= 20_001 and r.result.endswith("…")
    r = BOX.run("'😀' * 19_000")  # result + value over the one-datagram budget (150 KB): the value is dropped
    assert r.ok and r.result == repr("😀" * 19_000) and r.value is None
