"""The `openai` backend: a native client for OpenAI-compatible chat servers, e.g. `openai:gpt-4o-mini`.

For the high-volume cases where the harness must keep a model saturated (vLLM, llama.cpp, TGI, Ollama,
OpenAI itself): one pooled aiohttp session per backend (keep-alive, one connection per call in
flight, so the runner's `--concurrency` sizes the pool), the request body built from plain dicts and
the answer read from the JSON without an SDK's response models. Everything else litellm reaches stays
on the `litellm:` backend; errors map the same way (`BackendError(retryable=...)`: 408/409/425/429,
5xx, timeouts and connection errors are retryable, with the server's Retry-After; other 4xx are not).
The runner owns retries, so the client never retries.

Why aiohttp, not httpx: at concurrency 50 (bench/throughput.py) a raw aiohttp session costs about
0.2 ms of CPU per request, a raw httpx.AsyncClient about 5 ms, because httpcore's pool scans every
connection (`_assign_requests_to_connections`, `is_idle`, a readability poll) on each request.

The session is made on the first call, inside the running event loop. A backend used from a new loop
(e.g. one `asyncio.run` per call) makes a new session there; the old loop's connections are dropped.

Cost: from `input_cost_per_token` / `output_cost_per_token` when given; otherwise from litellm's
local price list, looked up once, on the first answer, without importing litellm (its JSON file is
read directly); None when the model is not priced.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import sys
import time
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, JsonValue, SecretStr, ValidationError, model_validator

from ..errors import BackendError, ConfigError
from ..registry import did_you_mean
from ..schema import Message, ToolCall, ToolSpec, Trace, Usage
from .base import SECRET_MARKERS, Backend, BackendRequest
from .litellm_backend import _message_dict, _parse_args, retry_after_from_headers

if TYPE_CHECKING:
    import aiohttp

__all__ = ["OpenAIBackend", "OpenAIOptions", "create"]

_RETRYABLE_STATUS = frozenset({408, 409, 425, 429})
_MAX_MESSAGE = 300
_PRICE_FILE = "model_prices_and_context_window_backup.json"


class OpenAIOptions(BaseModel):
    """Options of the `openai` backend. Unknown keys are an error; put server-specific request fields
    (e.g. vLLM's `top_k`, `repetition_penalty`) in `extra_body`."""

    model_config = ConfigDict(extra="forbid")

    api_base: str | None = None
    """Base URL of the server, e.g. `http://127.0.0.1:8000/v1` (default: $OPENAI_BASE_URL)."""
    api_key: SecretStr | None = None
    """Sent as `Authorization: Bearer ...` (default: $OPENAI_API_KEY; none for local servers)."""
    temperature: float | None = Field(default=None, ge=0)
    max_tokens: int | None = Field(default=None, ge=1)
    top_p: float | None = Field(default=None, ge=0, le=1)
    seed: int | None = None
    """Used when the request carries no seed of its own."""
    stop: str | list[str] | None = None
    timeout_s: float = Field(default=60.0, gt=0)
    """Whole-call timeout in seconds (connect, send, wait, read)."""
    headers: dict[str, str] = Field(default_factory=dict)
    """Extra HTTP headers sent with every request."""
    extra_body: dict[str, JsonValue] = Field(default_factory=dict)
    """Merged into every request body last (so it may override any field)."""
    input_cost_per_token: float | None = Field(default=None, ge=0)
    """USD per prompt token; with `output_cost_per_token`, overrides litellm's price list."""
    output_cost_per_token: float | None = Field(default=None, ge=0)
    """USD per completion token."""
    max_connections: int | None = Field(default=None, ge=1)
    """Cap on open connections (default: none beyond the runner's concurrency, one per call in flight)."""
    trust_env: bool = False
    """Use HTTP(S)_PROXY / NO_PROXY from the environment."""

    @model_validator(mode="after")
    def _prices_together(self) -> OpenAIOptions:
        if (self.input_cost_per_token is None) != (self.output_cost_per_token is None):
            raise ValueError("give input_cost_per_token and output_cost_per_token together")
        return self

    def __repr_args__(self) -> Any:
        # headers may carry credentials (Authorization, api-key): keep their values out of reprs.
        for name, value in super().__repr_args__():
            if name == "headers" and value:
                value = {k: ("***" if any(m in k.lower() for m in SECRET_MARKERS) else v)
                         for k, v in value.items()}
            yield name, value


Prices = tuple[float, float]


class OpenAIBackend:
    """A chat model behind an OpenAI-compatible `/chat/completions` endpoint, on one pooled session."""

    def __init__(self, target: str, options: OpenAIOptions, *, api_base: str, api_key: SecretStr | None,
                 prices: Prices | Literal["litellm"] | None) -> None:
        self.spec = f"openai:{target}"
        self.target = target
        self.options = options
        self.api_base = api_base
        self.url = api_base.rstrip("/") + "/chat/completions"
        self._prices = prices
        self._api_key = api_key
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tools_src: list[ToolSpec] | None = None
        self._tools_json: list[dict[str, Any]] = []
        # Fields sent with every request, in the order a reader of the server's log expects.
        o = options
        self._fixed: dict[str, Any] = {"model": target}
        for name, value in (("temperature", o.temperature), ("max_tokens", o.max_tokens),
                            ("top_p", o.top_p), ("stop", o.stop)):
            if value is not None:
                self._fixed[name] = value

    @property
    def prices(self) -> Prices | None:
        """(input, output) USD per token; "litellm" (look them up in litellm's price list) is resolved on
        first use, so a run that calls nothing (every answer cached) does not read that 1 MB file."""
        if self._prices == "litellm":
            self._prices = litellm_prices(self.target)
        return self._prices

    def __repr__(self) -> str:
        return f"OpenAIBackend(spec={self.spec!r}, api_base={self.api_base!r}, options={self.options!r})"

    # -- the HTTP session --------------------------------------------------------------------------

    async def _client(self) -> aiohttp.ClientSession:
        """The backend's session, made on first use inside the running loop (and again if the loop
        changed, e.g. a caller that runs each call under its own `asyncio.run`)."""
        loop = asyncio.get_running_loop()
        session = self._session
        if session is not None and self._loop is loop and not session.closed:
            return session
        if session is not None:
            await self._drop(session)
        import aiohttp

        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._api_key is not None:
            headers["Authorization"] = f"Bearer {self._api_key.get_secret_value()}"
        headers.update(self.options.headers)
        connector = aiohttp.TCPConnector(limit=self.options.max_connections or 0, limit_per_host=0,
                                         keepalive_timeout=30.0)
        session = aiohttp.ClientSession(
            connector=connector, headers=headers, trust_env=self.options.trust_env,
            timeout=aiohttp.ClientTimeout(total=self.options.timeout_s),
            # No cookies: an answer must not depend on what earlier calls were told to remember.
            cookie_jar=aiohttp.DummyCookieJar(),
        )
        self._session, self._loop = session, loop
        return session

    async def _drop(self, session: aiohttp.ClientSession) -> None:
        self._session = None
        if self._loop is asyncio.get_running_loop():
            await session.close()
            return
        # Made on a loop that has ended: its connections died with it; just release the session.
        connector = session.connector
        session.detach()
        if connector is not None:
            await connector.close()

    async def aclose(self) -> None:
        """Close the session and its connections."""
        if self._session is not None:
            await self._drop(self._session)

    # -- one call ----------------------------------------------------------------------------------

    def _body(self, request: BackendRequest) -> bytes:
        body: dict[str, Any] = dict(self._fixed)
        messages = []
        for m in request.messages:
            if m.name is None and m.tool_call_id is None and not m.tool_calls:
                messages.append({"role": m.role, "content": m.content})
            else:
                messages.append(_message_dict(m))
        body["messages"] = messages
        if request.tools:
            if request.tools is not self._tools_src:  # the suite's list: converted once per run
                self._tools_json = [
                    {"type": "function",
                     "function": {"name": t.name, "description": t.description, "parameters": t.parameters}}
                    for t in request.tools]
                self._tools_src = request.tools
            body["tools"] = self._tools_json
        seed = request.seed if request.seed is not None else self.options.seed
        if seed is not None:
            body["seed"] = seed
        if self.options.extra_body:
            body.update(self.options.extra_body)
        return json.dumps(body, separators=(",", ":")).encode()

    async def call(self, request: BackendRequest) -> Trace:
        data = self._body(request)
        session = await self._client()
        start = time.perf_counter()
        try:
            async with session.post(self.url, data=data) as resp:
                raw = await resp.read()
                status = resp.status
                if status >= 400:
                    raise _http_error(status, raw, resp.headers)
        except BackendError:
            raise
        except Exception as e:
            raise _transport_error(e) from e
        latency = time.perf_counter() - start
        try:
            payload = json.loads(raw)
        except ValueError as e:
            raise BackendError(f"invalid JSON in the server's answer: {_clip(raw)}", retryable=False,
                               status=status) from e
        if not isinstance(payload, dict):
            raise BackendError(f"unexpected answer from the server: {_clip(raw)}", retryable=False,
                               status=status)
        return self._trace(payload, request, latency, raw)

    def _trace(self, payload: dict[str, Any], request: BackendRequest, latency: float, raw: bytes) -> Trace:
        choices = payload.get("choices")
        if not choices and payload.get("error"):
            raise BackendError(f"the server answered with an error: {_clip(raw)}", retryable=False)
        choice = choices[0] if isinstance(choices, list) and choices and isinstance(choices[0], dict) else {}
        message = choice.get("message")
        message = message if isinstance(message, dict) else {}
        content = message.get("content")
        output = content if isinstance(content, str) else ("" if content is None else str(content))
        calls: list[ToolCall] = []
        for tc in message.get("tool_calls") or ():
            fn = tc.get("function") if isinstance(tc, dict) else None
            fn = fn if isinstance(fn, dict) else {}
            args, error = _parse_args(fn.get("arguments"))
            call_id = tc.get("id") if isinstance(tc, dict) else None
            calls.append(ToolCall(tool=str(fn.get("name") or ""), args=args, error=error,
                                  id=call_id if isinstance(call_id, str) else None, turn=request.turn))
        usage = payload.get("usage")
        usage = usage if isinstance(usage, dict) else {}
        n_in, n_out = _count(usage.get("prompt_tokens")), _count(usage.get("completion_tokens"))
        cost = None
        if self.prices is not None and n_in is not None and n_out is not None:
            cost = n_in * self.prices[0] + n_out * self.prices[1]
        model, finish = payload.get("model"), choice.get("finish_reason")
        return Trace(
            output=output,
            messages=[*request.messages, Message(role="assistant", content=output, tool_calls=calls or None)],
            tool_calls=calls,
            usage=Usage(input_tokens=n_in, output_tokens=n_out, cost_usd=cost),
            latency_s=latency,
            model=model if isinstance(model, str) else None,
            finish_reason=finish if isinstance(finish, str) else None,
        )


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _clip(raw: bytes | str) -> str:
    text = raw.decode(errors="replace") if isinstance(raw, bytes) else raw
    return " ".join(text.split())[:_MAX_MESSAGE]


def _error_text(raw: bytes) -> str:
    """The `error.message` of an OpenAI-style error body, else the body itself."""
    try:
        payload = json.loads(raw)
    except ValueError:
        return _clip(raw)
    err = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(err, dict) and isinstance(err.get("message"), str):
        return _clip(err["message"])
    if isinstance(err, str):
        return _clip(err)
    if isinstance(payload, dict) and isinstance(payload.get("message"), str):  # vLLM / TGI style
        return _clip(payload["message"])
    return _clip(raw)


def _http_error(status: int, raw: bytes, headers: Any) -> BackendError:
    retryable = status in _RETRYABLE_STATUS or status >= 500
    return BackendError(f"HTTP {status}: {_error_text(raw) or 'no message'}", retryable=retryable,
                        status=status, retry_after_s=retry_after_from_headers(headers) if retryable else None)


def _transport_error(exc: Exception) -> BackendError:
    """A failure with no HTTP answer: timeouts and connection errors are retryable, the rest not."""
    import aiohttp

    text = " ".join(str(exc).split())[:_MAX_MESSAGE] or type(exc).__name__
    if isinstance(exc, TimeoutError):
        return BackendError(f"timeout: {text}", retryable=True)
    if isinstance(exc, (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError, ConnectionError)):
        return BackendError(f"connection error: {type(exc).__name__}: {text}", retryable=True)
    return BackendError(f"{type(exc).__name__}: {text}", retryable=False)


# -- prices ----------------------------------------------------------------------------------------


@lru_cache(maxsize=64)
def litellm_prices(model: str) -> Prices | None:
    """(input, output) USD per token from litellm's price list, or None: litellm's loaded map when
    litellm is already imported, else its bundled JSON file (read, not imported: no start-up cost)."""
    table: Any = None
    loaded = sys.modules.get("litellm")
    if loaded is not None:
        table = getattr(loaded, "model_cost", None)
    if not isinstance(table, dict):
        try:
            spec = importlib.util.find_spec("litellm")
        except (ImportError, ValueError):
            spec = None
        locations = list(spec.submodule_search_locations or []) if spec is not None else []
        path = next((Path(p) / _PRICE_FILE for p in locations if (Path(p) / _PRICE_FILE).is_file()), None)
        if path is None:
            return None
        try:
            table = json.loads(path.read_bytes())
        except (OSError, ValueError):
            return None
    for key in (model, model.removeprefix("openai/")):
        entry = table.get(key) if isinstance(table, dict) else None
        if isinstance(entry, dict):
            pin, pout = entry.get("input_cost_per_token"), entry.get("output_cost_per_token")
            if isinstance(pin, (int, float)) and isinstance(pout, (int, float)):
                return float(pin), float(pout)
    return None


# -- the entry point -------------------------------------------------------------------------------


def _config_error(e: ValidationError) -> ConfigError:
    err = e.errors()[0]
    name = ".".join(str(p) for p in err["loc"]) or "options"
    fields = list(OpenAIOptions.model_fields)
    if err["type"] == "extra_forbidden":
        close = did_you_mean(name, fields) if name not in fields else None
        hint = (close + " " if close and close.startswith("did you") else "") + \
            "server-specific request fields go in extra_body, e.g. -B extra_body='{top_k: 20}'"
        return ConfigError(f"unknown option {name!r}", field=f"backend.{name}", hint=hint)
    secret = any(m in name.lower() for m in SECRET_MARKERS) or name.startswith("headers")
    got = "" if secret else f" (got {err.get('input')!r})"
    return ConfigError(f"{err['msg']}{got}", field=f"backend.{name}", hint=f"valid options: {', '.join(fields)}")


def create(target: str, options: dict[str, JsonValue]) -> Backend:
    """The `openai` entry point: `openai:gpt-4o-mini` -> target `gpt-4o-mini` (the model name sent)."""
    target = target.strip()
    if not target:
        raise ConfigError("the openai backend needs a model, e.g. `openai:gpt-4o-mini`", field="backend")
    try:
        opts = OpenAIOptions.model_validate(options)
    except ValidationError as e:
        raise _config_error(e) from e
    api_base = opts.api_base or os.environ.get("OPENAI_BASE_URL") or ""
    if not api_base.strip():
        raise ConfigError("the openai backend needs the server's URL", field="backend.api_base",
                          hint="-B api_base=http://127.0.0.1:8000/v1, or set OPENAI_BASE_URL "
                               "(for OpenAI itself: https://api.openai.com/v1)")
    parts = urlsplit(api_base.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"api_base {api_base!r} is not an http(s) URL", field="backend.api_base",
                          hint="e.g. http://127.0.0.1:8000/v1")
    api_key = opts.api_key if opts.api_key is not None and opts.api_key.get_secret_value() else None
    if api_key is None and os.environ.get("OPENAI_API_KEY"):  # also when a resumed run's key is blank
        api_key = SecretStr(os.environ["OPENAI_API_KEY"])
    if importlib.util.find_spec("aiohttp") is None:
        raise ConfigError("the openai backend needs the aiohttp package", hint="pip install aiohttp")
    if opts.input_cost_per_token is not None and opts.output_cost_per_token is not None:
        prices: Prices | Literal["litellm"] = (opts.input_cost_per_token, opts.output_cost_per_token)
    else:
        prices = "litellm"  # looked up on first use
    return OpenAIBackend(target, opts, api_base=api_base.strip(), api_key=api_key, prices=prices)
