"""The sandbox's system-call filter, compiled by libseccomp (through ctypes) into a BPF program
that bubblewrap loads before the runner starts (`bwrap --seccomp FD`).

Everything is allowed except what could step around the namespaces and rlimits:
memory the address-space limit does not count (memfd, SysV shared memory), new
namespaces (a nested user namespace would allow an unbounded tmpfs), tracing or
reading other processes, kernel keyrings, BPF, io_uring and the like. libseccomp
adds the architecture check (a syscall of a foreign ABI kills the process).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import functools
import tempfile

from lingxi.errors import ToolError

SCMP_ACT_ALLOW = 0x7FFF0000
SCMP_CMP_MASKED_EQ = 7
_NEW_NAMESPACES = (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000)

REFUSED = (
    # memory outside RLIMIT_AS (issue: 20 memfds of 16 MB each grew host shared memory by 330 MB)
    "memfd_create", "memfd_secret", "shmget",
    # namespaces, mounts and roots: only bubblewrap sets these up
    "unshare", "setns", "mount", "umount2", "pivot_root", "chroot", "open_tree", "move_mount", "fsopen",
    "fsconfig", "fsmount", "fspick", "mount_setattr",
    # other processes' memory and files
    "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd", "kcmp", "process_madvise",
    # kernel attack surface no Python program needs
    "bpf", "perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter", "io_uring_register",
    "keyctl", "add_key", "request_key", "open_by_handle_at", "name_to_handle_at", "fanotify_init",
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module", "reboot", "swapon",
    "swapoff", "acct", "quotactl", "syslog",
)  # fmt: skip


class _Cmp(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int), ("a", ctypes.c_uint64), ("b", ctypes.c_uint64)]


@functools.cache
def filter_program() -> bytes:
    """The BPF program (cached per process); a ToolError when libseccomp is not there."""
    lib = _libseccomp()
    ctx = lib.seccomp_init(SCMP_ACT_ALLOW)
    if not ctx:
        raise ToolError("libseccomp could not create the sandbox's system-call filter.", _HINT)
    try:
        for name in REFUSED:
            _refuse(lib, ctx, name, errno.EPERM)
        _refuse(lib, ctx, "clone3", errno.ENOSYS)  # its flags sit behind a pointer: glibc falls back to clone
        for flag in _NEW_NAMESPACES:  # clone(flags, ...) creating any namespace
            _refuse(lib, ctx, "clone", errno.EPERM, (_Cmp * 1)(_Cmp(0, SCMP_CMP_MASKED_EQ, flag, flag)))
        with tempfile.TemporaryFile() as fh:
            if lib.seccomp_export_bpf(ctx, fh.fileno()) != 0:
                raise ToolError("libseccomp could not export the sandbox's system-call filter.", _HINT)
            fh.seek(0)
            return fh.read()
    finally:
        lib.seccomp_release(ctx)


_HINT = "install libseccomp (Debian/Ubuntu: apt-get install libseccomp2); lingxi does not run code unfiltered"


def _libseccomp() -> ctypes.CDLL:
    name = ctypes.util.find_library("seccomp") or "libseccomp.so.2"
    try:
        lib = ctypes.CDLL(name, use_errno=True)
    except OSError:
        raise ToolError("The Python sandbox needs libseccomp for its system-call filter, and it is not installed, "
                        "so no code was run.", _HINT) from None
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint,
                                           ctypes.POINTER(_Cmp)]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_export_bpf.argtypes = [ctypes.c_void_p, ctypes.c_int]
    lib.seccomp_release.argtypes = [ctypes.c_void_p]
    return lib


def _refuse(lib: ctypes.CDLL, ctx: int, name: str, err: int, cmp: ctypes.Array | None = None) -> None:
    nr = lib.seccomp_syscall_resolve_name(name.encode())
    if nr < 0:  # not a system call on this architecture (or unknown to this libseccomp)
        return
    if lib.seccomp_rule_add_array(ctx, 0x00050000 | err, nr, 1 if cmp is not None else 0, cmp) != 0:
        raise ToolError(f"libseccomp refused the sandbox's rule for {name}.", _HINT)
