"""Backend spec strings (`kind:target`) -> Backend instances through the registry."""

from __future__ import annotations

import re
from typing import cast

from pydantic import JsonValue

from .. import registry
from ..errors import ConfigError
from .base import Backend, BackendFactory

__all__ = ["parse_spec", "make_backend", "parse_option"]


def parse_spec(spec: str) -> tuple[str, str]:
    """Split `kind:target`. A bare `provider/model` means litellm."""
    kind, sep, target = spec.partition(":")
    if not sep:
        if "/" in spec:
            return "litellm", spec
        raise ConfigError(f"backend spec {spec!r} has no kind", field="backend",
                          hint="write kind:target, e.g. stub:golden or litellm:openai/gpt-4o-mini")
    if kind not in registry.backends and "/" in spec:
        # e.g. `openai/gpt-4o:latest`-style names without a kind
        return "litellm", spec
    return kind, target


def make_backend(spec: str, options: dict[str, JsonValue]) -> Backend:
    kind, target = parse_spec(spec)
    factory = cast(BackendFactory, registry.backends.get(kind))
    return factory(target, options)


_PLAIN_INT = re.compile(r"-?(?:0|[1-9][0-9]*)")
_PLAIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_\-./]*|https?://[^\s#]+")
_YAML_WORDS = {"y", "yes", "n", "no", "true", "false", "on", "off", "null"}
"""Words YAML 1.1 reads as booleans or null (in any of their spellings, compared in lower case)."""


def parse_option(text: str) -> tuple[str, JsonValue]:
    """`key=value` from `-B`; the value is read as a YAML scalar (0 -> int, true -> bool)."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"backend option {text!r} is not key=value", field="-B",
                          hint="e.g. -B temperature=0 -B api_base=http://127.0.0.1:8000/v1")
    # Plain integers, words and URLs read as YAML reads them, without importing it.
    if _PLAIN_INT.fullmatch(raw):
        return key.strip(), int(raw)
    if _PLAIN_WORD.fullmatch(raw) and raw.lower() not in _YAML_WORDS:
        return key.strip(), raw
    import yaml

    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    if not isinstance(value, (str, int, float, bool, list, dict)) and value is not None:
        value = raw
    return key.strip(), cast(JsonValue, value)
