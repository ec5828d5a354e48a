"""Small field types shared by the file schemas."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator

__all__ = ["NumberAsStr"]


def _number_to_str(v: Any) -> Any:
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return str(v)
    return v


NumberAsStr = Annotated[str, BeforeValidator(_number_to_str)]
"""A string field that also takes a YAML number (`version: 2`, `id: 17`) as its text."""
