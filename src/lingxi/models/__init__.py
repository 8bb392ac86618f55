"""Model providers behind two small protocols, `ChatModel` and `EmbeddingModel`."""

from lingxi.models.base import ChatModel, EmbeddingModel, TextModel
from lingxi.models.resolve import Model

__all__ = ["ChatModel", "EmbeddingModel", "Model", "TextModel"]
