"""Data at rest: the home directory and its database are private to their owner (hardening item 15)."""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys
from pathlib import Path

from lingxi import db, home
from lingxi.config import Settings


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_home_is_0700_and_its_database_0600(tmp_path):
    settings = Settings(home=tmp_path / "new-home")
    old = os.umask(0o022)  # the usual default: 0755 folders, 0644 files
    try:
        db.connect(settings).close()
    finally:
        os.umask(old)
    assert mode(settings.home_dir) == 0o700
    assert mode(settings.home_dir / "lingxi.db") == 0o600


def test_an_existing_open_home_is_tightened_with_one_notice(tmp_path, caplog):
    loose = tmp_path / "loose-home"
    loose.mkdir(mode=0o755)
    loose.chmod(0o755)
    (loose / "lingxi.db").write_bytes(b"")
    (loose / "lingxi.db").chmod(0o644)
    home._checked.discard(loose)
    caplog.set_level(logging.WARNING, logger="lingxi.home")
    db.connect(Settings(home=loose)).close()
    assert mode(loose) == 0o700 and mode(loose / "lingxi.db") == 0o600
    notices = [r for r in caplog.records if r.name == "lingxi.home"]
    assert len(notices) == 1 and "private" in notices[0].getMessage()


def test_the_cli_makes_the_home_private_before_writing(tmp_path):
    target = tmp_path / "cli-home"
    lingxi = str(Path(sys.executable).with_name("lingxi"))
    done = subprocess.run([lingxi, "complete", "--model", "scripted:ok", "--json", "hi"], capture_output=True,
                          text=True, timeout=60, env={**os.environ, "LINGXI_HOME": str(target)})
    assert done.returncode == 0, done.stderr
    assert mode(target) == 0o700 and mode(target / "lingxi.db") == 0o600
