"""Charts with Chinese labels draw the characters with a CJK font where one is installed (CI installs fonts-noto-cjk)."""

import shutil
import subprocess

import pytest

from lingxi.evals import charts


def _system_has_cjk_font() -> bool:
    if not shutil.which("fc-list"):
        return False
    out = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True).stdout
    return bool(out.strip())


@pytest.mark.skipif(not _system_has_cjk_font(), reason="no CJK font on this machine (apt-get install fonts-noto-cjk)")
def test_chinese_labels_resolve_to_a_cjk_font(tmp_path):
    plt = charts._plt()
    from matplotlib import font_manager

    first = plt.rcParams["font.sans-serif"][0]
    assert first in charts._CJK_FONTS
    path = font_manager.findfont(font_manager.FontProperties(family=["sans-serif"]), fallback_to_default=False)
    font = font_manager.get_font(path)
    assert all(font.get_char_index(ord(c)) for c in "好评差评覆盖率"), path
    png = charts.confusion_png([[3, 1], [0, 4]], ["好评", "差评"], tmp_path / "c.png", title="混淆矩阵")
    assert png.stat().st_size > 1000
