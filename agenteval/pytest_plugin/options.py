"""The plugin's options, in one `agenteval` group; each is also an ini setting (pytest.ini / pyproject)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

__all__ = ["PluginOptions", "add_options", "read_options"]

_OPTIONS: list[tuple[str, str, str]] = [
    # (name, ini type, help)
    ("backend", "string", "backend spec for collected suites (default: each suite's own)"),
    ("out", "string", "results root for runs (default ./results, or $AGENTEVAL_RESULTS)"),
    ("baseline", "string", "compare each suite's run with this baseline (name, run id or folder) and fail "
                           "the session when a gate fails"),
    ("baselines", "string", "folder of named baselines (default ./baselines)"),
    ("concurrency", "string", "backend calls in flight per suite (default 8)"),
    ("repeat", "string", "answers per sample; an item then reports its pass rate (default 1)"),
]


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("agenteval", "agenteval: LLM and agent evaluation suites")
    for name, kind, help_text in _OPTIONS:
        group.addoption(f"--agenteval-{name}", dest=f"agenteval_{name}", default=None, help=help_text)
        parser.addini(f"agenteval_{name}", help_text, type=kind)  # type: ignore[arg-type]
    group.addoption("--agenteval-no-cache", dest="agenteval_no_cache", action="store_true", default=False,
                    help="do not use the response cache")
    parser.addini("agenteval_no_cache", "do not use the response cache", type="bool", default=False)
    parser.addini("agenteval_suites", "glob patterns (relative to rootdir) of suite files to collect as tests, "
                  "e.g. suites/**/*.yaml", type="linelist", default=[])


@dataclass(frozen=True)
class PluginOptions:
    backend: str | None
    out: Path
    baseline: str | None
    baselines: Path
    concurrency: int
    repeat: int
    no_cache: bool


def _get(config: pytest.Config, name: str) -> str | None:
    value = config.getoption(f"agenteval_{name}", default=None)
    if value is None:
        value = config.getini(f"agenteval_{name}") or None
    return str(value) if value is not None else None


def read_options(config: pytest.Config) -> PluginOptions:
    from ..errors import ConfigError
    from ..store import baselines_dir, results_root

    def as_int(name: str, default: int) -> int:
        raw = _get(config, name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError(f"--agenteval-{name} must be an integer, got {raw!r}") from None
        if value < 1:
            raise ConfigError(f"--agenteval-{name} must be at least 1")
        return value

    return PluginOptions(
        backend=_get(config, "backend"), out=results_root(_get(config, "out")), baseline=_get(config, "baseline"),
        baselines=baselines_dir(_get(config, "baselines")), concurrency=as_int("concurrency", 8),
        repeat=as_int("repeat", 1),
        no_cache=bool(config.getoption("agenteval_no_cache", default=False) or config.getini("agenteval_no_cache")),
    )
