"""Turning Vertex AI Agent Engine answers into Traces: ADK event streams and LangChain `query` output.

ADK events: `content.parts[].function_call` (id, name, args) become tool calls, `function_response`
parts their results, the last model `text` part the output, `usage_metadata` the tokens (snake_case or
camelCase keys). LangChain-style `{"output", "intermediate_steps": [[{"tool", "tool_input"}, result]]}`
answers of `query()` become a trace the same way.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import JsonValue

from ..errors import BackendError
from ..schema import Message, ToolCall, Trace, Usage
from .base import BackendRequest

__all__ = ["last_user_text", "query_trace", "stream_trace", "short"]

_MAX_EVENTS = 200
_MAX_EVENT_CHARS = 20_000
_MAX_MESSAGE = 300


def last_user_text(messages: list[Message]) -> str:
    """The turn's message: the last user message (the session holds the earlier ones)."""
    for m in reversed(messages):
        if m.role == "user":
            return m.content
    return messages[-1].content if messages else ""


def _get(d: Any, snake: str) -> Any:
    """`d[snake]`, or its camelCase twin (the service dumps snake_case; proto JSON is camelCase)."""
    if not isinstance(d, dict):
        return None
    if snake in d:
        return d[snake]
    head, *rest = snake.split("_")
    return d.get(head + "".join(w.title() for w in rest))


def _json(value: Any) -> JsonValue:
    """A JSON-safe copy; whole-number floats (proto Struct numbers) back to ints."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, dict):
        return {str(k): _json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _bounded(events: list[Any]) -> list[JsonValue]:
    """Events kept raw for debugging: at most _MAX_EVENTS, each at most _MAX_EVENT_CHARS of JSON."""
    kept: list[JsonValue] = []
    for e in events[:_MAX_EVENTS]:
        value: JsonValue = _json(e) if isinstance(e, (dict, list, str)) else {"raw": repr(e)[:2000]}
        size = len(json.dumps(value))
        kept.append(value if size <= _MAX_EVENT_CHARS else {"truncated": True, "chars": size,
                                                            "preview": json.dumps(value)[:2000]})
    if len(events) > _MAX_EVENTS:
        kept.append({"dropped_events": len(events) - _MAX_EVENTS})
    return kept


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def stream_trace(events: list[Any], request: BackendRequest) -> Trace:
    """ADK events -> Trace (tool calls with results, last model text, summed usage)."""
    calls: list[ToolCall] = []
    started: list[float | None] = []
    output, finish, model = "", None, None
    prompt_tokens: int | None = None
    output_tokens: int | None = None
    for event in events:
        if not isinstance(event, dict):
            continue
        if "error" in event and "content" not in event:  # the agent failed on the service
            raise BackendError(f"the agent failed: {short(event['error'])}", retryable=False)
        partial = bool(event.get("partial"))
        stamp = event.get("timestamp") if isinstance(event.get("timestamp"), (int, float)) else None
        texts: list[str] = []
        for part in _get(event.get("content"), "parts") or []:
            if (call := _get(part, "function_call")) is not None:
                args = _json(_get(call, "args") or {})
                cid = _get(call, "id")
                calls.append(ToolCall(tool=str(_get(call, "name") or ""), id=None if cid is None else str(cid),
                                      turn=request.turn,
                                      args=args if isinstance(args, dict) else {"input": args}))
                started.append(stamp)
            elif (resp := _get(part, "function_response")) is not None:
                _attach(calls, started, resp, stamp)
            elif isinstance(_get(part, "text"), str) and not _get(part, "thought"):
                texts.append(_get(part, "text"))
        if texts and not partial and _get(event.get("content"), "role") != "user" and event.get("author") != "user":
            output = "".join(texts)
        if not partial and (usage := _get(event, "usage_metadata")):
            p, c = _int(_get(usage, "prompt_token_count")), _int(_get(usage, "candidates_token_count"))
            t = _int(_get(usage, "thoughts_token_count"))
            prompt_tokens = prompt_tokens if p is None else (prompt_tokens or 0) + p
            if c is not None or t is not None:
                output_tokens = (output_tokens or 0) + (c or 0) + (t or 0)
        finish = _get(event, "finish_reason") or _get(event, "error_code") or finish
        model = _get(event, "model_version") or model
    return Trace(output=output, messages=[*request.messages, Message(role="assistant", content=output)],
                 tool_calls=calls, usage=Usage(input_tokens=prompt_tokens, output_tokens=output_tokens),
                 model=model, finish_reason=finish, events=_bounded(events))


def _attach(calls: list[ToolCall], started: list[float | None], resp: Any, stamp: float | None) -> None:
    """Put a function_response on its call: by id, else the first unanswered call of that name."""
    rid, name = _get(resp, "id"), _get(resp, "name")
    unanswered = [i for i, c in enumerate(calls) if c.result is None and c.error is None]
    index = next((i for i in unanswered if rid is not None and calls[i].id == rid), None)
    if index is None:
        index = next((i for i in unanswered if calls[i].tool == name), None)
    if index is None:
        return  # a response without a call we saw (e.g. from an earlier turn)
    result = _json(_get(resp, "response"))
    error = None
    if isinstance(result, dict) and set(result) == {"error"}:
        error = short(result["error"])
    began = started[index]
    latency = stamp - began if stamp is not None and began is not None and stamp >= began else None
    calls[index] = calls[index].model_copy(update={"result": result, "error": error, "latency_s": latency})


def query_trace(value: Any, request: BackendRequest) -> Trace:
    """A `query` answer -> Trace; LangChain's `intermediate_steps` are the tool calls."""
    value = _json(value)
    calls: list[ToolCall] = []
    if isinstance(value, dict):
        out = value.get("output", value)
        for step in value.get("intermediate_steps") or []:
            if not isinstance(step, list) or len(step) != 2:
                continue
            action, observation = step
            if isinstance(action, dict) and isinstance(action.get("kwargs"), dict):
                action = action["kwargs"]  # langchain's dumpd() form: {"lc": 1, "kwargs": {...}}
            if not isinstance(action, dict):
                continue
            tool_input = action.get("tool_input")
            calls.append(ToolCall(tool=str(action.get("tool") or ""), result=observation, turn=request.turn,
                                  args=tool_input if isinstance(tool_input, dict) else {"input": tool_input},
                                  id=action.get("tool_call_id") if isinstance(action.get("tool_call_id"), str)
                                  else None))
    else:
        out = value
    output = out if isinstance(out, str) else json.dumps(out)
    return Trace(output=output, messages=[*request.messages, Message(role="assistant", content=output)],
                 tool_calls=calls, events=_bounded([value]))


def short(value: Any) -> str:
    return " ".join(str(value).split())[:_MAX_MESSAGE]
