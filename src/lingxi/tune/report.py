"""A finished run's report: the loss curve as a PNG and a short Markdown summary beside the adapter."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def write_report(folder: Path, manifest: dict[str, Any]) -> dict[str, str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    m = manifest["metrics"]
    losses = m.get("losses") or []
    fig, ax = plt.subplots(figsize=(6, 3.5))
    if losses:
        ax.plot([s for s, _ in losses], [v for _, v in losses], marker="o", label="training loss")
    if m.get("validation_loss") is not None:
        ax.axhline(m["validation_loss"], color="tab:orange", linestyle="--", label="validation loss")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title(f"{manifest['name']} ({manifest['method']} on {manifest['base']['name']})")
    ax.legend()
    fig.tight_layout()
    png = folder / "loss.png"
    fig.savefig(png, dpi=100)
    plt.close(fig)
    val = m.get("validation_loss")
    lines = [f"# {manifest['name']}", "", "| | |", "| --- | --- |",
             f"| method | {manifest['method']} |", f"| base | {manifest['base']['name']} ({manifest['base']['sha256'][:12]}) |",
             f"| examples | {manifest['data']['train']} train, {manifest['data']['validation']} validation |",
             f"| steps | {m['steps']} |", f"| time | {m['seconds']:.1f} s |",
             f"| final training loss | {m['train_loss']:.4f} |" if m.get("train_loss") is not None else "| final training loss | - |",
             f"| validation loss | {val:.4f} |" if val is not None else "| validation loss | - (no validation split) |",
             "", "![loss](loss.png)", ""]
    md = folder / "report.md"
    md.write_text("\n".join(lines), "utf-8")
    return {"png": str(png), "markdown": str(md)}
