"""Stateful Python tools for agent suites (environment per sample, recorded calls, end state)."""

from .toolbox import Toolbox, ToolboxFactory, ToolError

__all__ = ["ToolError", "Toolbox", "ToolboxFactory"]
