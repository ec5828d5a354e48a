"""Local stub backends for demos, CI and fault tests: `stub:echo`, `stub:golden`, `stub:scripted`.

golden and scripted answer with tool calls (the expected trajectory / the script's); when the request
ends with tool results (the runner ran those calls against the suite's tools), they answer the text.

Options: `latency_ms` (sleep per call), `fault_rate` (share of calls that fail with a retryable
BackendError, drawn from a seeded RNG), `fault_status` (status of injected faults, default 503),
`seed` (RNG seed).
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError

from ..errors import BackendError, ConfigError
from ..schema import Message, ToolCall, Trace, Usage
from .base import Backend, BackendRequest

__all__ = ["StubBackend", "StubOptions", "create"]

Mode = Literal["echo", "golden", "scripted"]


class StubOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    latency_ms: float = Field(0.0, ge=0)
    fault_rate: float = Field(0.0, ge=0, le=1)
    fault_status: int = 503
    seed: int = 0
    temperature: float | None = None
    """Accepted and ignored, so suites written for real models run on stubs."""
    max_tokens: int | None = None
    """Accepted and ignored."""


class StubBackend:
    """Answers without a model: echo the user, answer the expected answer, or play the sample's script."""

    def __init__(self, mode: Mode, options: StubOptions) -> None:
        self.mode = mode
        self.options = options
        self.spec = f"stub:{mode}"
        self._rng = random.Random(options.seed)

    async def call(self, request: BackendRequest) -> Trace:
        started = time.perf_counter()
        if self.options.latency_ms:
            await asyncio.sleep(self.options.latency_ms / 1000)
        if self.options.fault_rate and self._rng.random() < self.options.fault_rate:
            raise BackendError(f"injected fault (HTTP {self.options.fault_status})", retryable=True,
                               status=self.options.fault_status)
        output, tool_calls = self._answer(request)
        return Trace(
            output=output,
            messages=[*request.messages, Message(role="assistant", content=output)],
            tool_calls=tool_calls,
            usage=Usage(input_tokens=sum(len(m.content.split()) for m in request.messages),
                        output_tokens=len(output.split()), cost_usd=0.0),
            latency_s=time.perf_counter() - started,
            model=self.spec,
            finish_reason="stop",
        )

    def _answer(self, request: BackendRequest) -> tuple[str, list[ToolCall]]:
        if self.mode == "echo":
            return next((m.content for m in reversed(request.messages) if m.role == "user"), ""), []
        sample = request.sample
        after_tools = bool(request.messages) and request.messages[-1].role == "tool"
        if sample is None:
            raise BackendError(f"{self.spec} needs the sample", retryable=False)
        if self.mode == "golden":
            answers = sample.acceptable
            if not answers and not sample.expected_trajectory:
                raise BackendError(f"sample {sample.id!r} has no expected answer or trajectory for stub:golden",
                                   retryable=False)
            first = answers[0] if answers else ""
            text = first if isinstance(first, str) else json.dumps(first, ensure_ascii=False)
            calls = [ToolCall(tool=step.tool, args=step.example_args(), turn=request.turn)
                     for step in (sample.expected_trajectory or [])]
            return text, [] if after_tools else calls
        script = sample.script
        if script is None:
            raise BackendError(f"sample {sample.id!r} has no `script` for stub:scripted", retryable=False)
        if script.turns is not None:
            if request.turn >= len(script.turns):
                raise BackendError(f"sample {sample.id!r} script has no answer for turn {request.turn + 1}",
                                   retryable=False)
            return script.turns[request.turn], []
        calls = [tc.model_copy(update={"turn": request.turn}) for tc in script.tool_calls]
        # When the runner executed the scripted calls against the suite's tools, answer the final text.
        return script.output, [] if after_tools else calls

    async def aclose(self) -> None:
        return None


def create(target: str, options: dict[str, JsonValue]) -> Backend:
    if target not in ("echo", "golden", "scripted"):
        from ..registry import did_you_mean

        raise ConfigError(f"unknown stub {target!r}", field="backend",
                          hint=did_you_mean(target, ["echo", "golden", "scripted"]))
    try:
        opts = StubOptions.model_validate(options)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ConfigError(err["msg"], field="backend option " + ".".join(map(str, err["loc"])),
                          hint="stub options: latency_ms, fault_rate, fault_status, seed") from None
    return StubBackend(target, opts)  # type: ignore[arg-type]
