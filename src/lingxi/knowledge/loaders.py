"""Find files in a folder and read each one into Documents.

    >>> docs = load_file(Path("notes/readme.md"))
    >>> for path in walk(Path("notes"), include=["*.md"], exclude=["drafts/*"]): ...

A file that cannot be read raises `LoadError` (one sentence and a hint); the
ingest catches it, reports it, and goes on with the other files.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from lingxi.knowledge import formats
from lingxi.knowledge.encoding import LoadError
from lingxi.types import Document

Loader = Callable[[Path], list[Document]]

LOADERS: dict[str, Loader] = {
    **{ext: formats.load_plain for ext in formats.TEXT_EXTS},
    **{ext: formats.load_markdown for ext in formats.MD_EXTS},
    **{ext: formats.load_code for ext in formats.CODE_EXTS},
    ".html": formats.load_html,
    ".htm": formats.load_html,
    ".xhtml": formats.load_html,
    ".pdf": formats.load_pdf,
    ".docx": formats.load_docx,
    ".csv": formats.load_csv,
    ".tsv": formats.load_csv,
    ".xlsx": formats.load_xlsx,
    ".xlsm": formats.load_xlsx,
    ".json": formats.load_json,
    ".jsonl": formats.load_json,
    ".ndjson": formats.load_json,
}

DEFAULT_EXCLUDE = (".*", "*/.*", "node_modules/*", "*/node_modules/*", "__pycache__/*", "*/__pycache__/*", "*~")
MAX_FILE_BYTES = 200 * 1024 * 1024


def _plugin_loader(ext: str) -> Loader | None:
    """A loader registered under the registry kind "loader" for this extension (audio files, plugins)."""
    from lingxi.registry import default_registry

    registry = default_registry()
    return registry.get("loader", ext) if ext and ("loader", ext) in registry else None


def supported(path: Path) -> bool:
    ext = path.suffix.lower()
    return ext in LOADERS or _plugin_loader(ext) is not None


def load_file(path: Path) -> list[Document]:
    """Read one file into Documents (several for a PDF's pages or a workbook's sheets)."""
    loader = LOADERS.get(path.suffix.lower()) or _plugin_loader(path.suffix.lower())
    if loader is None:
        from lingxi.registry import default_registry

        known = sorted({*LOADERS, *default_registry().names("loader")})
        raise LoadError(
            f"'{path.name}' has a file type lingxi cannot read ({path.suffix or 'no extension'}).",
            f"supported: {', '.join(known)}",
        )
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise LoadError(f"Could not read '{path}': {exc.strerror}.", "check the path and its permissions") from exc
    if size > MAX_FILE_BYTES:
        raise LoadError(f"'{path.name}' is too large ({size // 2**20} MiB).", "split it or exclude it")
    try:
        return loader(path)
    except LoadError:
        raise
    except OSError as exc:
        raise LoadError(f"Could not read '{path}': {exc.strerror or exc}.", "check its permissions") from exc
    except Exception as exc:  # a parser library failing on a broken file: report it, never stop the ingest
        raise LoadError(f"'{path.name}' could not be parsed ({type(exc).__name__}: {exc}).",
                        "check the file is not damaged, or exclude it") from exc  # fmt: skip


def _matches(rel: str, patterns: Sequence[str]) -> bool:
    name = rel.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatch(rel, p) or fnmatch.fnmatch(name, p) for p in patterns)


def walk(
    root: Path, include: Sequence[str] | None = None, exclude: Sequence[str] | None = None
) -> Iterator[Path]:
    """Files under `root` (or `root` itself when it is a file), sorted, filtered by globs.

    `include` defaults to every supported type; `exclude` always adds hidden files
    and folders, node_modules and __pycache__. Globs match the path relative to
    `root` (``docs/*.md``) or the bare file name (``*.md``).
    """
    root = Path(root)
    if root.is_file():
        yield root
        return
    if not root.is_dir():
        raise LoadError(f"The folder '{root}' does not exist.", "check the path")
    skip = [*DEFAULT_EXCLUDE, *(exclude or [])]
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root).replace(os.sep, "/")
        rel_dir = "" if rel_dir == "." else rel_dir + "/"
        dirnames[:] = sorted(d for d in dirnames if not _matches(rel_dir + d + "/", skip) and not d.startswith("."))
        for name in sorted(filenames):
            rel = rel_dir + name
            path = Path(dirpath) / name
            if _matches(rel, skip):
                continue
            if include:
                if _matches(rel, include):
                    yield path
            elif supported(path):
                yield path
