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


class TestLanceStoreJieba(StoreSuite):
    """The same contract with jieba word segmentation instead of character bigrams."""

    @pytest.fixture
    def store(self, tmp_path):
        return LanceStore(tmp_path / "lance", dim=self.DIM, analyzer="jieba")


def test_unknown_analyzer_is_refused(tmp_path):
    from lingxi.errors import ConfigError

    with pytest.raises(ConfigError, match="analyzer"):
        LanceStore(tmp_path / "db", dim=8, analyzer="whitespace")
