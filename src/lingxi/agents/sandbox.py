"""The code interpreter: model-written Python in a shut-in child process.

    box = Sandbox(SandboxLimits(timeout_s=5, memory_mb=512))
    r = box.run("import statistics\\nstatistics.mean([1, 2, 3])", files={"data.csv": b"a,b\\n1,2\\n"})
    r.ok, r.result, r.stdout, r.files        # True, '2', '', {}

What holds the code in (see _runner.py for the child side): a separate process
in its own session, killed with its whole group at the wall-clock timeout; rlimits
for CPU, memory, file size, processes and open files; as root a new mount and
network namespace with a chroot holding only read-only system/Python directories
and the working directory (a tmpfs of `disk_mb`: a quota on all files together),
and a throw-away uid; an audit hook refusing sockets,
process creation, signals and ctypes. The working directory is fresh per run;
input files are copied in, new or changed files come back (regular files only,
never through symlinks), and the directory is removed afterwards.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lingxi.errors import ToolError

RUNNER = Path(__file__).with_name("_runner.py")
_UID_BASE = 1_100_000  # far above real users: each run gets its own uid, so RLIMIT_NPROC is its alone
FilesLike = dict[str, bytes | str | os.PathLike[str]] | list[str | os.PathLike[str]] | None


@dataclass
class SandboxLimits:
    timeout_s: float = 10.0
    memory_mb: int = 1024
    file_mb: int = 16
    disk_mb: int = 64  # all files of the working directory together (a tmpfs, where namespaces allow)
    processes: int = 16
    open_files: int = 64
    max_output_chars: int = 20_000
    max_return_mb: int = 20


@dataclass
class SandboxResult:
    ok: bool
    stdout: str = ""
    stderr: str = ""
    result: str | None = None
    value: Any = None
    error: str | None = None
    files: dict[str, bytes] = field(default_factory=dict)
    seconds: float = 0.0
    timed_out: bool = False
    isolation: dict[str, str] = field(default_factory=dict)

    def summary(self, limit: int = 4000) -> str:
        """What a model reads back: output, result or error, and the files made."""
        parts = []
        if self.stdout.strip():
            parts.append(f"stdout:\n{self.stdout.rstrip()}")
        if self.stderr.strip() and not self.ok:
            parts.append(f"stderr:\n{self.stderr.rstrip()[-1500:]}")
        if self.result is not None:
            parts.append(f"result: {self.result}")
        if self.error:
            parts.append(f"error: {self.error}")
        if self.files:
            parts.append("files: " + ", ".join(sorted(self.files)))
        text = "\n".join(parts) or "(no output)"
        return text if len(text) <= limit else text[: limit - 20] + "\n… [output cut]"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["files"] = {k: len(v) for k, v in self.files.items()}
        return d


class Sandbox:
    """Runs Python code in a fresh, shut-in child process per call (cheap to construct)."""

    def __init__(self, limits: SandboxLimits | None = None, python: str | None = None) -> None:
        self.limits = limits or SandboxLimits()
        self.python = python or sys.executable

    def __repr__(self) -> str:
        return f"Sandbox(timeout_s={self.limits.timeout_s}, memory_mb={self.limits.memory_mb})"

    def run(self, code: str, files: FilesLike = None) -> SandboxResult:
        base = Path(tempfile.mkdtemp(prefix="lingxi-sbx-"))
        try:
            return self._run_in(base, code, files)
        finally:
            shutil.rmtree(base, ignore_errors=True)

    def _run_in(self, base: Path, code: str, files: FilesLike) -> SandboxResult:
        work, newroot = base / "work", base / "root"
        work.mkdir()
        newroot.mkdir()
        uid = _UID_BASE + secrets.randbelow(1_000_000)
        inputs = _copy_in(work, files, uid if os.geteuid() == 0 else None)
        request = {
            "code": code, "workdir": str(work), "newroot": str(newroot), "uid": uid, "binds": _binds(self.python),
            "limits": self._limit_dict(), "max_result_chars": self.limits.max_output_chars,
        }  # fmt: skip
        started = time.perf_counter()
        with open(base / "stdout", "w+b") as fo, open(base / "stderr", "w+b") as fe, open(base / "result", "w+b") as fr:
            request["result_fd"] = fr.fileno()
            timed_out = self._spawn(request, fo, fe, fr)
            seconds = time.perf_counter() - started
            out, errs, lines = _read(fo, self.limits), _read(fe, self.limits), _read(fr, self.limits, 10**7)
        return _result(lines, out, errs, timed_out, seconds, _collect(work, inputs, self.limits), self.limits)

    def _limit_dict(self) -> dict[str, int]:
        lim = self.limits
        return {"cpu_s": max(1, int(lim.timeout_s + 0.999)), "memory_mb": lim.memory_mb, "file_mb": lim.file_mb,
                "disk_mb": max(lim.disk_mb, 1),
                "processes": lim.processes, "open_files": lim.open_files}

    def _spawn(self, request: dict[str, Any], fo: Any, fe: Any, fr: Any) -> bool:
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "MPLBACKEND": "Agg",
               "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        cmd = [self.python, "-I", "-X", "utf8", str(RUNNER)]
        try:
            proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=fo, stderr=fe, pass_fds=[fr.fileno()],
                                    start_new_session=True, env=env, cwd=request["workdir"])
        except OSError as exc:
            raise ToolError(f"The sandbox could not start Python ({self.python}): {exc}.",
                            "check that the interpreter exists and is executable") from exc
        timed_out = False
        try:
            proc.stdin.write(json.dumps(request).encode())  # type: ignore[union-attr]
            proc.stdin.close()  # type: ignore[union-attr]
        except BrokenPipeError:
            pass
        try:
            proc.wait(timeout=self.limits.timeout_s + 1.0)  # +1 s: the runner's own start-up
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            _kill_group(proc.pid)
            proc.wait()
        return timed_out


def run_code(code: str, files: FilesLike = None, limits: SandboxLimits | None = None) -> SandboxResult:
    """One-shot helper: `run_code("print(2**10)").stdout == "1024\\n"`."""
    return Sandbox(limits).run(code, files)


# -- helpers --------------------------------------------------------------------------------
def _binds(python: str) -> list[str]:
    """Read-only directories the child needs: the system's and the Python installation's."""
    prefixes = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
                str(Path(python).resolve().parent.parent)}
    paths = ["/usr", "/lib", "/lib64", "/lib32", "/bin", "/etc/localtime", "/etc/ld.so.cache", *sorted(prefixes)]
    out: list[str] = []
    for p in paths:
        if os.path.lexists(p) and not any(p == o or p.startswith(o.rstrip("/") + "/") for o in out):
            out.append(p)
    return out


def _copy_in(work: Path, files: FilesLike, uid: int | None) -> dict[str, tuple[int, int]]:
    items: list[tuple[str, Any]] = []
    if isinstance(files, dict):
        items = list(files.items())
    elif files:
        items = [(Path(f).name, f) for f in files]
    for name, src in items:
        dest = (work / name).resolve()
        if work.resolve() not in dest.parents:
            raise ToolError(f"The input file name '{name}' leaves the sandbox directory.", "use a plain relative name")
        dest.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(src, bytes):
            dest.write_bytes(src)
        else:
            try:
                shutil.copyfile(src, dest)
            except OSError as exc:
                raise ToolError(f"The input file '{src}' could not be copied into the sandbox: {exc}.",
                                "check the path") from exc
    if uid is not None:
        for p in [work, *work.rglob("*")]:
            os.lchown(p, uid, uid)
    return {str(p.relative_to(work)): (p.stat().st_size, p.stat().st_mtime_ns) for p in work.rglob("*") if p.is_file()}


def _collect(work: Path, inputs: dict[str, tuple[int, int]], limits: SandboxLimits) -> dict[str, bytes]:
    """New or changed regular files, read without following links, within the size budget."""
    out: dict[str, bytes] = {}
    budget = limits.max_return_mb << 20
    for dirpath, dirnames, filenames in os.walk(work, followlinks=False):
        dirnames[:] = [d for d in dirnames if not d.startswith((".", "__pycache__"))]
        for fname in filenames:
            path = Path(dirpath) / fname
            rel = str(path.relative_to(work))
            st = os.lstat(path)
            if not stat.S_ISREG(st.st_mode) or inputs.get(rel) == (st.st_size, st.st_mtime_ns) or st.st_size > budget:
                continue
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
            with os.fdopen(fd, "rb") as fh:
                out[rel] = fh.read(budget)
            budget -= len(out[rel])
    return out


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _read(fh: Any, limits: SandboxLimits, cap: int | None = None) -> str:
    fh.flush()
    fh.seek(0)
    data = fh.read(cap or limits.max_output_chars * 4)
    text = data.decode("utf-8", errors="replace")
    return text if cap or len(text) <= limits.max_output_chars else text[: limits.max_output_chars] + "\n… [cut]"


def _result(lines: str, out: str, errs: str, timed_out: bool, seconds: float, files: dict[str, bytes],
            limits: SandboxLimits) -> SandboxResult:
    parsed = [json.loads(line) for line in lines.splitlines() if line.strip().startswith("{")]
    isolation = parsed[0].get("isolation", {}) if parsed else {}
    report = parsed[1] if len(parsed) > 1 else None
    res = SandboxResult(ok=False, stdout=out, stderr=errs, files=files, seconds=seconds, timed_out=timed_out,
                        isolation=isolation)
    if timed_out:
        res.error = f"Timeout: the program ran longer than {limits.timeout_s:g} s and was stopped"
    elif report is None:
        res.error = "The program was killed before it finished (a CPU, memory or process limit, or a crash)"
    else:
        res.ok, res.result, res.value, res.error = report["ok"], report.get("result"), report.get("value"), report.get("error")
    return res
