"""Keeping secrets out of everything agenteval writes (manifests, reports, leaderboards, logs)."""

from __future__ import annotations

from pydantic import JsonValue

__all__ = ["SECRET_MARKERS", "holds_secret", "redact"]

SECRET_MARKERS = ("key", "token", "secret", "password", "authorization", "credential", "auth", "cookie")
_HEADER_KEYS = ("headers",)


def _is_secret_name(name: str) -> bool:
    lowered = name.lower()
    return any(m in lowered for m in SECRET_MARKERS)


def _redact_value(name: str, value: JsonValue) -> JsonValue:
    if _is_secret_name(name) and value:
        return "***"
    if isinstance(value, dict):
        headers = any(h in name.lower() for h in _HEADER_KEYS)
        return {k: ("***" if headers and v else _redact_value(k, v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_value(name, v) for v in value]
    return value


def redact(options: dict[str, JsonValue]) -> dict[str, JsonValue]:
    """Options with secrets replaced by '***' (for the manifest, reports and logs): any value under a
    key that names a secret (api_key, x-token, Authorization, ...), at any depth, and every header value."""
    return {k: _redact_value(k, v) for k, v in options.items()}


def holds_secret(data: JsonValue, name: str = "") -> bool:
    """Whether `data` holds text that `redact` would hide: a non-empty string under a key that names a
    secret, at any depth, or in headers (numbers such as `max_tokens` are not secrets)."""
    if isinstance(data, str):
        return bool(data) and _is_secret_name(name)
    if isinstance(data, dict):
        headers = any(h in name.lower() for h in _HEADER_KEYS)
        return any((headers and isinstance(v, str) and bool(v)) or holds_secret(v, k) for k, v in data.items())
    if isinstance(data, list):
        return any(holds_secret(v, name) for v in data)
    return False
