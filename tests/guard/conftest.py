"""Guard tests: real checks (trained heads, real e5, helan, Presidio offline), scripted models."""

from __future__ import annotations

import pytest

from lingxi.config import load_settings


@pytest.fixture
def settings(_isolated_home):
    return load_settings()
