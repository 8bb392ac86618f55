"""The child side of the code-interpreter sandbox (stdlib only; run as `python -I _runner.py`).

It reads one JSON request on stdin, shuts itself in, then runs the code:

1. as root: a new mount + network namespace (`unshare`), a fresh tmpfs root with
   read-only bind mounts of the system and Python directories and, at /sandbox, a
   tmpfs of `disk_mb` holding a copy of the working directory (copied back when the
   code ends), `chroot` into it, then a throw-away uid/gid with
   no-new-privileges — so files outside the working directory do not exist, the
   network has no interface that is up, and RLIMIT_NPROC applies to it alone;
   as another user: a user + network namespace where the kernel allows it;
2. rlimits for CPU, address space, file size, processes, open files, cores;
3. an audit hook that refuses sockets, process creation, signals to other
   processes and ctypes (and, when there is no chroot, files outside the working
   directory and the Python installation).

Only stdout, stderr and one JSON result line (on the fd named in the request) go back.
"""

import ast
import json
import os
import resource
import signal
import sys
import traceback

CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWNET, CLONE_NEWPID = 0x00020000, 0x10000000, 0x40000000, 0x20000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 2, 4, 32, 4096, 16384, 1 << 18
PR_SET_NO_NEW_PRIVS = 38
DEVICES = ("/dev/null", "/dev/zero", "/dev/urandom", "/dev/random")

_BLOCKED = {
    "socket.__new__": "network access", "socket.connect": "network access", "socket.bind": "network access",
    "socket.getaddrinfo": "network access", "socket.gethostbyname": "network access",
    "os.fork": "creating processes", "os.forkpty": "creating processes", "os.posix_spawn": "creating processes",
    "os.spawn": "creating processes", "os.exec": "creating processes", "os.system": "creating processes",
    "subprocess.Popen": "creating processes", "os.kill": "signalling processes", "os.killpg": "signalling processes",
    "signal.pthread_kill": "signalling processes", "os.chroot": "chroot",
}
# without the chroot and throw-away uid, ctypes could step around the hook; with them, the kernel
# holds the line and ctypes stays allowed (numpy needs it)
_CTYPES = {"ctypes.dlopen", "ctypes.dlsym", "ctypes.cdata", "ctypes.call_function"}


def main() -> None:
    request = json.loads(sys.stdin.read())
    out = os.fdopen(request["result_fd"], "w", encoding="utf-8")
    isolation = isolate(request)
    out.write(json.dumps({"isolation": isolation}) + "\n")
    out.flush()
    install_hook(request, chrooted=isolation["filesystem"] == "chroot")
    report = execute(request["code"], request.get("max_result_chars", 20000))
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except OSError:
        pass
    out.write(json.dumps(report, ensure_ascii=False) + "\n")
    out.flush()


# -- shutting in ----------------------------------------------------------------------------
def isolate(req: dict) -> dict:
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    info = {"network": "audit-hook", "filesystem": "audit-hook", "user": "same"}
    root = os.geteuid() == 0
    if root and libc.unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID) == 0:
        info["network"] = "namespace"
        become_pid_one(req)
        try:
            make_root(libc, req)
            info["filesystem"] = "chroot"
            info["disk"] = f"tmpfs {req['limits']['disk_mb']} MB"
        except OSError as exc:
            info["filesystem"] = f"audit-hook (chroot failed: {exc})"
    elif libc.unshare(CLONE_NEWNET) == 0 or libc.unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0:
        info["network"] = "namespace"
    workdir = "/sandbox" if info["filesystem"] == "chroot" else req["workdir"]
    os.chdir(workdir)
    os.environ.update(HOME=workdir, TMPDIR=workdir, MPLCONFIGDIR=os.path.join(workdir, ".mpl"))
    set_limits(req["limits"], own_user=info["filesystem"] == "chroot")
    if info["filesystem"] == "chroot":
        uid = req["uid"]
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
        info["user"] = f"uid {uid}"
    libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    del libc
    for name in [m for m in sys.modules if m == "ctypes" or m.startswith(("ctypes.", "_ctypes"))]:
        del sys.modules[name]
    return info


def become_pid_one(req: dict) -> None:
    """Fork into the new PID namespace: when its PID 1 (the code's process) ends, the kernel kills
    every process the code left behind, even those that left the process group with setsid().
    This parent stays root and outside the chroot: afterwards it copies the files the code left in
    its size-limited tmpfs working directory back to the real one."""
    pid = os.fork()
    if pid == 0:
        return
    _, status = os.waitpid(pid, 0)
    work = os.path.join(req["newroot"], "sandbox")
    if os.path.ismount(work):
        copy_tree(work, req["workdir"])
    os._exit(os.waitstatus_to_exitcode(status) & 0xFF)


def copy_tree(src: str, dst: str) -> None:
    """Regular files and directories only, never through a link, keeping modification times."""
    import shutil
    import stat

    for dirpath, dirnames, filenames in os.walk(src, followlinks=False):
        rel = os.path.relpath(dirpath, src)
        os.makedirs(os.path.join(dst, rel), exist_ok=True)
        for name in filenames:
            path = os.path.join(dirpath, name)
            if stat.S_ISREG(os.lstat(path).st_mode):
                target = os.path.join(dst, rel, name)
                if os.path.lexists(target) and not os.path.isfile(target):
                    continue
                fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
                with os.fdopen(fd, "rb") as fin, open(target, "wb") as fout:
                    shutil.copyfileobj(fin, fout)
                shutil.copystat(path, target, follow_symlinks=False)


def mount(libc, source, target, fstype, flags, data=None) -> None:
    enc = lambda s: None if s is None else s.encode()  # noqa: E731
    if libc.mount(enc(source), enc(target), enc(fstype), flags, enc(data)) != 0:
        import ctypes

        err = ctypes.get_errno()
        raise OSError(err, f"mount {source} on {target}: {os.strerror(err)}")


def make_root(libc, req: dict) -> None:
    new = req["newroot"]
    mount(libc, None, "/", None, MS_REC | MS_PRIVATE)
    mount(libc, "tmpfs", new, "tmpfs", MS_NOSUID | MS_NODEV, "size=8m,mode=755")
    for src in req["binds"]:
        bind(libc, src, new + src, readonly=True)
    for dev in DEVICES:
        if os.path.exists(dev):
            bind(libc, dev, new + dev, readonly=False, nodev=False)
    # the working directory: a tmpfs of disk_mb (a total-disk quota), the input files copied in
    os.makedirs(new + "/sandbox")
    mount(libc, "tmpfs", new + "/sandbox", "tmpfs", MS_NOSUID | MS_NODEV,
          f"size={req['limits']['disk_mb']}m,mode=700,uid={req['uid']},gid={req['uid']}")
    copy_tree(req["workdir"], new + "/sandbox")
    for dirpath, dirnames, filenames in os.walk(new + "/sandbox"):
        for name in [*dirnames, *filenames]:
            os.lchown(os.path.join(dirpath, name), req["uid"], req["uid"])
    os.makedirs(new + "/tmp", exist_ok=True)
    os.chmod(new + "/tmp", 0o1777)
    os.chroot(new)


def bind(libc, src: str, dst: str, readonly: bool, nodev: bool = True) -> None:
    if os.path.islink(src):
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        if not os.path.lexists(dst):
            os.symlink(os.readlink(src), dst)
        return
    if not os.path.exists(src):
        return
    if os.path.isdir(src):
        os.makedirs(dst, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        open(dst, "a").close()
    mount(libc, src, dst, None, MS_BIND | MS_REC)
    flags = MS_BIND | MS_REMOUNT | MS_NOSUID | (MS_NODEV if nodev else 0) | (MS_RDONLY if readonly else 0)
    mount(libc, None, dst, None, flags)


def set_limits(limits: dict, own_user: bool) -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writing past the limit raises OSError(EFBIG) instead
    pairs = {
        resource.RLIMIT_CPU: (limits["cpu_s"], limits["cpu_s"] + 1),
        resource.RLIMIT_AS: (limits["memory_mb"] << 20,) * 2,
        resource.RLIMIT_FSIZE: (limits["file_mb"] << 20,) * 2,
        resource.RLIMIT_NOFILE: (limits["open_files"],) * 2,
        resource.RLIMIT_CORE: (0, 0),
    }
    if own_user:  # RLIMIT_NPROC counts every process of the uid, so only a throw-away uid gets it
        pairs[resource.RLIMIT_NPROC] = (limits["processes"],) * 2
    for what, (soft, hard) in pairs.items():
        try:
            resource.setrlimit(what, (soft, hard))
        except (ValueError, OSError):  # cannot raise a hard limit: lower the soft one only
            cur_hard = resource.getrlimit(what)[1]
            if cur_hard == resource.RLIM_INFINITY or cur_hard > soft:
                resource.setrlimit(what, (soft, cur_hard))


def install_hook(req: dict, chrooted: bool) -> None:
    work = os.path.realpath(req["workdir"]) if not chrooted else "/sandbox"
    readable = tuple(os.path.realpath(p) for p in req["binds"]) + (work, "/dev/null", "/dev/urandom")
    check_files = strict = not chrooted

    def hook(event: str, args: tuple) -> None:
        if event in _BLOCKED or event.startswith(("os.exec", "os.spawn")):
            reason = _BLOCKED.get(event, "creating processes")
            raise PermissionError(f"The sandbox does not allow {reason} ({event}).")
        if strict and (event in _CTYPES or (event == "import" and str(args[0]).split(".")[0] in ("ctypes", "_ctypes"))):
            raise PermissionError("The sandbox does not allow ctypes here (no chroot available).")
        if check_files and event in ("open", "os.listdir", "os.scandir", "os.rename", "os.remove", "os.symlink",
                                     "os.link", "shutil.rmtree", "os.mkdir", "os.chmod", "os.truncate"):
            _check_path(event, args, work, readable)

    sys.addaudithook(hook)


def _check_path(event: str, args: tuple, work: str, readable: tuple) -> None:
    path = args[0] if args else None
    if path is None or isinstance(path, int):
        return
    real = os.path.realpath(os.fsdecode(path))
    inside = lambda roots: any(real == r or real.startswith(r.rstrip("/") + "/") for r in roots)  # noqa: E731
    writing = event != "open" and event not in ("os.listdir", "os.scandir")
    if event == "open":
        mode, flags = (args[1] if len(args) > 1 else "r") or "", (args[2] if len(args) > 2 else 0) or 0
        writing = any(c in str(mode) for c in "wax+") or bool(flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT))
    if not inside((work,)) and (writing or not inside(readable)):
        raise PermissionError(f"The sandbox does not allow access to {real!r} outside its working directory.")


# -- running --------------------------------------------------------------------------------
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
    text = repr(value)
    try:
        data = json.loads(json.dumps(value))
    except (TypeError, ValueError, RecursionError):
        data = None
    if len(text) > max_chars:
        text, data = text[:max_chars] + "…", None
    return {"result": text, "value": data}


if __name__ == "__main__":
    main()
