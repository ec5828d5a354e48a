"""Resolving `python:<module>:<attribute>` references written in suites and specs."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

from .errors import ConfigError

__all__ = ["resolve_pyref"]


def resolve_pyref(ref: str, *, field: str, base_dir: Path | None = None) -> Any:
    """Import `module` and return its `attribute` (dotted paths allowed).

    `ref` may carry the `python:` prefix. The working folder and `base_dir` (the suite's folder) are
    importable. Failures are ConfigErrors naming `field`.
    """
    target = ref.removeprefix("python:")
    module_name, sep, attr = target.rpartition(":")
    if not sep or not module_name or not attr:
        raise ConfigError(f"{ref!r} is not python:<module>:<name>", field=field,
                          hint="e.g. python:my_agent:answer (module importable from the working folder)")
    for folder in ([str(base_dir)] if base_dir is not None else []) + [""]:
        if folder not in sys.path:
            sys.path.insert(0, folder)
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"cannot import module {module_name!r}: {exc}", field=field,
                          hint="run from the folder that holds it, or set PYTHONPATH") from None
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ConfigError(f"module {module_name!r} has no {attr!r}", field=field)
        obj = getattr(obj, part)
    return obj
