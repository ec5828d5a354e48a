"""What a backend returns: the trace of one model or agent run."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

Role = Literal["system", "user", "assistant", "tool"]


class ToolCall(BaseModel):
    """One tool call the model or agent made."""

    model_config = ConfigDict(extra="forbid")

    tool: str
    """Name of the tool."""
    args: dict[str, JsonValue] = Field(default_factory=dict)
    """Arguments, parsed from JSON."""
    id: str | None = None
    """The backend's id of the call."""
    result: JsonValue = None
    """What the tool returned, when the backend ran it."""
    error: str | None = None
    """Why the call failed, or why its arguments could not be parsed."""
    latency_s: float | None = None
    """How long the tool took, when known."""
    turn: int = 0
    """Index of the user turn during which the call was made."""


class Message(BaseModel):
    """One chat message."""

    model_config = ConfigDict(extra="forbid")

    role: Role
    """Who speaks: system, user, assistant or tool."""
    content: str = ""
    """The text of the message."""
    name: str | None = None
    """Tool name, for tool messages."""
    tool_call_id: str | None = None
    """The call this tool message answers."""
    tool_calls: list[ToolCall] | None = None
    """Tool calls an assistant message made (replayed to the model in tool loops)."""


class Usage(BaseModel):
    """Token use and cost of a call (or a sum of calls)."""

    model_config = ConfigDict(extra="forbid")

    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None
    """Cost from litellm's locally loaded cost map; None when the model's price is unknown."""

    def add(self, other: Usage) -> Usage:
        def plus(a: int | float | None, b: int | float | None) -> int | float | None:
            if a is None:
                return b
            if b is None:
                return a
            return a + b

        return Usage(
            input_tokens=plus(self.input_tokens, other.input_tokens),
            output_tokens=plus(self.output_tokens, other.output_tokens),
            cost_usd=plus(self.cost_usd, other.cost_usd),
        )


class Turn(BaseModel):
    """One user turn of a multi-turn sample and the answer to it."""

    model_config = ConfigDict(extra="forbid")

    user: str
    output: str
    tool_calls: list[ToolCall] = Field(default_factory=list)


class Trace(BaseModel):
    """The full record of one answer: messages, tool calls, usage, latency, raw events."""

    model_config = ConfigDict(extra="forbid")

    output: str = ""
    """The final answer text."""
    messages: list[Message] = Field(default_factory=list)
    """The conversation sent, followed by the answer(s)."""
    tool_calls: list[ToolCall] = Field(default_factory=list)
    """Every tool call, in order, across all turns."""
    turns: list[Turn] = Field(default_factory=list)
    """Per-turn answers, for samples with several user turns."""
    usage: Usage = Field(default_factory=Usage)
    latency_s: float | None = None
    """Model latency of the call(s), measured by the backend."""
    model: str | None = None
    """The model that answered, as the backend reports it."""
    finish_reason: str | None = None
    events: list[JsonValue] = Field(default_factory=list)
    """Backend events kept raw for debugging."""
    state: JsonValue = None
    """The environment's state after the run (suites with an `environment`)."""
