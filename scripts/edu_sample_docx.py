"""Write the sample course's Word lesson (src/lingxi/apps/edu/sample/materials/04-光的折射.docx).

The docx is committed (a few KB); this script is how it was made: python scripts/edu_sample_docx.py
"""

from __future__ import annotations

from pathlib import Path

from docx import Document

LESSON = [
    ("h1", "第四课 光的折射"),
    ("h2", "折射现象"),
    ("p", "光从一种介质斜射入另一种介质时，传播方向一般会发生变化，这种现象叫做光的折射。"),
    ("p", "光从空气斜射入水中或其他介质中时，折射光线向法线方向偏折，折射角小于入射角。"),
    ("p", "当入射角增大时，折射角也增大。光从空气垂直射入水中时，传播方向不变。在折射现象中，光路也是可逆的。"),
    ("h2", "生活中的折射"),
    ("p", "池水看起来比实际的浅，是因为池底反射的光从水中斜射入空气时发生了折射。"),
    ("p", "插入水中的筷子看起来在水面处向上弯折，这也是光的折射造成的。叉鱼时要对准看到的鱼的下方。"),
]


def main() -> None:
    doc = Document()
    for kind, text in LESSON:
        if kind == "h1":
            doc.add_heading(text, level=1)
        elif kind == "h2":
            doc.add_heading(text, level=2)
        else:
            doc.add_paragraph(text)
    out = Path(__file__).resolve().parents[1] / "src/lingxi/apps/edu/sample/materials/04-光的折射.docx"
    doc.core_properties.author = "lingxi"
    doc.save(str(out))
    print(out)


if __name__ == "__main__":
    main()
