"""Stateful Python tools that an agent really calls, recorded call by call.

A suite's `environment` names a class that is instantiated once per sample x repeat with the sample's
`initial_state`; its public methods named like the suite's tools implement them (or a tool's `impl:`
function does, called as `function(env, **args)`). A `Toolbox` executes calls against that instance and
records each one (name, args, result, error, latency, turn) for the trace. After the run, the
environment's state (`snapshot()`, else its `state` attribute) goes into `trace.state`, where
`end_state_match` compares it with the sample's `expected_state`.
"""

from __future__ import annotations

import inspect
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import JsonValue

from ..errors import ConfigError
from ..pyref import resolve_pyref
from ..schema import ResolvedSample, Suite, ToolCall

__all__ = ["ToolError", "Toolbox", "ToolboxFactory"]


class ToolError(Exception):
    """A tool call failed (unknown tool, bad arguments, or the tool raised). Agents may catch it."""


def _json_safe(value: Any) -> JsonValue:
    try:
        return json.loads(json.dumps(value, default=str))  # type: ignore[no-any-return]
    except (TypeError, ValueError):
        return str(value)


class Toolbox:
    """The tools of one sample x repeat, bound to its own environment instance."""

    def __init__(self, env: Any, impls: dict[str, Callable[..., Any]], names: list[str]) -> None:
        self.env = env
        self._impls = impls
        self.names = names
        self.calls: list[ToolCall] = []
        self.turn = 0
        self._drained = 0

    def _function(self, name: str) -> Callable[..., Any]:
        if name in self._impls:
            impl = self._impls[name]
            return lambda **kw: impl(self.env, **kw)
        method = getattr(self.env, name, None) if not name.startswith("_") else None
        if self.env is not None and callable(method):
            return method  # type: ignore[no-any-return]
        raise ToolError(f"unknown tool {name!r}; tools: {', '.join(self.names) or '(none)'}")

    def call(self, name: str, args: dict[str, Any] | None = None, *, call_id: str | None = None,
             **kwargs: Any) -> JsonValue:
        """Run tool `name` with `args` (and/or keyword arguments); return its JSON-safe result.

        Raises ToolError when the tool is unknown, the arguments don't fit, or the tool raises; the
        failed call is recorded with its error either way.
        """
        arguments = {**(args or {}), **kwargs}
        record = ToolCall(tool=name, args=_json_safe(arguments), id=call_id or f"call_{len(self.calls)}",
                          turn=self.turn)
        started = time.perf_counter()
        try:
            fn = self._function(name)
            try:
                inspect.signature(fn).bind(**arguments)
            except TypeError as exc:
                raise ToolError(f"bad arguments for {name}: {exc}") from None
            except ValueError:
                pass  # builtins without a signature: let the call decide
            result = fn(**arguments)
        except ToolError as exc:
            self.calls.append(record.model_copy(update={"error": str(exc),
                                                        "latency_s": time.perf_counter() - started}))
            raise
        except Exception as exc:
            msg = f"{type(exc).__name__}: {exc}"
            self.calls.append(record.model_copy(update={"error": msg,
                                                        "latency_s": time.perf_counter() - started}))
            raise ToolError(msg) from exc
        safe = _json_safe(result)
        self.calls.append(record.model_copy(update={"result": safe, "latency_s": time.perf_counter() - started}))
        return safe

    def drain(self) -> list[ToolCall]:
        """Calls recorded since the last drain."""
        new = self.calls[self._drained:]
        self._drained = len(self.calls)
        return new

    def snapshot(self) -> JsonValue:
        """The environment's state: `snapshot()`, else its `state` attribute, else None."""
        env = self.env
        if env is None:
            return None
        snap = getattr(env, "snapshot", None)
        if callable(snap):
            return _json_safe(snap())
        if hasattr(env, "state"):
            return _json_safe(env.state)
        return None


class ToolboxFactory:
    """Resolves a suite's environment and tool implementations once; makes a Toolbox per sample."""

    def __init__(self, suite: Suite) -> None:
        self.suite = suite
        base = Path(suite.path).parent
        self._env_cls: Callable[..., Any] | None = None
        self._env_args: dict[str, JsonValue] = {}
        if suite.environment is not None:
            self._env_cls = resolve_pyref(suite.environment.factory, field="environment.factory",
                                          base_dir=base)
            self._env_args = dict(suite.environment.args)
        self._impls: dict[str, Callable[..., Any]] = {}
        for i, tool in enumerate(suite.tools):
            if tool.impl is not None:
                fn = resolve_pyref(tool.impl, field=f"tools[{i}].impl", base_dir=base)
                if not callable(fn):
                    raise ConfigError(f"{tool.impl!r} is not callable", file=suite.path, field=f"tools[{i}].impl")
                self._impls[tool.name] = fn
        if self._env_cls is not None:
            missing = [t.name for t in suite.tools
                       if t.name not in self._impls and not callable(getattr(self._env_cls, t.name, None))]
            if missing:
                raise ConfigError(f"tool {missing[0]!r} has no implementation", file=suite.path,
                                  field="tools",
                                  hint="give it `impl: python:module:function` or a method of that name "
                                       "on the environment class")

    @property
    def active(self) -> bool:
        return self._env_cls is not None or bool(self._impls)

    def new(self, sample: ResolvedSample) -> Toolbox:
        env = None
        if self._env_cls is not None:
            try:
                env = self._env_cls(initial_state=dict(sample.initial_state or {}), **self._env_args)
            except TypeError as exc:
                raise ConfigError(f"cannot create the environment: {exc}", file=self.suite.path,
                                  field="environment",
                                  hint="its constructor must accept initial_state=... and the `args`") from None
        return Toolbox(env, self._impls, [t.name for t in self.suite.tools])
