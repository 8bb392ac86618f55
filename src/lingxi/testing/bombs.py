"""Zip bombs for the ingest attack suite and its benchmark: real .docx / .xlsx files whose one XML
member unpacks to `body_mb` MB while the file on disk stays a few KB to MB."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

MB = 1 << 20


def zip_bomb(path: Path, kind: str, body_mb: int) -> None:
    """Write a `kind` ("docx" or "xlsx") at `path` holding `body_mb` MB of repeated XML."""
    if kind == "docx":
        import docx

        buf, doc = io.BytesIO(), docx.Document()
        doc.add_paragraph("hello")
        doc.save(buf)
        member, after, unit = "word/document.xml", b"<w:body>", b"<w:p/>"
    else:
        from openpyxl import Workbook

        buf, book = io.BytesIO(), Workbook()
        book.active["A1"] = 1
        book.save(buf)
        member, after, unit = "xl/worksheets/sheet1.xml", b"<sheetData>", b'<row r="2"><c r="A2"><v>7</v></c></row>'
    with zipfile.ZipFile(buf) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for item in src.infolist():
            data = src.read(item)
            if item.filename != member:
                out.writestr(item, data)
                continue
            head, tail = data.split(after, 1)
            block = unit * (MB // len(unit))
            with out.open(member, "w", force_zip64=True) as f:
                f.write(head + after)
                for _ in range(body_mb):
                    f.write(block)
                f.write(tail)
