"""The sample course shipped with lingxi: a Chinese middle-school physics unit on light (光现象).

Three lessons in Markdown and one in Word (docx), and a syllabus of ten objectives, one of
which (L10, dispersion: 光的色散) no lesson covers, so the coverage report has a gap to find.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

_ROOT = Path(str(files("lingxi.apps.edu") / "sample"))
SAMPLE_MATERIALS = _ROOT / "materials"
SAMPLE_SYLLABUS = _ROOT / "syllabus.csv"
SAMPLE_NAME = "光现象"
