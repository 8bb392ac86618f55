"""The inside of the code-interpreter sandbox (stdlib only): `python -I _runner.py RUN_ID` under bwrap.

It starts inside the wall that _isolation.py builds (private root, namespaces,
seccomp, no capabilities) as the *supervisor*:

1. reads the request (one JSON line, then the input files' bytes) from stdin and
   writes the files into /sandbox (a tmpfs of `disk_mb`);
2. forks the *worker*, which drops the supervisor's channel to the host, sets the
   rlimits, installs an audit hook (defence in depth, never the wall), runs the
   code and sends its report as ONE datagram on a private SOCK_SEQPACKET socket;
3. waits for it at most `timeout_s`, then SIGKILLs every process the code left
   in the PID namespace (`kill(-1)`), so nothing outlives the run;
4. trusts the report only if exactly one datagram came (code that writes its own
   "result" on any descriptor makes two: the run is then reported as tampered);
5. writes the records for the host on the descriptor only it holds: start,
   report, then the new or changed regular files, bounded in depth, count and
   bytes, walked without recursion and never through links.
"""

import ast
import json
import os
import resource
import _socket
import select
import signal
import sys
import time
import traceback

WORK = "/sandbox"
MAX_REPORT = 150_000  # bytes in the worker's one datagram (the socket buffer holds ~200 KB)
MAX_ENTRIES = 100_000  # directory entries looked at when collecting files

_BLOCKED = {
    "socket.__new__": "network access", "socket.connect": "network access", "socket.bind": "network access",
    "socket.getaddrinfo": "network access", "socket.gethostbyname": "network access",
    "os.fork": "creating processes", "os.forkpty": "creating processes", "os.posix_spawn": "creating processes",
    "os.spawn": "creating processes", "os.exec": "creating processes", "os.system": "creating processes",
    "subprocess.Popen": "creating processes", "os.kill": "signalling processes", "os.killpg": "signalling processes",
    "signal.pthread_kill": "signalling processes", "os.chroot": "chroot",
}


def main() -> None:
    request = json.loads(sys.stdin.buffer.readline())
    out = os.fdopen(request["result_fd"], "wb")
    lim = request["limits"]
    inputs = receive_files(sys.stdin.buffer, request["files"])
    devnull = os.open("/dev/null", os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    record(out, {"kind": "start", "uid": os.getuid(), "pid": os.getpid()})
    mine, theirs = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_SEQPACKET)  # _socket: no enum/selectors
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:
        mine.close()
        out.close()
        worker(request, theirs)
    theirs.close()
    status, timed_out = wait_for(pid, lim["timeout_s"])
    kill_the_rest()
    messages = drain(mine)
    report = judge(messages, status, timed_out)
    record(out, {"kind": "report", "report": report, "timed_out": timed_out,
                 "seconds": round(time.monotonic() - started, 4)})
    send_files(out, inputs, lim)
    out.close()


def record(out, obj: dict, data: bytes = b"") -> None:
    out.write(json.dumps(obj, ensure_ascii=False).encode() + b"\n" + data)
    out.flush()


def receive_files(stream, files: list) -> dict:
    """Input files into /sandbox; returns {path: (size, mtime_ns)} to skip them when unchanged."""
    seen = {}
    for rel, size in files:
        path = os.path.join(WORK, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as fh:
            left = size
            while left > 0:
                chunk = stream.read(min(left, 1 << 20))
                if not chunk:
                    break
                fh.write(chunk)
                left -= len(chunk)
        st = os.stat(path)
        seen[rel] = (st.st_size, st.st_mtime_ns)
    return seen


# -- the supervisor's side --------------------------------------------------------------------
def wait_for(pid: int, timeout: float) -> tuple:
    """(wait status or None, timed_out) after at most `timeout` seconds."""
    deadline = time.monotonic() + timeout
    try:
        pidfd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        pidfd = None
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status, False
        left = deadline - time.monotonic()
        if left <= 0:
            os.kill(pid, signal.SIGKILL)
            return os.waitpid(pid, 0)[1], True
        if pidfd is not None:
            select.select([pidfd], [], [], left)
        else:
            time.sleep(min(left, 0.005))


def kill_the_rest() -> None:
    """SIGKILL every other process of the sandbox (kill(-1) spares only us and PID 1), until none is left."""
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline:
        try:
            os.kill(-1, signal.SIGKILL)
        except ProcessLookupError:
            return
        try:
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass
        except ChildProcessError:
            pass
        time.sleep(0.001)


def drain(sock) -> list:
    sock.setblocking(False)
    messages = []
    while True:
        try:
            data = sock.recv(MAX_REPORT + 1024)
        except (BlockingIOError, OSError):
            return messages
        if not data:
            return messages
        messages.append(data)
        if len(messages) > 2:
            return messages


def judge(messages: list, status, timed_out: bool):
    """The worker's report, if it can be trusted; otherwise a report saying why not (or None)."""
    if timed_out:
        return None
    if len(messages) > 1:
        return {"ok": False, "error": "The program wrote into the sandbox's result channel, so its result "
                                      "cannot be trusted"}
    code = os.waitstatus_to_exitcode(status) if status is not None else None
    if len(messages) == 1 and code == 0:
        try:
            report = json.loads(messages[0])
        except ValueError:
            report = None
        if isinstance(report, dict) and isinstance(report.get("ok"), bool):
            return report
    return {"ok": False, "error": death(code)}


def death(code) -> str:
    if code is not None and code < 0:
        name = {signal.SIGXCPU: "the CPU-time limit", signal.SIGKILL: "a kill (memory, CPU or process limit)",
                signal.SIGSEGV: "a crash (segmentation fault)"}.get(-code, f"signal {-code}")
        return f"The program was stopped by {name} before it finished"
    return f"The program ended (exit status {code}) before it finished"


def send_files(out, inputs: dict, lim: dict) -> None:
    """New or changed regular files: iterative walk, no links, bounded depth, count, bytes and entries."""
    budget, count, looked = lim["max_return_bytes"], 0, 0
    skipped = {"depth": 0, "count": 0, "size": 0, "special": 0}
    stack = [("", 0)]
    while stack and looked < MAX_ENTRIES:
        rel_dir, depth = stack.pop()
        try:
            with os.scandir(os.path.join(WORK, rel_dir)) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError:
            continue
        dirs = []
        for entry in entries:
            looked += 1
            rel = os.path.join(rel_dir, entry.name) if rel_dir else entry.name
            if entry.is_dir(follow_symlinks=False):
                if entry.name.startswith(".") or entry.name == "__pycache__":
                    continue
                if depth + 1 >= lim["max_depth"]:
                    skipped["depth"] += 1
                else:
                    dirs.append((rel, depth + 1))
            elif not entry.is_file(follow_symlinks=False):
                skipped["special"] += 1
            else:
                st = entry.stat(follow_symlinks=False)
                if inputs.get(rel) == (st.st_size, st.st_mtime_ns):
                    continue
                if count >= lim["max_files"]:
                    skipped["count"] += 1
                elif st.st_size > budget:
                    skipped["size"] += 1
                else:
                    data = read_file(os.path.join(WORK, rel), budget)
                    if data is not None:
                        record(out, {"kind": "file", "path": rel, "size": len(data)}, data)
                        budget -= len(data)
                        count += 1
        stack.extend(reversed(dirs))
    record(out, {"kind": "end", "skipped": skipped, "complete": not stack and looked < MAX_ENTRIES})


def read_file(path: str, budget: int):
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as fh:
        return fh.read(budget)


# -- the worker's side ------------------------------------------------------------------------
def worker(request: dict, sock) -> None:
    """Runs the code; never returns."""
    try:
        os.environ["HOME"] = WORK
        set_limits(request["limits"])
        install_hook()
        report = execute(request["code"], request.get("max_result_chars", 20000))
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError, AttributeError):
                pass
        send_report(sock, report)
    finally:
        os._exit(0)


def send_report(sock, report: dict) -> None:
    """One datagram; when it is too big for the socket, a shorter one (ok, error and the start of the result)."""
    data = json.dumps(report, ensure_ascii=False).encode()
    for cap in (MAX_REPORT, 4000):
        if len(data) > cap:
            small = {k: report.get(k) for k in ("ok", "error") if report.get(k) is not None}
            small["error"] = (small.get("error") or "")[: cap // 4] or None
            small["result"] = (report.get("result") or "")[: cap // 4] or None
            data = json.dumps(small, ensure_ascii=False).encode()
        try:
            sock.send(data)
            return
        except OSError:
            continue
    os._exit(3)


def set_limits(limits: dict) -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writing past the limit raises OSError(EFBIG) instead
    pairs = {
        resource.RLIMIT_CPU: (limits["cpu_s"], limits["cpu_s"] + 1),
        resource.RLIMIT_AS: (limits["memory_mb"] << 20,) * 2,
        resource.RLIMIT_FSIZE: (limits["file_mb"] << 20,) * 2,
        resource.RLIMIT_NOFILE: (limits["open_files"],) * 2,
        resource.RLIMIT_CORE: (0, 0),
        # counted per user namespace (or per throw-away uid): bwrap's init, the supervisor and us, then the code
        resource.RLIMIT_NPROC: (limits["processes"] + 3,) * 2,
    }
    for what, (soft, hard) in pairs.items():
        try:
            resource.setrlimit(what, (soft, hard))
        except (ValueError, OSError):  # cannot raise a hard limit: lower the soft one only
            cur_hard = resource.getrlimit(what)[1]
            if cur_hard == resource.RLIM_INFINITY or cur_hard > soft:
                resource.setrlimit(what, (soft, cur_hard))


def install_hook() -> None:
    """Refuses sockets, process creation and signals at the Python level: defence in depth only
    (the namespaces, seccomp and rlimits hold even when code disables this hook)."""

    def hook(event: str, args: tuple) -> None:
        if event in _BLOCKED or event.startswith(("os.exec", "os.spawn")):
            reason = _BLOCKED.get(event, "creating processes")
            raise PermissionError(f"The sandbox does not allow {reason} ({event}).")

    sys.addaudithook(hook)


def execute(code: str, max_chars: int) -> dict:
    scope = {"__name__": "__main__", "__builtins__": __builtins__}
    try:
        tree = ast.parse(code, "<sandbox>")
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        exec(compile(tree, "<sandbox>", "exec"), scope)
        if last is not None:
            value = eval(compile(ast.Expression(last.value), "<sandbox>", "eval"), scope)
        else:
            value = scope.get("result")
    except SystemExit as exc:
        return {"ok": exc.code in (None, 0), "error": None if exc.code in (None, 0) else f"SystemExit: {exc.code}"}
    except MemoryError:
        return {"ok": False, "error": "MemoryError: the program needed more memory than the sandbox allows"}
    except BaseException as exc:  # noqa: BLE001 - everything goes back as text
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == "<sandbox>"]
        where = f" (line {frames[-1].lineno})" if frames else ""
        tb = "".join(traceback.format_exception(exc))[-max_chars:]
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}{where}"[:max_chars], "traceback": tb}
    return {"ok": True, **encode(value, max_chars)}


def encode(value, max_chars: int) -> dict:
    if value is None:
        return {"result": None}
    try:
        text = repr(value)
    except Exception as exc:  # noqa: BLE001 - a repr that fails (or int digits over the str limit)
        text = f"<{type(value).__name__}: repr failed: {exc}>"
    try:
        data = json.loads(json.dumps(value))
    except (TypeError, ValueError, RecursionError):
        data = None
    if len(text) > max_chars:
        text, data = text[:max_chars] + "…", None
    return {"result": text, "value": data}


if __name__ == "__main__":
    main()
