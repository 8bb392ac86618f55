"""The code interpreter: model-written Python in a shut-in child process.

    box = Sandbox(SandboxLimits(timeout_s=5, memory_mb=512))
    r = box.run("import statistics\\nstatistics.mean([1, 2, 3])", files={"data.csv": b"a,b\\n1,2\\n"})
    r.ok, r.result, r.stdout, r.files        # True, '2', '', {}

What holds the code in, as root and as any other user (_isolation.py builds it,
_runner.py is the inside): bubblewrap namespaces (a private read-only root with a
tmpfs of `disk_mb` as the working directory, no network, its own PID namespace),
a seccomp filter (no memfd or SysV shared memory, no nested namespaces, no
ptrace), no capabilities, a throw-away uid when lingxi runs as root, and rlimits
for CPU, memory, file size, processes and open files. Where that wall cannot be
built (no bwrap, no libseccomp, no user namespaces), `run` raises a ToolError
and runs nothing.

Nothing outlives a run: the PID namespace is killed as a whole at the timeout
and on every other way out. No folder is made on the host: the request, stdout,
stderr and the result records go through unnamed temporary files. Files come
back through the runner's own channel, bounded in depth, count and total bytes.
"""

from __future__ import annotations

import json
import os
import secrets
import select
import signal
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from lingxi.agents import _isolation
from lingxi.errors import ToolError

_UID_BASE = 1_100_000  # as root, each run gets its own uid far above real users: RLIMIT_NPROC is its alone
_GRACE_S = 5.0  # on top of timeout_s: start-up and copying files back; the runner enforces timeout_s itself
_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "MPLBACKEND": "Agg",
        "HOME": "/sandbox", "TMPDIR": "/tmp", "MPLCONFIGDIR": "/sandbox/.mpl",
        "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
FilesLike = dict[str, bytes | str | os.PathLike[str]] | list[str | os.PathLike[str]] | None


@dataclass
class SandboxLimits:
    timeout_s: float = 10.0
    memory_mb: int = 1024
    file_mb: int = 16
    disk_mb: int = 64  # all files of the working directory together (a tmpfs)
    processes: int = 16
    open_files: int = 64
    max_output_chars: int = 20_000
    max_return_mb: int = 20  # total bytes of the files copied back
    max_files: int = 1000  # files copied back
    max_depth: int = 32  # folders deep, for files copied back


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
    notes: list[str] = field(default_factory=list)
    run_id: str = ""

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
        parts += [f"note: {n}" for n in self.notes]
        text = "\n".join(parts) or "(no output)"
        return text if len(text) <= limit else text[: limit - 20] + "\n… [output cut]"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["files"] = {k: len(v) for k, v in self.files.items()}
        return d


class Sandbox:
    """Runs Python code in a fresh, shut-in child process per call (cheap to construct)."""

    def __init__(self, limits: SandboxLimits | None = None, python: str | None = None,
                 bwrap: str | None = None) -> None:
        self.limits = limits or SandboxLimits()
        self.python = python or sys.executable
        self.bwrap = bwrap

    def __repr__(self) -> str:
        return f"Sandbox(timeout_s={self.limits.timeout_s}, memory_mb={self.limits.memory_mb})"

    def run(self, code: str, files: FilesLike = None) -> SandboxResult:
        plan = _isolation.plan(self.bwrap)  # fail closed: a ToolError, and nothing runs
        inputs = _inputs(files, self.limits)
        run_id = secrets.token_hex(8)
        uid = _UID_BASE + secrets.randbelow(1_000_000)
        with tempfile.TemporaryFile() as fin, tempfile.TemporaryFile() as fo, tempfile.TemporaryFile() as fe, \
                tempfile.TemporaryFile() as fr:
            _write_request(fin, code, inputs, self.limits, fr.fileno())
            started = time.perf_counter()
            timed_out = self._spawn(plan, uid, run_id, fin, fo, fe, fr)
            seconds = time.perf_counter() - started
            out, errs = _text(fo, self.limits), _text(fe, self.limits)
            records = _Records(fr, self.limits)
        if records.start is None:
            raise _not_started(errs, timed_out, self.limits.timeout_s + _GRACE_S)
        isolation = {**plan.isolation, "disk": f"tmpfs {self.limits.disk_mb} MB",
                     "user": f"uid {uid} (throw-away)" if plan.root else f"uid {os.getuid()} in a user namespace"}
        res = SandboxResult(ok=False, stdout=out, stderr=errs, files=records.files, seconds=seconds,
                            timed_out=timed_out or records.timed_out, isolation=isolation, notes=records.notes,
                            run_id=run_id)
        if res.timed_out:
            res.error = f"Timeout: the program ran longer than {self.limits.timeout_s:g} s and was stopped"
        elif records.report is None:
            res.error = "The program was killed before it finished (a CPU, memory or process limit, or a crash)"
        else:
            rep = records.report
            res.ok, res.result, res.value = bool(rep.get("ok")), rep.get("result"), rep.get("value")
            res.error = rep.get("error")
        return res

    def _spawn(self, plan: _isolation.Plan, uid: int, run_id: str, fin: Any, fo: Any, fe: Any, fr: Any) -> bool:
        info_r, info_w = os.pipe()
        bpf_r, bpf_w = os.pipe()
        os.write(bpf_w, _seccomp_program())
        os.close(bpf_w)
        argv = _isolation.command(plan, self.python, uid, max(self.limits.disk_mb, 1), run_id, info_w, bpf_r)
        try:
            proc = subprocess.Popen(argv, stdin=fin, stdout=fo, stderr=fe, pass_fds=[fr.fileno(), info_w, bpf_r],
                                    start_new_session=True, env=_ENV, cwd="/")
        except OSError as exc:
            raise ToolError(f"The sandbox could not start bubblewrap ({plan.bwrap}): {exc}.",
                            _isolation.BWRAP_HINT) from exc
        finally:
            os.close(info_w)
            os.close(bpf_r)
        pidfd, timed_out = None, False
        try:
            pidfd = _namespace_init(info_r)
            proc.wait(timeout=self.limits.timeout_s + _GRACE_S)
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            os.close(info_r)
            _stop(proc, pidfd)
        return timed_out


def run_code(code: str, files: FilesLike = None, limits: SandboxLimits | None = None) -> SandboxResult:
    """One-shot helper: `run_code("print(2**10)").stdout == "1024\\n"`."""
    return Sandbox(limits).run(code, files)


# -- starting and stopping ----------------------------------------------------------------------
def _seccomp_program() -> bytes:
    from lingxi.agents._seccomp import filter_program

    return filter_program()


def _namespace_init(info_r: int) -> int | None:
    """A pidfd for the sandbox's PID 1 (from bwrap's --info-fd): killing it kills the whole namespace."""
    buf, deadline = b"", time.monotonic() + 10.0
    while time.monotonic() < deadline:
        ready, _, _ = select.select([info_r], [], [], max(deadline - time.monotonic(), 0))
        chunk = os.read(info_r, 4096) if ready else b""
        if not chunk:
            return None
        buf += chunk
        try:
            pid = int(json.loads(buf)["child-pid"])
        except (ValueError, KeyError, TypeError):
            continue
        try:
            return os.pidfd_open(pid)
        except (AttributeError, OSError):
            return None
    return None


def _stop(proc: subprocess.Popen, pidfd: int | None) -> None:
    """On every way out: SIGKILL the namespace's PID 1 (the kernel then kills everything in it), wait until it
    is gone, then bwrap itself."""
    if pidfd is not None:
        try:
            signal.pidfd_send_signal(pidfd, signal.SIGKILL)
        except (ProcessLookupError, PermissionError, OSError):
            pass
        select.select([pidfd], [], [], 5.0)  # readable once PID 1 and so every process in the namespace is gone
        os.close(pidfd)
    if proc.returncode is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    proc.wait()


def _not_started(errs: str, timed_out: bool, waited: float) -> ToolError:
    if timed_out:
        return ToolError(f"The sandbox did not start within {waited:g} s, so no code was run.",
                         "the machine may be overloaded: try again, or raise SandboxLimits.timeout_s")
    lines = [ln for ln in errs.splitlines() if ln.strip()]
    bwrap = next((ln for ln in lines if ln.startswith("bwrap:")), None)
    if bwrap:
        userns = "namespace" in bwrap.lower() or "permission" in bwrap.lower()
        hint = _isolation.USERNS_HINT if userns else _isolation.BWRAP_HINT
        return ToolError(f"bubblewrap could not build the sandbox ({bwrap.strip()}), so no code was run.", hint)
    tail = " / ".join(lines[-3:])[-400:] or "no message"
    return ToolError(f"The sandbox's runner did not start ({tail}), so no code was run.",
                     "check that the Python installation is readable by other users (the sandbox runs it unprivileged)")


# -- the way in -----------------------------------------------------------------------------------
def _inputs(files: FilesLike, limits: SandboxLimits) -> list[tuple[str, bytes]]:
    """(relative name, bytes) for each input file: bytes as given, anything else a path read here."""
    items: list[tuple[str, Any]] = []
    if isinstance(files, dict):
        items = list(files.items())
    elif files:
        items = [(Path(f).name, f) for f in files]
    out, left = [], limits.disk_mb << 20
    for name, src in items:
        rel = _safe_name(str(name))
        data = src if isinstance(src, bytes) else _read_input(src, left, limits)
        left -= len(data)
        if left < 0:
            raise _too_big(limits)
        out.append((rel, data))
    return out


def _too_big(limits: SandboxLimits) -> ToolError:
    return ToolError(f"The input files add up to more than the sandbox's {limits.disk_mb} MB disk.",
                     "pass fewer or smaller files, or raise SandboxLimits.disk_mb")


def _read_input(src: Any, left: int, limits: SandboxLimits) -> bytes:
    try:
        st = os.stat(src)
        if not stat.S_ISREG(st.st_mode):
            raise ToolError(f"The input file '{src}' is not a regular file.", "pass regular files only")
        if st.st_size > left:
            raise _too_big(limits)
        with open(src, "rb") as fh:
            return fh.read(left + 1)
    except OSError as exc:
        raise ToolError(f"The input file '{src}' could not be read for the sandbox: {exc}.", "check the path") from exc


def _safe_name(name: str) -> str:
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if not parts or name.startswith("/") or any(p in ("..", ".", "") for p in parts):
        raise ToolError(f"The input file name '{name}' leaves the sandbox directory.", "use a plain relative name")
    return "/".join(parts)


def _write_request(fin: Any, code: str, inputs: list[tuple[str, bytes]], lim: SandboxLimits, result_fd: int) -> None:
    limits = {"cpu_s": max(1, int(lim.timeout_s + 0.999)), "memory_mb": lim.memory_mb, "file_mb": lim.file_mb,
              "processes": lim.processes, "open_files": lim.open_files, "timeout_s": lim.timeout_s,
              "max_files": lim.max_files, "max_depth": lim.max_depth, "max_return_bytes": lim.max_return_mb << 20}
    request = {"code": code, "limits": limits, "max_result_chars": lim.max_output_chars, "result_fd": result_fd,
               "files": [[rel, len(data)] for rel, data in inputs]}
    fin.write(json.dumps(request).encode() + b"\n")
    for _, data in inputs:
        fin.write(data)
    fin.flush()
    fin.seek(0)


# -- the way out ----------------------------------------------------------------------------------
def _text(fh: Any, limits: SandboxLimits) -> str:
    fh.flush()
    fh.seek(0)
    text = fh.read(limits.max_output_chars * 4).decode("utf-8", errors="replace")
    return text if len(text) <= limits.max_output_chars else text[: limits.max_output_chars] + "\n… [cut]"


class _Records:
    """The runner's records (start, report, files, end), read with the same bounds the runner keeps."""

    def __init__(self, fh: Any, limits: SandboxLimits) -> None:
        self.start: dict | None = None
        self.report: dict | None = None
        self.timed_out = False
        self.files: dict[str, bytes] = {}
        self.notes: list[str] = []
        self._limits = limits
        fh.flush()
        fh.seek(0)
        try:
            self._read(fh)
        except (ValueError, KeyError, TypeError):
            self.notes.append("the sandbox's result records were cut short")

    def _read(self, fh: Any) -> None:
        budget = self._limits.max_return_mb << 20
        while line := fh.readline(4 << 20):
            rec = json.loads(line)
            kind = rec["kind"]
            if kind == "start":
                self.start = rec
            elif kind == "report":
                self.report, self.timed_out = rec["report"], bool(rec["timed_out"])
            elif kind == "file":
                data = fh.read(int(rec["size"]))
                if self._accept(rec["path"], data, budget):
                    self.files[rec["path"]] = data
                    budget -= len(data)
            elif kind == "end":
                self.notes += _skip_notes(rec["skipped"], self._limits, rec.get("complete", True))
                return

    def _accept(self, path: str, data: bytes, budget: int) -> bool:
        parts = PurePosixPath(path).parts
        return (len(self.files) < self._limits.max_files and len(data) <= budget and not path.startswith("/")
                and ".." not in parts and len(parts) <= self._limits.max_depth + 1)


def _skip_notes(skipped: dict, lim: SandboxLimits, complete: bool) -> list[str]:
    notes = []
    if skipped.get("depth"):
        notes.append(f"{skipped['depth']} folder(s) deeper than {lim.max_depth} levels were not copied back")
    if skipped.get("count"):
        notes.append(f"{skipped['count']} file(s) over the {lim.max_files}-file limit were not copied back")
    if skipped.get("size"):
        notes.append(f"{skipped['size']} file(s) over the {lim.max_return_mb} MB return budget were not copied back")
    if skipped.get("special"):
        notes.append(f"{skipped['special']} link(s) or special file(s) were not copied back")
    if not complete:
        notes.append("the working directory had too many entries to look through all of them")
    return notes
