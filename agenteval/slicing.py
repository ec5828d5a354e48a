"""Slices: which groups a sample belongs to under a `--slice-by` key.

A key is `tags` (each tag is a slice; untagged samples form `(untagged)`) or a metadata field,
written `language`, `metadata.language` or dotted for nested fields (`source.site`). A sample whose
field is missing or null falls in `(missing)`; a list value puts it in one slice per item. Values are
shown as text: strings as they are, everything else as compact JSON (`true`, `3`, `{"a":1}`).

Shared by the runner (which checks the keys before a run), the summary and the report.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence

from pydantic import JsonValue

from .errors import ConfigError
from .registry import did_you_mean

__all__ = ["MAX_SLICES", "MISSING", "OTHER", "UNTAGGED", "canonical_key", "check_slice_keys",
           "merge_slice_keys", "slice_values"]

MISSING = "(missing)"
UNTAGGED = "(untagged)"
OTHER = "(other)"
MAX_SLICES = 100
"""Distinct values kept per key; values first seen after that are pooled in `(other)`."""

_TAG_KEYS = frozenset({"tags", "tag"})


def canonical_key(key: str) -> str:
    """`tag` -> `tags`, `metadata.language` -> `language`: one spelling per key."""
    key = key.strip()
    if key in _TAG_KEYS:
        return "tags"
    return key[len("metadata."):] if key.startswith("metadata.") and len(key) > len("metadata.") else key


def _path(key: str) -> list[str]:
    return key.split(".")


def _text(value: JsonValue) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _lookup(metadata: Mapping[str, JsonValue], path: Sequence[str]) -> tuple[bool, JsonValue]:
    cur: JsonValue = dict(metadata)
    for part in path:
        if not isinstance(cur, dict) or part not in cur:
            return False, None
        cur = cur[part]
    return True, cur


def slice_values(key: str, tags: Sequence[str], metadata: Mapping[str, JsonValue]) -> list[str]:
    """The slices of one sample under the canonical `key` (at least one, never a duplicate)."""
    if key == "tags":
        return list(dict.fromkeys(tags)) or [UNTAGGED]
    found, value = _lookup(metadata, _path(key))
    if not found or value is None:
        return [MISSING]
    if isinstance(value, list):
        return list(dict.fromkeys(_text(v) for v in value)) or [MISSING]
    return [_text(value)]


def merge_slice_keys(*groups: Iterable[str]) -> list[str]:
    """Keys from several places (the suite's `slice_by`, `--slice-by`), canonical, in order, each once."""
    return list(dict.fromkeys(canonical_key(k) for g in groups for k in g if k.strip()))


def _metadata_keys(metadata: Mapping[str, JsonValue], prefix: str = "") -> Iterable[str]:
    for k, v in metadata.items():
        yield prefix + k
        if isinstance(v, dict):
            yield from _metadata_keys(v, f"{prefix}{k}.")


def check_slice_keys(keys: Sequence[str], samples: Iterable[tuple[Sequence[str], Mapping[str, JsonValue]]],
                     *, file: str | None, field: str) -> None:
    """Raise ConfigError for a key that no sample has (a typo would otherwise give one `(missing)`
    slice). `samples` yields (tags, metadata) pairs."""
    missing = {k: _path(canonical_key(k)) for k in keys if canonical_key(k) != "tags"}
    if not missing:
        return
    known: set[str] = set()
    for _, metadata in samples:
        for k in list(missing):
            if _lookup(metadata, missing[k])[0]:
                del missing[k]
        if not missing:
            return
        if len(known) < 1000:
            known.update(_metadata_keys(metadata))
    key = next(iter(missing))
    choices = sorted(known | {"tags"})
    hint = did_you_mean(key.removeprefix("metadata."), choices)
    if hint is not None and hint.startswith("known:") and len(choices) > 20:
        hint = "known: " + ", ".join(choices[:20]) + f", ... ({len(choices) - 20} more)"
    raise ConfigError(f"no sample has the slice key {key!r} (neither in its metadata nor `tags`)",
                      file=file, field=field, hint=hint)
