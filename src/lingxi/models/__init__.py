"""Model providers behind two small protocols, `ChatModel` and `EmbeddingModel`."""

from lingxi.models.base import ChatModel, EmbeddingModel, TextModel
from lingxi.models.funnel import Model, calling, open_chat

__all__ = ["ChatModel", "EmbeddingModel", "Model", "TextModel", "calling", "open_chat"]
