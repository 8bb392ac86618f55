from __future__ import annotations

import pytest

from lingxi.errors import StoreError
from lingxi.knowledge.lance import LanceStore
from lingxi.testing.stores import StoreSuite, make_chunk


class TestLanceStore(StoreSuite):
    @pytest.fixture
    def store(self, tmp_path):
        return LanceStore(tmp_path / "lance", dim=self.DIM)


def test_dimension_mismatch_is_refused(tmp_path):
    LanceStore(tmp_path / "db", dim=8).upsert([make_chunk("/a", 0, "hello")])
    with pytest.raises(StoreError, match="8-dimensional"):
        LanceStore(tmp_path / "db", dim=16).count()
