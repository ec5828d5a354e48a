"""The litellm backend, over real HTTP through real litellm to a FakeOpenAIServer on 127.0.0.1."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest

from agenteval.backends.base import Backend, BackendRequest
from agenteval.backends.litellm_backend import LiteLLMBackend, create
from agenteval.errors import BackendError, ConfigError
from agenteval.schema import Message, ToolSpec, Trace
from agenteval.testing import FakeOpenAIServer

T = TypeVar("T")

WEATHER = ToolSpec(
    name="get_weather",
    description="Current weather in a city",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def backend(srv: FakeOpenAIServer, model: str = "openai/gpt-4o-mini", **options: Any) -> Backend:
    return create(model, {"api_base": srv.base_url, "api_key": "sk-test", **options})


def ask(b: Backend, text: str, *, tools: list[ToolSpec] | None = None, seed: int | None = None,
        system: str | None = None) -> Trace:
    msgs = ([Message(role="system", content=system)] if system else []) + [
        Message(role="user", content=text)]
    return run(b.call(BackendRequest(messages=msgs, tools=tools or [], seed=seed)))


def fail(b: Backend) -> BackendError:
    with pytest.raises(BackendError) as info:
        ask(b, "hello")
    return info.value


def test_answer_usage_cost_and_trace(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.answers = {"capital of france": "Paris"}
    b = backend(fake_openai)
    assert isinstance(b, LiteLLMBackend) and isinstance(b, Backend)
    assert b.spec == "litellm:openai/gpt-4o-mini"

    trace = ask(b, "What is the CAPITAL of France?", system="Answer briefly.")

    assert trace.output == "Paris"
    assert trace.finish_reason == "stop"
    assert trace.model is not None and "gpt-4o-mini" in trace.model
    assert trace.usage.input_tokens == 2 + 6  # words of all messages
    assert trace.usage.output_tokens == 1
    # gpt-4o-mini is priced in litellm's local cost map: 8 * 0.15/M + 1 * 0.60/M
    assert trace.usage.cost_usd == pytest.approx(8 * 0.15e-6 + 1 * 0.6e-6)
    assert trace.latency_s is not None and trace.latency_s > 0
    assert [m.role for m in trace.messages] == ["system", "user", "assistant"]
    assert trace.messages[-1].content == "Paris"
    assert trace.tool_calls == []
    assert fake_openai.requests[-1]["messages"][0] == {"role": "system", "content": "Answer briefly."}
    run(b.aclose())


def test_unpriced_model_has_no_cost(fake_openai: FakeOpenAIServer) -> None:
    trace = ask(backend(fake_openai, model="openai/my-private-finetune"), "hi there")
    assert trace.output == "echo: hi there"
    assert trace.usage.input_tokens == 2
    assert trace.usage.cost_usd is None


def test_tool_call_parsed_when_tool_offered(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.tool_rules = {"weather": ("get_weather", {"city": "Oslo", "days": 2})}
    b = backend(fake_openai)

    trace = ask(b, "What's the weather in Oslo?", tools=[WEATHER])

    assert trace.finish_reason == "tool_calls"
    assert trace.output == ""
    assert len(trace.tool_calls) == 1
    call = trace.tool_calls[0]
    assert (call.tool, call.args, call.error) == ("get_weather", {"city": "Oslo", "days": 2}, None)
    assert call.id
    sent = fake_openai.requests[-1]["tools"]
    assert sent == [{"type": "function", "function": {
        "name": "get_weather", "description": "Current weather in a city",
        "parameters": WEATHER.parameters}}]


def test_no_tools_sent_and_no_call_when_none_offered(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.tool_rules = {"weather": ("get_weather", {"city": "Oslo"})}
    trace = ask(backend(fake_openai), "What's the weather in Oslo?")
    assert trace.tool_calls == []
    assert trace.output == "echo: What's the weather in Oslo?"
    assert "tools" not in fake_openai.requests[-1]


def test_invalid_tool_arguments_are_kept_with_an_error(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.tool_rules = {"weather": ("get_weather", '{"city": "Oslo"')}
    trace = ask(backend(fake_openai), "weather please", tools=[WEATHER])
    call = trace.tool_calls[0]
    assert call.tool == "get_weather" and call.args == {}
    assert call.error is not None and call.error.startswith("invalid JSON arguments")


def test_sampling_options_are_sent(fake_openai: FakeOpenAIServer) -> None:
    b = backend(fake_openai, temperature=0.2, max_tokens=17, top_p=0.9, seed=5, stop=["\n\n"],
                presence_penalty=0.5)
    ask(b, "one")
    sent = fake_openai.requests[-1]
    assert sent["temperature"] == 0.2
    assert sent["max_tokens"] == 17
    assert sent["top_p"] == 0.9
    assert sent["seed"] == 5
    assert sent["stop"] == ["\n\n"]
    assert sent["presence_penalty"] == 0.5  # unknown option passed through

    ask(b, "two", seed=42)  # the request's seed wins over the option
    assert fake_openai.requests[-1]["seed"] == 42


def test_no_options_sends_no_sampling_params(fake_openai: FakeOpenAIServer) -> None:
    ask(backend(fake_openai), "plain")
    sent = fake_openai.requests[-1]
    assert not {"temperature", "max_tokens", "top_p", "seed", "stop"} & set(sent)


@pytest.mark.parametrize("status", [429, 500, 503])
def test_transient_http_errors_are_retryable_and_not_retried(
    fake_openai: FakeOpenAIServer, status: int
) -> None:
    fake_openai.retry_after = "7"
    fake_openai.fail_next = [status]
    err = fail(backend(fake_openai))
    assert err.retryable is True
    assert err.status == status
    assert str(status) in str(err) and "injected fault" in str(err)
    if status == 429:
        assert err.retry_after_s == 7.0
    assert len(fake_openai.requests) == 1  # the runner owns retries, not litellm or openai
    # the server recovers and the same backend works again
    assert ask(backend(fake_openai), "again").output == "echo: again"


@pytest.mark.parametrize("status", [400, 401, 403, 404])
def test_client_errors_are_not_retryable(fake_openai: FakeOpenAIServer, status: int) -> None:
    fake_openai.fail_next = [status]
    err = fail(backend(fake_openai))
    assert err.retryable is False
    assert err.status == status
    assert f"HTTP {status}" in str(err) and "injected fault" in str(err)
    assert len(fake_openai.requests) == 1


def test_hang_past_timeout_is_retryable(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.hang_s = 3.0
    fake_openai.fail_next = ["hang"]
    start = time.perf_counter()
    err = fail(backend(fake_openai, timeout_s=0.5))
    assert time.perf_counter() - start < 2.5
    assert err.retryable is True
    assert "timeout" in str(err).lower()


def test_connection_reset_is_retryable(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.fail_next = ["reset"]
    err = fail(backend(fake_openai))
    assert err.retryable is True


def test_nothing_listening_is_retryable() -> None:
    with FakeOpenAIServer() as srv:
        b = backend(srv)
    err = fail(b)  # the server is gone
    assert err.retryable is True


def test_model_without_provider_is_not_retryable(fake_openai: FakeOpenAIServer) -> None:
    err = fail(create("no-such-provider-model", {"api_base": fake_openai.base_url}))
    assert err.retryable is False
    assert fake_openai.requests == []


@pytest.mark.parametrize(
    ("options", "field"),
    [({"temperature": "hot"}, "temperature"), ({"max_tokens": 0}, "max_tokens"),
     ({"timeout_s": -1}, "timeout_s"), ({"seed": "abc"}, "seed")],
)
def test_bad_option_is_a_config_error_naming_it(options: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError) as info:
        create("openai/gpt-4o-mini", options)
    assert info.value.field is not None and field in info.value.field
    assert field in str(info.value)


def test_bad_secret_option_is_not_echoed() -> None:
    with pytest.raises(ConfigError) as info:
        create("openai/gpt-4o-mini", {"api_key": ["sk-very-secret"]})
    assert "api_key" in str(info.value)
    assert "sk-very-secret" not in str(info.value)


def test_empty_target_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        create("", {})
