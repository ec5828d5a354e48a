"""Typed registries of backends, metrics and judges, fed by entry points.

Built-ins register through the same entry-point groups as third-party plugins
(`agenteval.backends`, `agenteval.metrics`, `agenteval.judges`), so `pip install` of a plugin is all a
user needs. Entry points are loaded lazily, by name, so listing or validating imports nothing heavy.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from importlib.metadata import EntryPoint, entry_points
from typing import Generic, TypeVar

from .errors import ConfigError

__all__ = ["Registry", "did_you_mean"]

T = TypeVar("T")


def did_you_mean(name: str, choices: list[str]) -> str | None:
    """A hint naming the closest known names, or None."""
    close = difflib.get_close_matches(name, choices, n=3, cutoff=0.6)
    if close:
        return "did you mean " + " or ".join(repr(c) for c in close) + "?"
    if choices:
        return "known: " + ", ".join(sorted(choices))
    return None


class Registry(Generic[T]):
    """Name -> item, filled from an entry-point group and by `register`."""

    def __init__(self, group: str, kind: str) -> None:
        self.group = group
        self.kind = kind
        self._items: dict[str, T] = {}
        self._eps: dict[str, EntryPoint] | None = None

    def _entry_points(self) -> dict[str, EntryPoint]:
        if self._eps is None:
            self._eps = {ep.name: ep for ep in entry_points(group=self.group)}
        return self._eps

    def register(self, name: str, item: T) -> None:
        """Register `item` under `name` (replacing an entry point of the same name)."""
        self._items[name] = item

    def names(self) -> list[str]:
        return sorted(set(self._items) | set(self._entry_points()))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and (name in self._items or name in self._entry_points())

    def get(self, name: str) -> T:
        """The item registered as `name`; ConfigError with a did-you-mean hint when unknown."""
        if name in self._items:
            return self._items[name]
        ep = self._entry_points().get(name)
        if ep is None:
            raise ConfigError(f"unknown {self.kind} {name!r}", hint=did_you_mean(name, self.names()))
        try:
            item: T = ep.load()
        except ImportError as exc:
            raise ConfigError(
                f"{self.kind} {name!r} could not be imported: {exc}",
                hint=f"is the package that provides it installed? (entry point {ep.value})",
            ) from exc
        self._items[name] = item
        return item

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())


# The three plug-point registries. Typed loosely here to keep this module free of imports of ours;
# `agenteval.metrics.factory` and `agenteval.backends.spec` give typed access.
backends: Registry[object] = Registry("agenteval.backends", "backend")
metrics: Registry[object] = Registry("agenteval.metrics", "metric")
judges: Registry[object] = Registry("agenteval.judges", "judge")
