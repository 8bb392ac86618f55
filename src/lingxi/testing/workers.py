"""Find Ray's worker processes on this machine (the kill-safety test and bench/scale.py kill one)."""

from __future__ import annotations

from pathlib import Path


def ray_worker_pids(marker: bytes = b"Embed") -> list[int]:
    """PIDs of local Ray actor processes whose command line (``ray::ClassName...``) holds `marker`."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if cmdline.startswith(b"ray::") and marker in cmdline:
                pids.append(int(entry.name))
    return pids
