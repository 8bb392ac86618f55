"""PNG charts for reports (matplotlib with the Agg backend: no display needed).

Chinese labels render with the first CJK font found on the machine (`cjk_font`; e.g. Debian's
fonts-noto-cjk, found even when matplotlib's font cache predates it); where none is installed
the glyphs fall back to boxes, and the report's Markdown table still carries the exact text.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from lingxi.errors import ConfigError

_CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans SC", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "SimHei",
              "Microsoft YaHei", "PingFang SC", "Source Han Sans SC", "AR PL UMing CN")


@lru_cache(maxsize=1)
def _plt() -> Any:
    try:
        import matplotlib
    except ImportError as exc:
        raise ConfigError("Charts need matplotlib, which is not installed.", "pip install matplotlib") from exc
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    from matplotlib import font_manager

    cjk = _cjk_names(font_manager)
    if not cjk:  # a font cache built before the CJK fonts were installed: add their files to it
        for path in _cjk_files():
            try:
                font_manager.fontManager.addfont(str(path))
            except (OSError, RuntimeError, ValueError):
                continue
        cjk = _cjk_names(font_manager)
    if cjk:
        plt.rcParams["font.sans-serif"] = [*cjk, *plt.rcParams["font.sans-serif"]]
        plt.rcParams["axes.unicode_minus"] = False
    return plt


def _cjk_names(font_manager: Any) -> list[str]:
    have = {f.name for f in font_manager.fontManager.ttflist}
    return [f for f in _CJK_FONTS if f in have]


def _cjk_files() -> list[Path]:
    roots = [Path("/usr/share/fonts"), Path("/usr/local/share/fonts"), Path.home() / ".local/share/fonts", Path.home() / ".fonts"]
    return [p for r in roots if r.is_dir() for pattern in ("*Sans*CJK*", "wqy*", "*SourceHanSans*")
            for p in sorted(r.rglob(pattern)) if p.suffix.lower() in (".ttc", ".ttf", ".otf")]


def cjk_font() -> str | None:
    """The CJK font the charts use, or None where the machine has none."""
    first = _plt().rcParams["font.sans-serif"][0]
    return first if first in _CJK_FONTS else None


def _save(fig: Any, path: str | Path) -> Path:
    plt = _plt()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*[Gg]lyph.*")
        fig.tight_layout()
        fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def confusion_png(matrix: Sequence[Sequence[int]], labels: Sequence[str], path: str | Path,
                  title: str = "Confusion matrix") -> Path:
    """Rows are true labels, columns predicted labels; cells show counts."""
    plt = _plt()
    m = np.asarray(matrix)
    size = max(4.0, 0.6 * len(labels) + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(m, cmap="Blues")
    ax.set_xticks(range(len(labels)), [str(x) for x in labels], rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), [str(x) for x in labels])
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    top = m.max() if m.size else 0
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            ax.text(j, i, str(m[i, j]), ha="center", va="center", color="white" if m[i, j] > top / 2 else "black")
    return _save(fig, path)


def bars_png(series: dict[str, dict[str, float]], path: str | Path, title: str = "", ylabel: str = "") -> Path:
    """Grouped bars: one group per metric, one bar per series (e.g. run A vs run B)."""
    plt = _plt()
    names = list(series)
    metrics = sorted({m for s in series.values() for m in s})
    fig, ax = plt.subplots(figsize=(max(5.0, 1.2 * len(metrics) + 2), 4))
    width = 0.8 / max(1, len(names))
    x = np.arange(len(metrics))
    for i, name in enumerate(names):
        ax.bar(x + i * width, [series[name].get(m, 0.0) for m in metrics], width, label=name)
    ax.set_xticks(x + width * (len(names) - 1) / 2, metrics, rotation=30, ha="right")
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    ax.legend()
    return _save(fig, path)


def lines_png(series: dict[str, Sequence[float]], path: str | Path, title: str = "", xlabel: str = "",
              ylabel: str = "") -> Path:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, ys in series.items():
        ax.plot(range(1, len(ys) + 1), ys, marker="o", label=name)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend()
    return _save(fig, path)


def scatter_png(points: np.ndarray, groups: Sequence[int], names: Sequence[str], path: str | Path,
                title: str = "") -> Path:
    """2-D points coloured by group, with each group's name at its centre."""
    plt = _plt()
    pts = np.asarray(points)
    fig, ax = plt.subplots(figsize=(7, 6))
    groups = np.asarray(groups)
    for g, name in enumerate(names):
        sel = pts[groups == g]
        if len(sel):
            ax.scatter(sel[:, 0], sel[:, 1], s=14, alpha=0.7, label=f"{g}: {name}")
            cx, cy = sel.mean(axis=0)
            ax.annotate(str(g), (cx, cy), fontsize=12, weight="bold")
    ax.set_title(title)
    ax.legend(fontsize=8, loc="best")
    return _save(fig, path)


def heatmap_png(matrix: Sequence[Sequence[float]], rows: Sequence[str], cols: Sequence[str], path: str | Path,
                title: str = "", vmax: float = 1.0) -> Path:
    """A rows x columns grid of scores in [0, vmax] (e.g. objectives x materials), each cell labelled."""
    plt = _plt()
    m = np.asarray(matrix, dtype=float).reshape(len(rows), len(cols))
    fig, ax = plt.subplots(figsize=(max(5.0, 1.3 * len(cols) + 4), max(3.0, 0.45 * len(rows) + 1.5)))
    im = ax.imshow(m, cmap="YlGn", vmin=0.0, vmax=vmax, aspect="auto")
    ax.set_xticks(range(len(cols)), [str(c) for c in cols], rotation=30, ha="right", fontsize=8)
    ax.set_yticks(range(len(rows)), [str(r) for r in rows], fontsize=8)
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            ax.text(j, i, f"{m[i, j]:.2f}", ha="center", va="center", fontsize=7,
                    color="white" if m[i, j] > 0.6 * vmax else "black")
    fig.colorbar(im, ax=ax, fraction=0.04)
    ax.set_title(title)
    return _save(fig, path)
