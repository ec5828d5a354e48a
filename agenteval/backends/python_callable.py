"""`python:<module>:<function>`: the user's own agent as a backend.

The function may be sync or async. It is called with the conversation as a list of
`{"role", "content"}` dicts, plus any of these keyword arguments its signature names:
`tools` (list of tool dicts), `sample` (the ResolvedSample), `options` (the backend options dict),
`turn` (user-turn index), `toolbox` (the suite's stateful tools: `toolbox.call(name, args)`; calls made
through it are recorded in the trace). It returns a string (the answer), a dict `{"output": str, "tool_calls":
[{"tool", "args"}], "usage": {...}}`, or a `Trace`. Exceptions become non-retryable BackendErrors,
except `BackendError` itself, which passes through with its own `retryable`.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from typing import Any

from pydantic import JsonValue, ValidationError

from ..errors import BackendError, ConfigError
from ..pyref import resolve_pyref
from ..schema import Message, Trace
from .base import Backend, BackendRequest

__all__ = ["PythonBackend", "create"]

_KWARGS = ("tools", "sample", "options", "turn", "toolbox")


def _resolve(target: str) -> Callable[..., Any]:
    fn = resolve_pyref(target, field="backend")
    if not callable(fn):
        raise ConfigError(f"{target!r} is not a function", field="backend")
    return fn  # type: ignore[no-any-return]


class PythonBackend:
    def __init__(self, target: str, fn: Callable[..., Any], options: dict[str, JsonValue]) -> None:
        self.spec = f"python:{target}"
        self.fn = fn
        self.options = options
        params = inspect.signature(fn).parameters
        takes_all = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
        self._kwargs = [k for k in _KWARGS if takes_all or k in params]
        self._is_async = inspect.iscoroutinefunction(fn)

    async def call(self, request: BackendRequest) -> Trace:
        messages = [m.model_dump(exclude_none=True) for m in request.messages]
        available: dict[str, Any] = {
            "tools": [t.model_dump() for t in request.tools], "sample": request.sample,
            "options": self.options, "turn": request.turn, "toolbox": request.toolbox,
        }
        kwargs = {k: available[k] for k in self._kwargs}
        started = time.perf_counter()
        try:
            if self._is_async:
                result = await self.fn(messages, **kwargs)
            else:
                result = await asyncio.to_thread(self.fn, messages, **kwargs)
        except BackendError:
            raise
        except Exception as exc:
            raise BackendError(f"{self.spec} raised {type(exc).__name__}: {exc}", retryable=False) from exc
        latency = time.perf_counter() - started
        return self._to_trace(result, request, latency)

    def _to_trace(self, result: Any, request: BackendRequest, latency: float) -> Trace:
        try:
            if isinstance(result, Trace):
                trace = result
            elif isinstance(result, str):
                trace = Trace(output=result)
            elif isinstance(result, dict):
                trace = Trace.model_validate(result)
            else:
                raise BackendError(f"{self.spec} returned {type(result).__name__}; return a str, a dict "
                                   "or a Trace", retryable=False)
        except ValidationError as exc:
            raise BackendError(f"{self.spec} returned an invalid trace: {exc.errors()[0]['msg']} at "
                               f"{'.'.join(map(str, exc.errors()[0]['loc']))}", retryable=False) from None
        update: dict[str, Any] = {}
        if not trace.messages:
            update["messages"] = [*request.messages, Message(role="assistant", content=trace.output)]
        if trace.latency_s is None:
            update["latency_s"] = latency
        if request.turn:
            update["tool_calls"] = [tc.model_copy(update={"turn": request.turn}) for tc in trace.tool_calls]
        return trace.model_copy(update=update) if update else trace

    async def aclose(self) -> None:
        return None


def create(target: str, options: dict[str, JsonValue]) -> Backend:
    return PythonBackend(target, _resolve(target), options)
