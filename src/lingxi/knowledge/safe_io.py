"""Reading files an ingest did not choose: never block, never read without bound.

    >>> data = read_file(Path("notes/a.txt"), Limits(max_file_mb=100))   # bytes, or LoadError

* Only regular files are read. A named pipe, a device (``/dev/zero``), a socket, or a
  symlink to one of them is refused with one sentence, and is never opened blocking:
  the file is opened with ``O_NONBLOCK`` and checked with ``fstat`` on the open
  descriptor (no window between the check and the read).
* At most ``max_file_mb`` is read from one file; a bigger one is refused.
* Zip containers (.docx, .xlsx, ...) are checked before any parser sees them: the
  declared uncompressed total, the compression ratio and the member count, from the
  central directory. Python's ``zipfile`` (what python-docx and openpyxl read through)
  never yields more than a member's declared size, so the check also caps what is
  decompressed while parsing.
"""

from __future__ import annotations

import errno
import io
import os
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path

from lingxi.knowledge.encoding import LoadError

MB = 1 << 20
ZIP_EXTS = {".docx", ".docm", ".xlsx", ".xlsm", ".pptx", ".epub", ".odt", ".ods", ".odp"}
_RATIO_FLOOR = 8 * MB  # members smaller than this may compress as well as they like
_KINDS = ((stat.S_ISFIFO, "a named pipe (fifo)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a folder"))  # fmt: skip


@dataclass(frozen=True)
class Limits:
    max_file_mb: float = 100.0
    max_unzipped_mb: float = 256.0
    max_zip_ratio: float = 100.0
    max_zip_members: int = 20_000

    @classmethod
    def from_settings(cls, settings: object | None = None) -> Limits:
        if settings is None:
            from lingxi.config import load_settings

            settings = load_settings()
        s = settings.ingest  # type: ignore[attr-defined]
        return cls(s.max_file_mb, s.max_unzipped_mb, s.max_zip_ratio, s.max_zip_members)


def _mb(n: float) -> str:
    return f"{n / MB:,.1f} MB" if n < 10 * MB else f"{n / MB:,.0f} MB"


def file_kind(mode: int) -> str:
    for test, name in _KINDS:
        if test(mode):
            return name
    return "not a regular file"


def not_regular(path: Path, mode: int) -> LoadError:
    return LoadError(f"'{path.name}' is {file_kind(mode)}, not a regular file; skipped.",
                     "only regular files are ingested (exclude it with --exclude to silence this line)")  # fmt: skip


def os_error(path: Path, exc: OSError) -> LoadError:
    """One sentence for a file that could not be opened or read."""
    if exc.errno == errno.ELOOP:
        return LoadError(f"'{path.name}' is a symbolic link that loops (it points back to itself); skipped.",
                         "fix or remove the link")  # fmt: skip
    if exc.errno in (errno.EACCES, errno.EPERM):
        return LoadError(f"'{path.name}' cannot be read: permission denied; skipped.",
                         f"give this user read access (chmod u+r '{path}') or exclude it")  # fmt: skip
    if exc.errno == errno.ENOENT:
        return LoadError(f"'{path.name}' does not exist (a broken symbolic link, or it was removed); skipped.",
                         "fix the link or remove it")  # fmt: skip
    return LoadError(f"Could not read '{path.name}': {exc.strerror or exc}; skipped.", "check the file and its permissions")


def read_file(path: Path, limits: Limits) -> bytes:
    """The bytes of a regular file, at most ``limits.max_file_mb``; LoadError for anything else."""
    cap = int(limits.max_file_mb * MB)
    try:
        st = os.stat(path)  # follows links: a link to /dev/zero is a device; a looping link raises ELOOP
    except OSError as exc:
        raise os_error(path, exc) from exc
    if not stat.S_ISREG(st.st_mode):
        raise not_regular(path, st.st_mode)  # refused without ever opening it
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise os_error(path, exc) from exc
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise not_regular(path, st.st_mode)
        if st.st_size > cap:
            raise too_big(path, st.st_size, limits)
        with os.fdopen(os.dup(fd), "rb", closefd=True) as f:
            data = f.read(cap + 1)
    except OSError as exc:
        raise os_error(path, exc) from exc
    finally:
        os.close(fd)
    if len(data) > cap:  # it grew while we read it
        raise too_big(path, len(data), limits)
    return data


def too_big(path: Path, size: int, limits: Limits) -> LoadError:
    return LoadError(f"'{path.name}' is too large ({_mb(size)}; the limit is {limits.max_file_mb:g} MB); skipped.",
                     "split it, exclude it, or raise ingest.max_file_mb in lingxi.toml")  # fmt: skip


def check_zip(path: Path, data: bytes, limits: Limits) -> None:
    """Refuse a zip container whose declared contents would blow up in memory or time."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError) as exc:
        raise LoadError(f"'{path.name}' is not a readable {path.suffix} file (not a valid zip: {exc}).",
                        "re-save it from the program that made it") from exc  # fmt: skip
    hint = "if the file is genuine, raise the ingest.max_unzipped_mb / ingest.max_zip_ratio settings"
    if len(members) > limits.max_zip_members:
        raise LoadError(f"'{path.name}' holds {len(members):,} zip members (the limit is {limits.max_zip_members:,}); "
                        "refused as a possible zip bomb.", hint)  # fmt: skip
    total = sum(m.file_size for m in members)
    packed = max(1, sum(m.compress_size for m in members))
    if total > limits.max_unzipped_mb * MB:
        raise LoadError(f"'{path.name}' would unpack to {_mb(total)} from {_mb(len(data))} on disk (the limit is "
                        f"{limits.max_unzipped_mb:g} MB); refused as a possible zip bomb.", hint)  # fmt: skip
    for m in members:
        if m.file_size > _RATIO_FLOOR and m.file_size / max(1, m.compress_size) > limits.max_zip_ratio:
            ratio = m.file_size / max(1, m.compress_size)
            raise LoadError(f"'{path.name}' has a member ({m.filename}) compressed {ratio:,.0f} to 1 ({_mb(m.file_size)}"
                            f" from {_mb(m.compress_size)}; the limit is {limits.max_zip_ratio:g} to 1); refused as a "
                            "possible zip bomb.", hint)  # fmt: skip
    if total > _RATIO_FLOOR and total / packed > limits.max_zip_ratio:
        raise LoadError(f"'{path.name}' is compressed {total / packed:,.0f} to 1 ({_mb(total)} from {_mb(packed)}; the "
                        f"limit is {limits.max_zip_ratio:g} to 1); refused as a possible zip bomb.", hint)  # fmt: skip
