"""The home directory is private: ``LINGXI_HOME`` holds key hashes, sessions, feedback, traces,
knowledge bases and adapters, so it is created 0700 and its database files 0600.

A home that is already there with looser modes (the default umask makes 0755 folders and
0644 files) is tightened the first time lingxi opens it, with one notice.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger("lingxi.home")
_checked: set[Path] = set()
DB_FILES = ("lingxi.db", "lingxi.db-wal", "lingxi.db-shm")


def ensure_home(home: Path) -> Path:
    """Create `home` (0700) or tighten it and its database files; cheap after the first call."""
    home = home.expanduser()
    if home in _checked:
        return home
    if not home.exists():
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
    fixed = [p for p in (home, *(home / n for n in DB_FILES)) if _tighten(p)]
    if fixed:
        log.warning("made %s private to its owner (it was readable by other users): %s", home,
                    ", ".join(p.name for p in fixed))
    _checked.add(home)
    return home


def _tighten(path: Path) -> bool:
    """chmod `path` to 0700 (folders) or 0600 (files) if group or others have any access; True if changed."""
    try:
        st = path.lstat()
    except OSError:
        return False
    if stat.S_ISLNK(st.st_mode) or not st.st_mode & 0o077 or st.st_uid != os.getuid():
        return False
    try:
        path.chmod(0o700 if stat.S_ISDIR(st.st_mode) else 0o600)
    except OSError:
        return False
    return True


def private_file(path: Path) -> None:
    """Make a file lingxi has just created readable by its owner only."""
    _tighten(path)
