"""The coverage report as files: a heatmap PNG (objectives x materials), Markdown and HTML."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from lingxi.apps.edu.coverage import CoverageReport

STATUS_ZH = {"covered": "已覆盖 covered", "partial": "部分 partial", "missing": "缺失 missing"}


def write_report(report: CoverageReport, folder: str | Path) -> dict[str, str]:
    """Write coverage-COURSE.{png,md,html} into `folder`; return their paths."""
    from lingxi.evals.charts import heatmap_png

    out = Path(folder).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    stem = f"coverage-{report.course}"
    labels = [f"{o['id']} {o['objective'][:14]}" for o in report.objectives]
    png = heatmap_png(report.matrix, labels, report.materials, out / f"{stem}.png",
                      title=f"{report.course}: objectives x materials")
    md = out / f"{stem}.md"
    md.write_text(markdown(report, png.name), encoding="utf-8")
    page = out / f"{stem}.html"
    page.write_text(to_html(report, png.name), encoding="utf-8")
    return {"png": str(png), "markdown": str(md), "html": str(page)}


def _cell(text: Any) -> str:
    return str(text if text is not None else "").replace("|", "\\|").replace("\n", " ")


def markdown(report: CoverageReport, png: str | None = None) -> str:
    c = report.counts()
    lines = [f"# Curriculum coverage: {report.course}", "",
             f"Overall coverage **{report.coverage:.0%}** — {c['covered']} covered, {c['partial']} partial, "
             f"{c['missing']} missing of {len(report.objectives)} objectives.", ""]  # fmt: skip
    if png:
        lines += [f"![objectives x materials]({png})", ""]
    lines += ["| id | objective | status | score | evidence |", "| --- | --- | --- | ---: | --- |"]
    for o in report.objectives:
        ev = "; ".join(f"{x['file']}" + (f" § {x['heading']}" if x.get("heading") else "") + f": “{x['quote']}”"
                       for x in o["citations"][:2])  # fmt: skip
        lines.append(f"| {_cell(o['id'])} | {_cell(o['objective'])} | {STATUS_ZH[o['status']]} | {o['score']:.2f} | {_cell(ev)} |")
    lines += ["", "## Gap report: what students asked that the material could not answer", ""]
    clusters = report.gaps.get("clusters") or []
    if not clusters:
        lines.append("No unanswered tutor questions yet.")
    for cl in clusters:
        lines.append(f"- **{cl['name']}** ({cl['size']}): " + " / ".join(cl["examples"][:3]))
    return "\n".join(lines) + "\n"


def to_html(report: CoverageReport, png: str | None = None) -> str:
    e = html.escape
    rows = "".join(
        f"<tr class='{o['status']}'><td>{e(o['id'])}</td><td>{e(o['objective'])}</td><td>{e(STATUS_ZH[o['status']])}</td>"
        f"<td>{o['score']:.2f}</td><td>{'<br>'.join(e(x['file'] + ': ' + x['quote']) for x in o['citations'][:2])}</td></tr>"
        for o in report.objectives)  # fmt: skip
    gaps = "".join(f"<li><b>{e(c['name'])}</b> ({c['size']}): {e(' / '.join(c['examples'][:3]))}</li>"
                   for c in report.gaps.get("clusters") or []) or "<li>No unanswered tutor questions yet.</li>"
    img = f"<img src='{e(png)}' alt='heatmap'>" if png else ""
    return (f"<!doctype html><meta charset='utf-8'><title>Coverage {e(report.course)}</title>"
            "<style>body{font-family:sans-serif;margin:2em}td,th{border:1px solid #ccc;padding:4px}"
            "table{border-collapse:collapse}.missing{background:#fdd}.partial{background:#ffd}.covered{background:#dfd}</style>"
            f"<h1>Curriculum coverage: {e(report.course)}</h1><p>Overall coverage <b>{report.coverage:.0%}</b></p>{img}"
            "<table><tr><th>id</th><th>objective</th><th>status</th><th>score</th><th>evidence</th></tr>"
            f"{rows}</table><h2>Gap report</h2><ul>{gaps}</ul>")
