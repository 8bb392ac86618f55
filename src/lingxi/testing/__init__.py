"""Conformance suites that providers and stores pass (pytest base classes)."""

from lingxi.testing.chat import ChatModelSuite

__all__ = ["ChatModelSuite"]
