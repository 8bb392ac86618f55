"""The wall of the code sandbox: bubblewrap (bwrap) namespaces, a seccomp filter, a throw-away uid.

The same wall as any user. bwrap gives the runner a private root holding only
read-only system and Python directories, four device nodes, a tmpfs of `disk_mb`
at /sandbox and a small tmpfs at /tmp (then remounts / read-only); new PID,
network, IPC, UTS and cgroup namespaces; no capabilities; the seccomp filter of
_seccomp.py. As an ordinary user it also makes an unprivileged user namespace
(and forbids nested ones); as root it starts the runner through `setpriv` under
a throw-away uid with no capabilities, so RLIMIT_NPROC is the sandbox's alone.

Fail closed: where bwrap, libseccomp or Linux namespaces are missing, `plan()`
raises a ToolError saying what is missing, and no code runs. lingxi never falls
back to the audit hook (the runner keeps one as defence in depth only).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from lingxi.errors import ToolError

RUNNER = Path(__file__).with_name("_runner.py")
RUNNER_INSIDE = "/.lingxi/runner.py"
DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/urandom", "/dev/random")
TMP_MB = 8
BWRAP_HINT = ("install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap; Fedora: dnf install bubblewrap); "
              "lingxi never runs model-written code without real isolation")
USERNS_HINT = ("allow unprivileged user namespaces (sysctl user.max_user_namespaces=15000, and on Debian "
               "kernel.unprivileged_userns_clone=1; in a container, run it with a seccomp profile that allows them)")


@dataclass(frozen=True)
class Plan:
    """How to start one sandbox: the bwrap binary, whether we are root, and what it gives."""

    bwrap: str
    root: bool
    setpriv: str | None
    isolation: dict[str, str]


def plan(bwrap: str | None = None) -> Plan:
    """What this machine offers, or a ToolError naming what is missing (nothing is run then)."""
    if not sys.platform.startswith("linux"):
        raise ToolError(f"The Python sandbox needs Linux namespaces (bubblewrap), and this is {sys.platform}, "
                        "so no code was run.", "run lingxi's code tools on Linux, or leave the python tool out")
    path = bwrap or shutil.which("bwrap")
    if not path or not os.access(path, os.X_OK):
        raise ToolError(f"The Python sandbox needs bubblewrap (bwrap) to isolate code, and "
                        f"{'it is not installed' if not bwrap else repr(bwrap) + ' is not an executable'}, "
                        "so no code was run.", BWRAP_HINT)
    from lingxi.agents._seccomp import REFUSED, filter_program

    filter_program()  # a ToolError here when libseccomp is missing
    root = _real_root()
    setpriv = shutil.which("setpriv") if root else None
    if root and not setpriv:
        raise ToolError("As root the sandbox drops to a throw-away uid with setpriv (util-linux), which is not "
                        "installed, so no code was run.", "install util-linux, or run lingxi as an ordinary user")
    isolation = {
        "backend": f"bubblewrap {_version(path)}",
        "filesystem": "private root: read-only system and Python, tmpfs /sandbox",
        "network": "namespace (no interfaces up)",
        "processes": "PID namespace, killed as a whole",
        "syscalls": f"seccomp: {len(REFUSED) + 2} kinds refused",
    }
    return Plan(path, root, setpriv, isolation)


def command(p: Plan, python: str, uid: int, disk_mb: int, run_id: str, info_fd: int, seccomp_fd: int) -> list[str]:
    """The full bwrap command line for one run."""
    argv = [p.bwrap, "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
            "--die-with-parent", "--new-session", "--info-fd", str(info_fd), "--seccomp", str(seccomp_fd)]
    if not p.root:
        argv += ["--unshare-user", "--disable-userns"]
    # the tmpfs mounts come first: a Python installation under /tmp (a venv in /tmp/…) is bound on top of them
    argv += ["--size", str(disk_mb << 20), "--perms", "0777", "--tmpfs", "/sandbox",
             "--size", str(TMP_MB << 20), "--perms", "1777", "--tmpfs", "/tmp"]
    paths = binds(python)
    for parent in _parents([*paths, RUNNER_INSIDE, *DEVICES]):  # bwrap would make them 0700, closed to a throw-away uid
        argv += ["--perms", "0755", "--dir", parent]
    for src in paths:
        argv += ["--symlink", os.readlink(src), src] if os.path.islink(src) else ["--ro-bind", src, src]
    argv += ["--ro-bind", str(RUNNER), RUNNER_INSIDE]
    for dev in DEVICES:
        if os.path.exists(dev):
            argv += ["--dev-bind", dev, dev]
    argv += ["--remount-ro", "/", "--chdir", "/sandbox", "--"]
    if p.root:
        argv += [p.setpriv or "setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--inh-caps=-all",
                 "--bounding-set=-all", "--"]
    return [*argv, python, "-I", "-X", "utf8", RUNNER_INSIDE, run_id]


def binds(python: str) -> list[str]:
    """Read-only paths the runner needs: the system's and the Python installation's."""
    prefixes = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
                str(Path(python).resolve().parent.parent), str(Path(python).absolute().parent.parent)}
    paths = ["/usr", "/lib", "/lib64", "/lib32", "/libx32", "/bin", "/sbin", "/etc/ld.so.cache",
             "/etc/localtime", *sorted(prefixes)]
    out: list[str] = []
    for p in paths:
        if os.path.lexists(p) and not any(p == o or p.startswith(o.rstrip("/") + "/") for o in out):
            out.append(p)
    return out


def _parents(paths: list[str]) -> list[str]:
    out: list[str] = []
    for p in paths:
        for parent in reversed(Path(p).parents[:-1]):  # without "/"
            if str(parent) not in out:
                out.append(str(parent))
    return out


def _real_root() -> bool:
    """euid 0 in the initial user namespace (root inside a container's user namespace is not)."""
    if os.geteuid() != 0:
        return False
    try:
        return Path("/proc/self/uid_map").read_text().split() == ["0", "0", "4294967295"]
    except OSError:
        return False


@functools.cache
def _version(path: str) -> str:
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return "(version unknown)"
    return out.split()[-1] if out.split() else "(version unknown)"
