"""The Backend protocol: one async call from a request to a Trace."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from pydantic import JsonValue

from ..redaction import SECRET_MARKERS, redact
from ..schema import Message, ResolvedSample, ToolSpec, Trace

__all__ = ["Backend", "BackendRequest", "ToolExecutor", "BackendFactory", "SECRET_MARKERS", "redact"]


class ToolExecutor(Protocol):
    """Runs the suite's Python tools for one sample (see agenteval.tools.Toolbox)."""

    names: list[str]

    def call(self, name: str, args: dict[str, Any] | None = None, *, call_id: str | None = None,
             **kwargs: Any) -> JsonValue: ...


@dataclass(frozen=True)
class BackendRequest:
    """What a backend is asked: the rendered conversation, the tools, and the sample it came from."""

    messages: list[Message]
    tools: list[ToolSpec] = field(default_factory=list)
    sample: ResolvedSample | None = None
    """The sample (stubs read `expected` / `script` from it; real models must not)."""
    repeat: int = 0
    seed: int | None = None
    turn: int = 0
    """Index of the user turn being answered (multi-turn samples)."""
    toolbox: ToolExecutor | None = None
    """The sample's stateful tools, when the suite has an environment; agents call `toolbox.call`."""


@runtime_checkable
class Backend(Protocol):
    """A model or agent. `call` raises `BackendError(retryable=...)` on failure."""

    spec: str
    """The spec string the backend was made from, e.g. `litellm:openai/gpt-4o-mini`."""

    async def call(self, request: BackendRequest) -> Trace: ...

    async def aclose(self) -> None: ...


class BackendFactory(Protocol):
    """What an `agenteval.backends` entry point resolves to: spec target + options -> Backend."""

    def __call__(self, target: str, options: dict[str, JsonValue]) -> Backend: ...
