"""Readers for each file format. Each takes a path and returns Documents.

A Document's ``metadata["kind"]`` tells the splitter how to cut it: ``text``,
``markdown`` (heading-aware), ``rows`` (one record per line, never cut inside a
row) or ``code`` (cut at blank lines). PDF pages become one Document each, with
``metadata["page"]`` (1-based).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from lingxi.knowledge.encoding import LoadError, decode_bytes
from lingxi.types import Document

CODE_EXTS = {
    ".py", ".js", ".jsx", ".ts", ".tsx", ".java", ".go", ".rs", ".c", ".h", ".cc", ".cpp", ".hpp", ".cs",
    ".rb", ".php", ".sh", ".bash", ".sql", ".kt", ".swift", ".scala", ".lua", ".r", ".m", ".vue", ".toml",
    ".yaml", ".yml", ".ini", ".cfg",
}  # fmt: skip
TEXT_EXTS = {".txt", ".text", ".rst", ".log", ".tex", ".org"}
MD_EXTS = {".md", ".markdown", ".mdx"}


def _doc(path: Path, text: str, kind: str, suffix: str = "", **meta: Any) -> Document:
    return Document(id=f"{path}{suffix}", source=str(path), text=text, metadata={"kind": kind, **meta})


def read_text(path: Path, data: bytes) -> tuple[str, dict[str, str]]:
    """The text of a file's bytes, and ``{"encoding": NAME}`` when it was not UTF-8 (for the report)."""
    text, encoding = decode_bytes(data, where=f"'{path.name}'")
    meta = {} if encoding in ("utf-8", "ascii") else {"encoding": encoding}
    return text.replace("\r\n", "\n").replace("\r", "\n"), meta


def load_plain(path: Path, data: bytes) -> list[Document]:
    text, meta = read_text(path, data)
    return [_doc(path, text, "text", **meta)]


def load_markdown(path: Path, data: bytes) -> list[Document]:
    text, meta = read_text(path, data)
    return [_doc(path, text, "markdown", **meta)]


def load_code(path: Path, data: bytes) -> list[Document]:
    text, meta = read_text(path, data)
    return [_doc(path, text, "code", language=path.suffix.lstrip("."), **meta)]


class _HTMLText(HTMLParser):
    """HTML to markdown-ish text: headings become '#' lines, blocks become lines."""

    SKIP = {"script", "style", "noscript", "template", "svg", "head"}
    BLOCK = {"p", "div", "br", "li", "tr", "section", "article", "table", "ul", "ol", "pre", "blockquote", "hr"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skip = 0
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        if tag in self.SKIP:
            self.skip += 1
        elif len(tag) == 2 and tag[0] == "h" and tag[1] in "123456":
            self.out.append("\n\n" + "#" * int(tag[1]) + " ")
        elif tag in self.BLOCK:
            self.out.append("\n")
        elif tag in ("td", "th"):
            self.out.append(" | ")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        if tag in self.SKIP:
            self.skip = max(0, self.skip - 1)
        elif (len(tag) == 2 and tag[0] == "h" and tag[1] in "123456") or tag in ("p", "div", "li", "tr"):
            self.out.append("\n\n" if tag[0] in "hpd" else "\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        if not self.skip:
            self.out.append(re.sub(r"\s+", " ", data))


def load_html(path: Path, data: bytes) -> list[Document]:
    parser = _HTMLText()
    source, meta = read_text(path, data)
    parser.feed(source)
    lines = [line.strip() for line in "".join(parser.out).split("\n")]
    text = "\n".join(lines)
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return [_doc(path, text.strip(), "markdown", title=parser.title.strip(), **meta)]


def load_pdf(path: Path, data: bytes) -> list[Document]:
    try:
        from pypdf import PdfReader
        from pypdf.errors import PdfReadError
    except ImportError as exc:  # pragma: no cover - pypdf is a core dependency
        raise LoadError("Reading PDF files needs the 'pypdf' package.", "pip install pypdf") from exc
    with quiet_pypdf():
        return _pdf_pages(path, data, PdfReader, PdfReadError)


@contextmanager
def quiet_pypdf() -> Iterator[None]:
    """pypdf logs its complaints about broken files ("invalid pdf header", "EOF marker not found")
    as warnings, which Python prints on the console: keep them out (the report has one line)."""
    logger = logging.getLogger("pypdf")
    handler = logging.NullHandler()
    before = logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.propagate = before


def _pdf_pages(path: Path, data: bytes, PdfReader: Any, PdfReadError: Any) -> list[Document]:  # noqa: N803
    if b"%PDF-" not in data[:1024]:  # the header may follow up to 1 KB of junk
        raise LoadError(f"'{path.name}' is not a PDF (no %PDF- header in its first kilobyte).",
                        "check the file opens in a PDF viewer, or give it its real extension")  # fmt: skip
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise LoadError(f"'{path.name}' is an encrypted PDF.", "decrypt it (e.g. qpdf --decrypt) and ingest again")
        pages = [(n, page.extract_text() or "") for n, page in enumerate(reader.pages, start=1)]
    except LoadError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise LoadError(f"'{path.name}' is not a readable PDF ({exc}).", "check the file opens in a PDF viewer") from exc
    docs = [_doc(path, text, "text", f"#page={n}", page=n) for n, text in pages if text.strip()]
    if not docs and pages:
        raise LoadError(f"'{path.name}' has no extractable text (a scanned PDF?).", "run OCR on it first")
    return docs


def load_docx(path: Path, data: bytes) -> list[Document]:
    try:
        import docx
        from docx.opc.exceptions import PackageNotFoundError
    except ImportError as exc:  # pragma: no cover
        raise LoadError("Reading .docx files needs the 'python-docx' package.", "pip install python-docx") from exc
    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, KeyError, ValueError, OSError) as exc:
        raise LoadError(f"'{path.name}' is not a readable .docx file ({exc}).", "re-save it from Word") from exc
    lines: list[str] = []
    for para in document.paragraphs:
        text = para.text.strip()
        style = (para.style.name if para.style is not None else "") or ""
        if text and style.startswith("Heading") and style[-1:].isdigit():
            lines.append("\n" + "#" * int(style[-1]) + " " + text + "\n")
        elif text:
            lines.append(text + "\n")
    for table in document.tables:
        for row in table.rows:
            lines.append(" | ".join(cell.text.strip() for cell in row.cells) + "\n")
    return [_doc(path, "\n".join(lines).strip(), "markdown")]


def _row_line(header: list[str], row: list[Any]) -> str:
    cells = ["" if v is None else str(v).strip() for v in row]
    if header:
        pairs = [f"{h}: {v}" for h, v in zip(header, cells, strict=False) if v]
        return "; ".join(pairs)
    return " | ".join(c for c in cells if c)


def _rows_doc(path: Path, rows: list[list[Any]], suffix: str = "", **meta: Any) -> Document:
    rows = [r for r in rows if any(v not in (None, "") for v in r)]
    header = [str(h).strip() for h in rows[0]] if rows else []
    lines = [_row_line(header, r) for r in rows[1:]] if len(rows) > 1 else [_row_line([], r) for r in rows]
    return _doc(path, "\n".join(lines), "rows", suffix, columns=header, **meta)


def load_csv(path: Path, data: bytes) -> list[Document]:
    text, meta = read_text(path, data)
    dialect: Any = "excel-tab" if path.suffix.lower() == ".tsv" else "excel"
    try:
        rows = list(csv.reader(io.StringIO(text), dialect))
    except csv.Error as exc:
        raise LoadError(f"'{path.name}' is not valid CSV ({exc}).", "check its quoting") from exc
    return [_rows_doc(path, rows, **meta)]


def load_xlsx(path: Path, data: bytes) -> list[Document]:
    try:
        from openpyxl import load_workbook
    except ImportError as exc:  # pragma: no cover
        raise LoadError("Reading .xlsx files needs the 'openpyxl' package.", "pip install openpyxl") from exc
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many unrelated types for broken files
        raise LoadError(f"'{path.name}' is not a readable .xlsx file ({exc}).", "re-save it from Excel") from exc
    docs = [_rows_doc(path, [list(r) for r in ws.iter_rows(values_only=True)], f"#sheet={ws.title}", sheet=ws.title)
            for ws in book.worksheets]  # fmt: skip
    book.close()
    return [d for d in docs if d.text.strip()]


def _record_line(record: Any) -> str:
    if isinstance(record, dict):
        return "; ".join(f"{k}: {json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else v}"
                         for k, v in record.items())  # fmt: skip
    return json.dumps(record, ensure_ascii=False)


def load_json(path: Path, data: bytes) -> list[Document]:
    text, meta = read_text(path, data)
    try:
        if path.suffix.lower() in (".jsonl", ".ndjson"):
            records = [json.loads(line) for line in text.splitlines() if line.strip()]
        else:
            parsed = json.loads(text)
            if not isinstance(parsed, list):
                return [_doc(path, json.dumps(parsed, ensure_ascii=False, indent=2), "code", language="json", **meta)]
            records = parsed
    except json.JSONDecodeError as exc:
        raise LoadError(
            f"'{path.name}' is not valid JSON (line {exc.lineno}: {exc.msg}).", "fix the JSON or exclude the file"
        ) from exc
    return [_doc(path, "\n".join(_record_line(r) for r in records), "rows", **meta)]
