from __future__ import annotations

import json
from pathlib import Path

import pytest

from lingxi.knowledge.encoding import LoadError, decode_bytes
from lingxi.knowledge.loaders import load_file, walk

ZH = "北京是中华人民共和国的首都，也是全国的政治和文化中心。"


def test_gbk_and_big5_files_decode(tmp_path: Path):
    (tmp_path / "gbk.txt").write_bytes((ZH * 3).encode("gbk"))
    (tmp_path / "big5.txt").write_bytes("臺北是臺灣的首都，人口眾多，交通便利。".encode("big5") * 3)
    assert load_file(tmp_path / "gbk.txt")[0].text == ZH * 3
    assert load_file(tmp_path / "big5.txt")[0].text.startswith("臺北是臺灣的首都")


def test_utf8_bom_and_binary():
    assert decode_bytes("\ufeff你好".encode("utf-8"))[0] == "你好"
    with pytest.raises(LoadError, match="binary"):
        decode_bytes(b"\x00\x01\x02abc")


def test_pdf_keeps_page_numbers_and_corrupt_pdf_is_one_error(tmp_path: Path):
    from fpdf import FPDF

    pdf = FPDF()
    for n in (1, 2):
        pdf.add_page()
        pdf.set_font("helvetica", size=12)
        pdf.cell(text=f"This is page number {n} about apples.")
    pdf.output(str(tmp_path / "ok.pdf"))
    docs = load_file(tmp_path / "ok.pdf")
    assert [d.metadata["page"] for d in docs] == [1, 2]
    assert "page number 2" in docs[1].text
    (tmp_path / "bad.pdf").write_bytes(b"%PDF-1.4\n this is not really a pdf \n%%EOF")
    with pytest.raises(LoadError, match="bad.pdf"):
        load_file(tmp_path / "bad.pdf")


def test_docx_headings_become_markdown(tmp_path: Path):
    import docx

    d = docx.Document()
    d.add_heading("产品手册", level=1)
    d.add_paragraph("本产品支持离线使用。")
    d.add_heading("安装", level=2)
    d.add_paragraph("运行 pip install 即可。")
    d.save(str(tmp_path / "manual.docx"))
    doc = load_file(tmp_path / "manual.docx")[0]
    assert doc.metadata["kind"] == "markdown"
    assert "# 产品手册" in doc.text and "## 安装" in doc.text and "离线使用" in doc.text


def test_csv_xlsx_json_are_row_aware(tmp_path: Path):
    (tmp_path / "t.csv").write_text("城市,人口\n北京,2189万\n上海,2487万\n", encoding="utf-8")
    doc = load_file(tmp_path / "t.csv")[0]
    assert doc.metadata["kind"] == "rows" and doc.text.splitlines() == ["城市: 北京; 人口: 2189万", "城市: 上海; 人口: 2487万"]
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["name", "qty"])
    wb.active.append(["apple", 3])
    wb.save(str(tmp_path / "t.xlsx"))
    assert load_file(tmp_path / "t.xlsx")[0].text == "name: apple; qty: 3"
    (tmp_path / "r.jsonl").write_text('{"q": "a"}\n{"q": "b"}\n')
    assert load_file(tmp_path / "r.jsonl")[0].text == "q: a\nq: b"
    (tmp_path / "o.json").write_text(json.dumps({"k": "值"}, ensure_ascii=False))
    assert "值" in load_file(tmp_path / "o.json")[0].text
    (tmp_path / "broken.json").write_text("{nope")
    with pytest.raises(LoadError, match="not valid JSON"):
        load_file(tmp_path / "broken.json")


def test_html_drops_scripts_and_keeps_headings(tmp_path: Path):
    (tmp_path / "p.html").write_text(
        "<html><head><title>T</title><script>var x=1;</script></head><body><h1>Intro</h1><p>Hello <b>world</b>.</p></body></html>"
    )
    doc = load_file(tmp_path / "p.html")[0]
    assert "var x" not in doc.text and "# Intro" in doc.text and "Hello world." in doc.text


def test_walk_globs_and_hidden(tmp_path: Path):
    for rel in ["a.md", "b.txt", "sub/c.py", "sub/d.md", ".git/x.md", "node_modules/y.md", "img.png", "drafts/e.md"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x")
    rels = lambda it: sorted(p.relative_to(tmp_path).as_posix() for p in it)  # noqa: E731
    assert rels(walk(tmp_path)) == ["a.md", "b.txt", "drafts/e.md", "sub/c.py", "sub/d.md"]
    assert rels(walk(tmp_path, include=["*.md"], exclude=["drafts/*"])) == ["a.md", "sub/d.md"]


def test_unknown_type_is_a_sentence(tmp_path: Path):
    (tmp_path / "x.bin").write_bytes(b"\x00")
    with pytest.raises(LoadError, match="cannot read"):
        load_file(tmp_path / "x.bin")
