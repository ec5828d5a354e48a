"""`replay:<traces.jsonl>`: score traces recorded elsewhere without calling any model.

Each JSONL line is one recorded answer, matched to a sample by `sample_id` (or `id`) and `repeat`
(default 0). Accepted shapes:

- agenteval's own: `{"sample_id", "output", "tool_calls": [{"tool", "args"}], "usage", "latency_s", ...}`
  (any `Trace` field), or a whole `samples.jsonl` line from another run (its `trace` is used);
- the Vertex AI evaluation dataset shape: `{"sample_id", "response", "predicted_trajectory":
  [{"tool_name", "tool_input"}]}`.

A sample with no recorded line fails with a non-retryable error (it is unmeasured, never scored 0).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import JsonValue, ValidationError

from ..errors import BackendError, ConfigError
from ..schema import ToolCall, Trace
from .base import Backend, BackendRequest

__all__ = ["ReplayBackend", "create", "trace_from_record"]


def _tool_calls(raw: Any, file: str, line: int) -> list[ToolCall]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ConfigError("tool calls must be a list", file=file, line=line, field="tool_calls")
    calls: list[ToolCall] = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            raise ConfigError(f"tool call {i} is not an object", file=file, line=line)
        name = item.get("tool", item.get("tool_name", item.get("name")))
        args = item.get("args", item.get("tool_input", item.get("arguments", {})))
        if isinstance(args, str):
            try:
                args = json.loads(args) if args.strip() else {}
            except json.JSONDecodeError:
                calls.append(ToolCall(tool=str(name), args={}, error=f"invalid JSON arguments: {args[:100]}"))
                continue
        if not isinstance(name, str) or not isinstance(args, dict):
            raise ConfigError(f"tool call {i} needs a name and an object of arguments", file=file, line=line,
                              field="tool_calls")
        calls.append(ToolCall(tool=name, args=args, result=item.get("result"), id=item.get("id"),
                              turn=int(item.get("turn", 0) or 0)))
    return calls


def trace_from_record(record: dict[str, Any], file: str, line: int) -> Trace:
    """A Trace from one recorded line (any of the accepted shapes)."""
    if isinstance(record.get("trace"), dict):
        record = {**record["trace"], **{k: v for k, v in record.items() if k == "output" and v is not None}}
    fields = {k: v for k, v in record.items() if k in Trace.model_fields and k != "tool_calls"}
    if "output" not in fields and "response" in record:
        fields["output"] = record["response"]
    if fields.get("output") is None:
        fields["output"] = ""
    if not isinstance(fields["output"], str):
        fields["output"] = json.dumps(fields["output"], ensure_ascii=False)
    raw_calls = record.get("tool_calls", record.get("predicted_trajectory"))
    try:
        return Trace.model_validate({**fields, "tool_calls": _tool_calls(raw_calls, file, line)})
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ConfigError(err["msg"], file=file, line=line, field=".".join(map(str, err["loc"]))) from None


class ReplayBackend:
    def __init__(self, path: Path) -> None:
        self.spec = f"replay:{path}"
        self.records: dict[tuple[str, int], Trace] = {}
        file = str(path)
        with path.open(encoding="utf-8") as fh:
            for lineno, raw in enumerate(fh, start=1):
                if not raw.strip():
                    continue
                try:
                    rec = json.loads(raw)
                except json.JSONDecodeError as exc:
                    raise ConfigError(f"bad JSON line: {exc.msg}", file=file, line=lineno) from None
                if not isinstance(rec, dict):
                    raise ConfigError("each line must be a JSON object", file=file, line=lineno)
                sid = rec.get("sample_id", rec.get("id"))
                if sid is None:
                    raise ConfigError("line has no sample_id", file=file, line=lineno, field="sample_id")
                key = (str(sid), int(rec.get("repeat", 0) or 0))
                if key in self.records:
                    raise ConfigError(f"sample {key[0]!r} repeat {key[1]} is recorded twice", file=file,
                                      line=lineno)
                self.records[key] = trace_from_record(rec, file, lineno)

    async def call(self, request: BackendRequest) -> Trace:
        sample = request.sample
        if sample is None:
            raise BackendError("replay needs the sample id", retryable=False)
        trace = self.records.get((sample.id, request.repeat))
        if trace is None:
            raise BackendError(f"no recorded trace for sample {sample.id!r} repeat {request.repeat}",
                               retryable=False)
        if sample.turns and request.turn < len(sample.turns) - 1:
            # A recording is the whole conversation: it stands for the last turn; earlier turns are empty.
            return Trace(output="")
        return trace

    async def aclose(self) -> None:
        return None


def create(target: str, options: dict[str, JsonValue]) -> Backend:
    path = Path(target)
    if not path.is_file():
        raise ConfigError(f"replay file not found: {target}", field="backend",
                          hint="replay:<path to a JSONL file of recorded traces>")
    if options:
        raise ConfigError(f"replay takes no options (got {', '.join(options)})", field="backend")
    return ReplayBackend(path)
