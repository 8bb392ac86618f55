"""Classification metrics: per-class precision, recall, F1 and support, accuracy, macro and
weighted averages, and the confusion matrix (scikit-learn underneath), as a dict, Markdown and PNG."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lingxi.errors import ConfigError


def classification_report(y_true: Sequence[Any], y_pred: Sequence[Any],
                          labels: Sequence[Any] | None = None) -> dict[str, Any]:
    """The full report as plain data (labels as strings, numbers as floats/ints)."""
    if len(y_true) != len(y_pred):
        raise ConfigError(f"There are {len(y_true)} true labels but {len(y_pred)} predictions.",
                          "pass one prediction per example")
    if not y_true:
        raise ConfigError("There is nothing to evaluate: no examples.", "give at least one labelled example")
    from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

    yt, yp = [str(y) for y in y_true], [str(y) for y in y_pred]
    names = [str(x) for x in labels] if labels is not None else sorted(set(yt) | set(yp))
    p, r, f, s = precision_recall_fscore_support(yt, yp, labels=names, zero_division=0)
    per_class = {n: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])}
                 for i, n in enumerate(names)}
    averages = {}
    for avg in ("macro", "weighted"):
        ap, ar, af, _ = precision_recall_fscore_support(yt, yp, labels=names, average=avg, zero_division=0)
        averages[avg] = {"precision": float(ap), "recall": float(ar), "f1": float(af), "support": len(yt)}
    return {
        "labels": names,
        "per_class": per_class,
        "accuracy": float(accuracy_score(yt, yp)),
        "macro_avg": averages["macro"],
        "weighted_avg": averages["weighted"],
        "confusion": confusion_matrix(yt, yp, labels=names).tolist(),
        "n": len(yt),
    }


def report_markdown(report: dict[str, Any], title: str = "Classification report", image: str | None = None) -> str:
    rows = [f"## {title}", "", "| class | precision | recall | F1 | support |", "| --- | ---: | ---: | ---: | ---: |"]
    for name, m in report["per_class"].items():
        rows.append(f"| {name} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | {m['support']} |")
    for key, label in (("macro_avg", "**macro avg**"), ("weighted_avg", "**weighted avg**")):
        m = report[key]
        rows.append(f"| {label} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | {m['support']} |")
    rows += ["", f"**accuracy** {report['accuracy']:.4f} on {report['n']} examples"]
    if image:
        rows += ["", f"![confusion matrix]({image})"]
    return "\n".join(rows) + "\n"


def write_report(report: dict[str, Any], folder: str | Path, name: str = "classification",
                 title: str = "Classification report") -> dict[str, str]:
    """Write NAME.md and NAME_confusion.png into folder; return their paths."""
    from lingxi.evals.charts import confusion_png

    folder = Path(folder)
    png = confusion_png(report["confusion"], report["labels"], folder / f"{name}_confusion.png", title=title)
    md = folder / f"{name}.md"
    md.write_text(report_markdown(report, title, image=png.name), encoding="utf-8")
    return {"markdown": str(md), "confusion_png": str(png)}
