"""The sample course, built once per test session in its own home (real multilingual-e5 vectors);
every test in this folder runs with LINGXI_HOME pointing there."""

from __future__ import annotations

from pathlib import Path

import pytest

COURSE = "light"


@pytest.fixture(scope="session")
def edu_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("edu-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LINGXI_HOME", str(home))
        from lingxi.apps.edu import SAMPLE_MATERIALS, SAMPLE_SYLLABUS
        from lingxi.apps.edu.courses import add_student, create_course

        create_course(COURSE, SAMPLE_MATERIALS, SAMPLE_SYLLABUS)
        add_student("小明", COURSE, "初二(3)班")
        add_student("小红", COURSE, "初二(3)班")
    return home


@pytest.fixture(autouse=True)
def _edu_home(_isolated_home: Path, edu_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LINGXI_HOME", str(edu_home))
    return edu_home


@pytest.fixture
def course(edu_home: Path):
    from lingxi.apps.edu.courses import open_course

    return open_course(COURSE)
