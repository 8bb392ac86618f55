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
from lingxi.knowledge.safe_io import ZIP_EXTS, Limits, check_zip, os_error, read_file
from lingxi.types import Document

Loader = Callable[[Path, bytes], list[Document]]  # (path, the file's bytes) -> Documents

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


def _plugin_loader(ext: str) -> Loader | None:
    """A loader registered under the registry kind "loader" for this extension (audio files, plugins)."""
    from lingxi.registry import default_registry

    registry = default_registry()
    return registry.get("loader", ext) if ext and ("loader", ext) in registry else None


def supported(path: Path) -> bool:
    ext = path.suffix.lower()
    return ext in LOADERS or _plugin_loader(ext) is not None


def load_file(path: Path, data: bytes | None = None, limits: Limits | None = None) -> list[Document]:
    """Read one file into Documents (several for a PDF's pages or a workbook's sheets).
    `data` is the file's bytes when the caller read them already (see `safe_io.read_file`)."""
    loader = LOADERS.get(path.suffix.lower()) or _plugin_loader(path.suffix.lower())
    if loader is None:
        from lingxi.registry import default_registry

        known = sorted({*LOADERS, *default_registry().names("loader")})
        raise LoadError(
            f"'{path.name}' has a file type lingxi cannot read ({path.suffix or 'no extension'}).",
            f"supported: {', '.join(known)}",
        )
    limits = limits or Limits.from_settings()
    if data is None:
        data = read_file(path, limits)
    if path.suffix.lower() in ZIP_EXTS:
        check_zip(path, data, limits)
    try:
        return loader(path, data)
    except LoadError:
        raise
    except MemoryError as exc:
        raise LoadError(f"'{path.name}' needs more memory to parse than there is; skipped.",
                        "split it, or exclude it") from exc  # fmt: skip
    except RecursionError as exc:
        raise LoadError(f"'{path.name}' is nested too deeply to parse; skipped.", "exclude it") from exc
    except Exception as exc:  # a parser library failing on a broken file: report it, never stop the ingest
        raise LoadError(f"'{path.name}' could not be parsed ({type(exc).__name__}: {exc}).",
                        "check the file is not damaged, or exclude it") from exc  # fmt: skip


def _matches(rel: str, patterns: Sequence[str]) -> bool:
    name = rel.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatch(rel, p) or fnmatch.fnmatch(name, p) for p in patterns)


def walk(
    root: Path, include: Sequence[str] | None = None, exclude: Sequence[str] | None = None,
    on_error: Callable[[str, str], None] | None = None,
) -> Iterator[Path]:
    """Files under `root` (or `root` itself when it is a file), sorted, filtered by globs.

    `include` defaults to every supported type; `exclude` always adds hidden files
    and folders, node_modules and __pycache__. Globs match the path relative to
    `root` (``docs/*.md``) or the bare file name (``*.md``).
    """
    root = Path(root)
    if not root.is_dir():
        if os.path.lexists(root):  # a file (or a fifo, a device...: the ingest reports what it is)
            yield root
            return
        raise LoadError(f"The path '{root}' does not exist.", "check the spelling: give a file or a folder")
    skip = [*DEFAULT_EXCLUDE, *(exclude or [])]
    def unreadable(exc: OSError) -> None:
        if on_error is not None:
            on_error(str(exc.filename), str(os_error(Path(str(exc.filename)), exc)))

    for dirpath, dirnames, filenames in os.walk(root, onerror=unreadable):
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
