"""The `litellm` backend: any chat model litellm can reach, e.g. `litellm:openai/gpt-4o-mini`.

litellm is imported on the first call, never at module import (it is slow to import, and without
`LITELLM_LOCAL_MODEL_COST_MAP` it fetches its price list from the internet). Retries belong to the
agenteval runner, so litellm's and the OpenAI SDK's own retries are switched off; failures become
`BackendError(retryable=...)`.
"""

from __future__ import annotations

import email.utils
import importlib.util
import json
import os
import time
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue, SecretStr, ValidationError

from ..errors import BackendError, ConfigError
from ..schema import Message, ToolCall, Trace, Usage
from .base import SECRET_MARKERS, Backend, BackendRequest

__all__ = ["LiteLLMBackend", "LiteLLMOptions", "create"]

_INSTALL_HINT = "pip install litellm"
_RETRYABLE_STATUS = frozenset({408, 409, 425, 429})
_MAX_MESSAGE = 300


class LiteLLMOptions(BaseModel):
    """Options of the litellm backend; unknown keys go to `litellm.acompletion` unchanged."""

    model_config = ConfigDict(extra="allow")

    temperature: float | None = Field(default=None, ge=0)
    max_tokens: int | None = Field(default=None, ge=1)
    top_p: float | None = Field(default=None, ge=0, le=1)
    seed: int | None = None
    """Used when the request carries no seed of its own."""
    timeout_s: float = Field(default=60.0, gt=0)
    """Per-call timeout in seconds."""
    api_base: str | None = None
    """Base URL of an OpenAI-compatible server, e.g. `http://127.0.0.1:8000/v1`."""
    api_key: SecretStr | None = None
    """Kept out of reprs and logs."""
    stop: str | list[str] | None = None

    def extra_params(self) -> dict[str, Any]:
        """The pass-through options (unknown keys)."""
        return dict(self.model_extra or {})


_configured: ModuleType | None = None


def _litellm() -> ModuleType:
    """Import litellm (once), quiet and offline-safe."""
    global _configured
    if _configured is not None:
        return _configured
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    try:
        import litellm
    except ImportError as e:
        raise ConfigError(f"the litellm backend needs the litellm package ({e})",
                          hint=_INSTALL_HINT) from e
    litellm.suppress_debug_info = True
    litellm.telemetry = False
    # litellm logs pricing notes and retries as warnings on stderr; agenteval reports errors itself.
    import logging

    for name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy"):
        logging.getLogger(name).setLevel(logging.ERROR)
    _configured = litellm
    return litellm


class LiteLLMBackend:
    """A chat model called through `litellm.acompletion`."""

    def __init__(self, target: str, options: LiteLLMOptions) -> None:
        self.spec = f"litellm:{target}"
        self.target = target
        self.options = options

    def _params(self, request: BackendRequest) -> dict[str, Any]:
        o = self.options
        params: dict[str, Any] = o.extra_params()
        params.update(
            model=self.target,
            messages=[_message_dict(m) for m in request.messages],
            timeout=o.timeout_s,
            num_retries=0,  # litellm's own retry wrapper
            max_retries=0,  # the provider SDK's retries (openai defaults to 2)
        )
        if request.tools:
            params["tools"] = [
                {"type": "function",
                 "function": {"name": t.name, "description": t.description, "parameters": t.parameters}}
                for t in request.tools
            ]
            # litellm checks tools for its MCP gateway by importing the optional `mcp` package, which
            # fails without it; plain function tools never need that path. litellm strips this key.
            params["_skip_mcp_handler"] = True
        seed = request.seed if request.seed is not None else o.seed
        for name, value in (("temperature", o.temperature), ("max_tokens", o.max_tokens),
                            ("top_p", o.top_p), ("seed", seed), ("stop", o.stop),
                            ("api_base", o.api_base)):
            if value is not None:
                params[name] = value
        if o.api_key is not None:
            params["api_key"] = o.api_key.get_secret_value()
        return params

    async def call(self, request: BackendRequest) -> Trace:
        litellm = _litellm()
        params = self._params(request)
        start = time.perf_counter()
        try:
            resp = await litellm.acompletion(**params)
        except Exception as e:
            raise _backend_error(e, litellm) from e
        latency = time.perf_counter() - start
        return _trace(resp, request, latency, litellm)

    async def aclose(self) -> None:
        """Nothing to release: litellm owns and caches its HTTP clients."""


def _message_dict(m: Message) -> dict[str, Any]:
    d: dict[str, Any] = {"role": m.role, "content": m.content}
    if m.name is not None:
        d["name"] = m.name
    if m.tool_call_id is not None:
        d["tool_call_id"] = m.tool_call_id
    if m.tool_calls:
        d["content"] = m.content or None
        d["tool_calls"] = [{"id": tc.id or f"call_{i}", "type": "function",
                            "function": {"name": tc.tool, "arguments": json.dumps(tc.args)}}
                           for i, tc in enumerate(m.tool_calls)]
    return d


def _parse_args(raw: Any) -> tuple[dict[str, JsonValue], str | None]:
    """Tool-call arguments from the model's JSON string; on bad JSON, `{}` and the reason."""
    if isinstance(raw, dict):
        return raw, None
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return {}, None
    try:
        parsed = json.loads(raw)
    except (TypeError, ValueError) as e:
        return {}, f"invalid JSON arguments: {e}: {str(raw)[:200]}"
    if not isinstance(parsed, dict):
        return {}, f"invalid JSON arguments: expected an object, got {type(parsed).__name__}"
    return parsed, None


def _trace(resp: Any, request: BackendRequest, latency: float, litellm: ModuleType) -> Trace:
    choice = resp.choices[0] if resp.choices else None
    message = getattr(choice, "message", None)
    output = str(getattr(message, "content", None) or "")
    calls: list[ToolCall] = []
    for tc in getattr(message, "tool_calls", None) or []:
        fn = getattr(tc, "function", None)
        args, error = _parse_args(getattr(fn, "arguments", None))
        calls.append(ToolCall(tool=str(getattr(fn, "name", "") or ""), args=args, error=error,
                              id=getattr(tc, "id", None), turn=request.turn))
    usage = getattr(resp, "usage", None)
    # litellm already priced the response (from its local cost map, or the call's own per-token
    # prices); recomputing costs ~0.3 ms a call. A `response_cost` of None means litellm could not
    # price this model: asking again would fail the same way, so the cost is unknown.
    hidden = getattr(resp, "_hidden_params", None)
    cost: float | None
    if isinstance(hidden, dict) and "response_cost" in hidden:
        priced = hidden["response_cost"]
        cost = (float(priced) if isinstance(priced, (int, float)) and not isinstance(priced, bool)
                else None)
    else:
        try:
            cost = float(litellm.completion_cost(completion_response=resp))
        except Exception:
            cost = None
    return Trace(
        output=output,
        messages=[*request.messages, Message(role="assistant", content=output, tool_calls=calls or None)],
        tool_calls=calls,
        usage=Usage(input_tokens=getattr(usage, "prompt_tokens", None),
                    output_tokens=getattr(usage, "completion_tokens", None),
                    cost_usd=cost),
        latency_s=latency,
        model=getattr(resp, "model", None),
        finish_reason=getattr(choice, "finish_reason", None),
    )


def _headers_of(exc: BaseException) -> list[Any]:
    """Where a provider's response headers may sit on a litellm/openai exception."""
    # litellm rebuilds `exc.response` without the provider's headers for most errors and keeps them
    # in `litellm_response_headers`; `.response` itself is a property that can raise on openai errors.
    found: list[Any] = [getattr(exc, "litellm_response_headers", None), getattr(exc, "headers", None)]
    try:
        found.append(getattr(getattr(exc, "response", None), "headers", None))
    except (AttributeError, TypeError, ValueError):
        found.append(None)
    return [h for h in found if h and callable(getattr(h, "get", None))]


def _seconds(value: Any) -> float | None:
    """A Retry-After value (seconds, or an HTTP date) as seconds from now."""
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        pass
    try:
        when = email.utils.parsedate_to_datetime(str(value))
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def retry_after_from_headers(headers: Any) -> float | None:
    """Seconds from `retry-after-ms` / `retry-after` response headers, when the server sent one."""
    ms = headers.get("retry-after-ms")
    if ms is not None and (s := _seconds(ms)) is not None:
        return s / 1000.0
    value = headers.get("retry-after")
    if value is not None and (s := _seconds(value)) is not None:
        return s
    return None


def _retry_after(exc: BaseException) -> float | None:
    """Seconds from the provider's `retry-after-ms` / `retry-after` header, when it sent one."""
    for headers in _headers_of(exc):
        if (s := retry_after_from_headers(headers)) is not None:
            return s
    return None


def _backend_error(exc: Exception, litellm: ModuleType) -> BackendError:
    ex = litellm.exceptions
    text = " ".join(str(exc).split())[:_MAX_MESSAGE] or type(exc).__name__
    status = getattr(exc, "status_code", None)
    status = status if isinstance(status, int) else None
    if isinstance(exc, ex.Timeout):  # litellm reports its own timeouts as 408 too
        return BackendError(f"timeout: {text}", retryable=True, status=status,
                            retry_after_s=_retry_after(exc))
    if isinstance(exc, ex.APIConnectionError):  # no HTTP answer (litellm says 500 regardless)
        return BackendError(f"connection error: {text}", retryable=True, status=None)
    if isinstance(exc, (ex.RateLimitError, ex.ServiceUnavailableError, ex.InternalServerError,
                        ex.BadGatewayError)):
        retryable = True
    elif status is not None:
        retryable = status in _RETRYABLE_STATUS or status >= 500
    else:
        retryable = False  # not an HTTP failure: a bad model name, a bad parameter, a bug
    return BackendError(
        f"HTTP {status}: {text}" if status is not None else text,
        retryable=retryable,
        status=status,
        retry_after_s=_retry_after(exc) if retryable else None,
    )


def create(target: str, options: dict[str, JsonValue]) -> Backend:
    """The `litellm` entry point: `litellm:openai/gpt-4o-mini` -> target `openai/gpt-4o-mini`."""
    if not target.strip():
        raise ConfigError("the litellm backend needs a model, e.g. `litellm:openai/gpt-4o-mini`",
                          field="backend")
    try:
        opts = LiteLLMOptions.model_validate(options)
    except ValidationError as e:
        err = e.errors()[0]
        name = ".".join(str(p) for p in err["loc"]) or "options"
        secret = any(m in name.lower() for m in SECRET_MARKERS)
        got = "" if secret else f" (got {err.get('input')!r})"
        raise ConfigError(f"{err['msg']}{got}", field=f"backend.{name}",
                          hint=f"valid options: {', '.join(LiteLLMOptions.model_fields)}") from e
    if importlib.util.find_spec("litellm") is None:
        raise ConfigError("the litellm backend needs the litellm package", hint=_INSTALL_HINT)
    return LiteLLMBackend(target.strip(), opts)
