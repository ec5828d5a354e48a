"""The native `openai:` backend over real HTTP to servers on 127.0.0.1 (FakeOpenAIServer, and a small
aiohttp server where a test needs the request headers or the client's connections)."""

from __future__ import annotations

import asyncio
import gc
import json
import sys
import time
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest
from aiohttp import web

from agenteval import registry
from agenteval.backends.base import Backend, BackendRequest
from agenteval.backends.openai_compat import OpenAIBackend, create, litellm_prices
from agenteval.errors import BackendError, ConfigError
from agenteval.runner import RetryPolicy, RunOptions, run_suite
from agenteval.schema import Message, ToolCall, ToolSpec, Trace
from agenteval.suite import suite_from_data
from agenteval.testing import FakeOpenAIServer

T = TypeVar("T")

WEATHER = ToolSpec(
    name="get_weather",
    description="Current weather in a city",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


@pytest.fixture(autouse=True)
def _no_openai_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def backend(srv: FakeOpenAIServer, model: str = "my-model", **options: Any) -> OpenAIBackend:
    b = create(model, {"api_base": srv.base_url, "api_key": "sk-test", **options})
    assert isinstance(b, OpenAIBackend)
    return b


def request(text: str, *, tools: list[ToolSpec] | None = None, seed: int | None = None,
            system: str | None = None) -> BackendRequest:
    msgs = ([Message(role="system", content=system)] if system else []) + [Message(role="user", content=text)]
    return BackendRequest(messages=msgs, tools=tools or [], seed=seed)


def ask(b: Backend, text: str, **kw: Any) -> Trace:
    async def go() -> Trace:
        try:
            return await b.call(request(text, **kw))
        finally:
            await b.aclose()

    return run(go())


def fail(b: Backend) -> BackendError:
    with pytest.raises(BackendError) as info:
        ask(b, "hello")
    return info.value


@asynccontextmanager
async def http_server(handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> AsyncIterator[str]:
    """An aiohttp server on 127.0.0.1 answering every POST with `handler`; yields its base URL."""
    app = web.Application()
    app.router.add_post("/v1/chat/completions", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        await runner.cleanup()


def completion(text: str = "ok") -> dict[str, Any]:
    return {"id": "x", "object": "chat.completion", "model": "m",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}


# -- answers ------------------------------------------------------------------------------------


def test_answer_usage_cost_and_trace(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.answers = {"capital of france": "Paris"}
    b = backend(fake_openai, input_cost_per_token=0.001, output_cost_per_token=0.01)
    assert isinstance(b, Backend) and b.spec == "openai:my-model"

    trace = ask(b, "What is the CAPITAL of France?", system="Answer briefly.")

    assert trace.output == "Paris"
    assert trace.finish_reason == "stop"
    assert trace.model == "my-model"
    assert trace.usage.input_tokens == 2 + 6  # words of all messages
    assert trace.usage.output_tokens == 1
    assert trace.usage.cost_usd == pytest.approx(8 * 0.001 + 1 * 0.01)
    assert trace.latency_s is not None and trace.latency_s > 0
    assert [m.role for m in trace.messages] == ["system", "user", "assistant"]
    assert trace.messages[-1].content == "Paris" and trace.tool_calls == []
    sent = fake_openai.requests[-1]
    assert sent == {"model": "my-model", "messages": [
        {"role": "system", "content": "Answer briefly."},
        {"role": "user", "content": "What is the CAPITAL of France?"}]}  # nothing the user did not ask for


def test_priced_model_costs_from_litellm_price_list_without_importing_litellm(
    fake_openai: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [m for m in sys.modules if m == "litellm" or m.startswith("litellm.")]:
        monkeypatch.delitem(sys.modules, name)
    litellm_prices.cache_clear()
    trace = ask(backend(fake_openai, model="gpt-4o-mini"), "hi there")
    assert "litellm" not in sys.modules
    # gpt-4o-mini in litellm's bundled price list: 0.15 $/M in, 0.60 $/M out
    assert trace.usage.cost_usd == pytest.approx(2 * 0.15e-6 + 3 * 0.6e-6)


def test_unpriced_model_has_no_cost(fake_openai: FakeOpenAIServer) -> None:
    trace = ask(backend(fake_openai, model="my-private-finetune"), "hi there")
    assert trace.output == "echo: hi there"
    assert (trace.usage.input_tokens, trace.usage.output_tokens) == (2, 3)
    assert trace.usage.cost_usd is None


def test_sampling_options_and_extra_body_are_sent(fake_openai: FakeOpenAIServer) -> None:
    b = backend(fake_openai, temperature=0.2, max_tokens=17, top_p=0.9, seed=5, stop=["\n\n"],
                extra_body={"top_k": 20, "repetition_penalty": 1.1})
    ask(b, "one")
    sent = fake_openai.requests[-1]
    assert (sent["temperature"], sent["max_tokens"], sent["top_p"], sent["seed"], sent["stop"]) == (
        0.2, 17, 0.9, 5, ["\n\n"])
    assert (sent["top_k"], sent["repetition_penalty"]) == (20, 1.1)
    ask(b, "two", seed=42)  # the request's seed wins over the option
    assert fake_openai.requests[-1]["seed"] == 42


def test_tool_call_parsed_and_tools_sent(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.tool_rules = {"weather": ("get_weather", {"city": "Oslo", "days": 2})}
    trace = ask(backend(fake_openai), "What's the weather in Oslo?", tools=[WEATHER])
    assert trace.finish_reason == "tool_calls" and trace.output == ""
    [call] = trace.tool_calls
    assert (call.tool, call.args, call.error, call.id) == ("get_weather", {"city": "Oslo", "days": 2}, None,
                                                           "call_0_get_weather")
    assert trace.messages[-1].tool_calls == [call]
    assert fake_openai.requests[-1]["tools"] == [{"type": "function", "function": {
        "name": "get_weather", "description": "Current weather in a city", "parameters": WEATHER.parameters}}]


def test_no_tools_offered_sends_none(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.tool_rules = {"weather": ("get_weather", {"city": "Oslo"})}
    trace = ask(backend(fake_openai), "What's the weather in Oslo?")
    assert trace.tool_calls == [] and "tools" not in fake_openai.requests[-1]


def test_invalid_tool_arguments_are_kept_with_an_error(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.tool_rules = {"weather": ("get_weather", '{"city": "Oslo"')}
    [call] = ask(backend(fake_openai), "weather please", tools=[WEATHER]).tool_calls
    assert call.tool == "get_weather" and call.args == {}
    assert call.error is not None and call.error.startswith("invalid JSON arguments")


def test_tool_results_are_sent_back_in_openai_form(fake_openai: FakeOpenAIServer) -> None:
    msgs = [Message(role="user", content="weather?"),
            Message(role="assistant", content="", tool_calls=[ToolCall(tool="get_weather", args={"city": "Oslo"},
                                                                        id="c1")]),
            Message(role="tool", content='{"temp": 3}', tool_call_id="c1", name="get_weather")]
    b = backend(fake_openai)

    async def go() -> Trace:
        try:
            return await b.call(BackendRequest(messages=msgs, tools=[WEATHER]))
        finally:
            await b.aclose()

    assert run(go()).output == 'tool said: {"temp": 3}'
    sent = fake_openai.requests[-1]["messages"]
    assert sent[1] == {"role": "assistant", "content": None, "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}}]}
    assert sent[2] == {"role": "tool", "content": '{"temp": 3}', "tool_call_id": "c1", "name": "get_weather"}


# -- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 500, 503])
def test_transient_http_errors_are_retryable_and_not_retried(fake_openai: FakeOpenAIServer, status: int) -> None:
    fake_openai.retry_after = "7"
    fake_openai.fail_next = [status]
    b = backend(fake_openai)
    err = fail(b)
    assert err.retryable is True and err.status == status
    assert f"HTTP {status}" in str(err) and "injected fault" in str(err)
    assert err.retry_after_s == (7.0 if status == 429 else None)
    assert len(fake_openai.requests) == 1  # the runner owns retries
    assert ask(b, "again").output == "echo: again"  # the same backend works again


@pytest.mark.parametrize("status", [400, 401, 403, 404])
def test_client_errors_are_not_retryable(fake_openai: FakeOpenAIServer, status: int) -> None:
    fake_openai.fail_next = [status]
    err = fail(backend(fake_openai))
    assert err.retryable is False and err.status == status and err.retry_after_s is None
    assert f"HTTP {status}" in str(err) and "injected fault" in str(err)
    assert len(fake_openai.requests) == 1


def test_hang_past_timeout_is_retryable(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.hang_s = 2.0
    fake_openai.fail_next = ["hang"]
    start = time.perf_counter()
    err = fail(backend(fake_openai, timeout_s=0.3))
    assert time.perf_counter() - start < 1.5
    assert err.retryable is True and err.status is None and "timeout" in str(err).lower()


def test_connection_reset_is_retryable(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.fail_next = ["reset"]
    err = fail(backend(fake_openai))
    assert err.retryable is True and "connection error" in str(err)


def test_connection_refused_is_retryable() -> None:
    with FakeOpenAIServer() as srv:
        b = backend(srv)
    err = fail(b)  # the server is gone
    assert err.retryable is True and err.status is None and "connection error" in str(err)


def test_retry_after_ms_and_odd_answers() -> None:
    answers: list[web.Response] = [
        web.json_response({"error": {"message": "slow down"}}, status=429, headers={"retry-after-ms": "1500"}),
        web.Response(text="<html>bad gateway</html>", status=502),
        web.Response(text="not json", status=200),
        web.json_response({"error": {"message": "model not loaded"}}, status=200),
    ]

    async def handler(req: web.Request) -> web.Response:
        return answers.pop(0)

    async def go() -> list[BackendError]:
        errors = []
        async with http_server(handler) as base:
            b = create("m", {"api_base": base})
            for _ in range(4):
                with pytest.raises(BackendError) as info:
                    await b.call(request("x"))
                errors.append(info.value)
            await b.aclose()
        return errors

    slow, gateway, garbage, refused = run(go())
    assert (slow.retryable, slow.status, slow.retry_after_s) == (True, 429, 1.5)
    assert "HTTP 429: slow down" in str(slow)
    assert (gateway.retryable, gateway.status) == (True, 502) and "bad gateway" in str(gateway)
    assert garbage.retryable is False and "invalid JSON" in str(garbage)
    assert refused.retryable is False and "model not loaded" in str(refused)


# -- the HTTP client ------------------------------------------------------------------------------


def test_one_pooled_session_reuses_connections_across_calls() -> None:
    peers: list[Any] = []
    in_flight = [0, 0]  # now, most

    async def handler(req: web.Request) -> web.Response:
        peers.append(req.transport.get_extra_info("peername") if req.transport else None)
        in_flight[0] += 1
        in_flight[1] = max(in_flight)
        await asyncio.sleep(0.01)
        in_flight[0] -= 1
        return web.json_response(completion())

    async def go() -> None:
        async with http_server(handler) as base:
            b = create("m", {"api_base": base})
            assert isinstance(b, OpenAIBackend)
            for _ in range(5):
                await b.call(request("sequential"))
            session = b._session
            assert len(set(peers)) == 1  # keep-alive: one connection for sequential calls
            for _ in range(3):
                await asyncio.gather(*(b.call(request("burst")) for _ in range(8)))
            assert b._session is session  # one session for the backend's life
            assert in_flight[1] == 8  # the pool does not bound concurrency: the runner does
            assert len(set(peers)) <= 8  # connections reused across bursts, not one per call
            await b.aclose()
            assert session is not None and session.closed

    run(go())
    assert len(peers) == 5 + 24


def test_max_connections_caps_the_pool() -> None:
    peers: set[Any] = set()

    async def handler(req: web.Request) -> web.Response:
        peers.add(req.transport.get_extra_info("peername") if req.transport else None)
        await asyncio.sleep(0.005)
        return web.json_response(completion())

    async def go() -> None:
        async with http_server(handler) as base:
            b = create("m", {"api_base": base, "max_connections": 2})
            await asyncio.gather(*(b.call(request("x")) for _ in range(10)))
            await b.aclose()

    run(go())
    assert len(peers) == 2


def test_headers_auth_and_env_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[dict[str, str]] = []

    async def handler(req: web.Request) -> web.Response:
        seen.append(dict(req.headers))
        return web.json_response(completion("hi"))

    async def go() -> None:
        async with http_server(handler) as base:
            b = create("m", {"api_base": base, "api_key": "sk-opt", "headers": {"X-Team": "evals"}})
            await b.call(request("x"))
            await b.aclose()
            monkeypatch.setenv("OPENAI_BASE_URL", base)
            monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
            b = create("m", {"api_key": ""})  # blank (e.g. a resumed run's redacted key): the env's
            assert (await b.call(request("x"))).output == "hi"
            await b.aclose()
            monkeypatch.delenv("OPENAI_API_KEY")
            b = create("m", {})
            await b.call(request("x"))
            await b.aclose()

    run(go())
    assert seen[0]["Authorization"] == "Bearer sk-opt" and seen[0]["X-Team"] == "evals"
    assert seen[0]["Content-Type"] == "application/json"
    assert seen[1]["Authorization"] == "Bearer sk-env"
    assert "Authorization" not in seen[2]  # local servers need no key


def test_works_again_under_a_new_event_loop(fake_openai: FakeOpenAIServer) -> None:
    b = backend(fake_openai)
    with warnings.catch_warnings():
        # The first loop's connection dies with that loop; asyncio reports it as unclosed.
        warnings.simplefilter("ignore", ResourceWarning)
        assert run(b.call(request("first"))).output == "echo: first"

        async def again() -> Trace:
            try:
                return await b.call(request("second"))
            finally:
                await b.aclose()

        assert run(again()).output == "echo: second"
        gc.collect()


def test_runs_a_suite_end_to_end_without_leaking_the_key(tmp_path: Path, fake_openai: FakeOpenAIServer) -> None:
    if "openai" not in registry.backends:  # the entry point, before the package is reinstalled
        registry.backends.register("openai", create)
    fake_openai.answers = {"two": "2", "three": "3"}
    suite = suite_from_data({"name": "s", "version": "1", "prompt": "{{ q }}", "metrics": ["exact_match"],
                             "samples": [{"id": "a", "vars": {"q": "one plus one is two"}, "expected": "2"},
                                         {"id": "b", "vars": {"q": "three"}, "expected": "3"},
                                         {"id": "c", "vars": {"q": "four"}, "expected": "4"}]},
                            tmp_path / "s.yaml")
    fake_openai.fail_next = [503]
    opts = RunOptions(results_root=tmp_path / "out", backend_spec="openai:my-model",
                      backend_options={"api_base": fake_openai.base_url, "api_key": "sk-very-secret"},
                      concurrency=2, use_cache=False, progress=False,
                      retry=RetryPolicy(base_delay_s=0.001, max_delay_s=0.01))
    out = run(run_suite(suite, opts))
    assert out.summary.n_errors == 0
    assert out.summary.metrics["exact_match"].mean == pytest.approx(2 / 3)
    assert out.summary.usage.input_tokens and out.summary.usage.input_tokens > 0
    man = json.loads((out.run_dir.path / "manifest.json").read_text())
    assert man["backend"]["spec"] == "openai:my-model" and man["backend"]["options"]["api_key"] == "***"
    for f in out.run_dir.path.iterdir():
        assert "sk-very-secret" not in f.read_text()


# -- options ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "field"),
    [({"temperature": "hot"}, "temperature"), ({"max_tokens": 0}, "max_tokens"), ({"timeout_s": -1}, "timeout_s"),
     ({"seed": "abc"}, "seed"), ({"top_p": 2}, "top_p"), ({"extra_body": "x"}, "extra_body"),
     ({"max_connections": 0}, "max_connections")],
)
def test_bad_option_is_a_config_error_naming_it(options: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError) as info:
        create("m", {"api_base": "http://127.0.0.1:9/v1", **options})
    assert info.value.field == f"backend.{field}" and field in str(info.value)


def test_unknown_option_suggests_the_close_one_and_extra_body() -> None:
    with pytest.raises(ConfigError) as info:
        create("m", {"api_base": "http://127.0.0.1:9/v1", "max_token": 5})
    assert info.value.field == "backend.max_token"
    assert "max_tokens" in str(info.value) and "extra_body" in str(info.value)


def test_prices_go_together() -> None:
    with pytest.raises(ConfigError, match="together"):
        create("m", {"api_base": "http://127.0.0.1:9/v1", "input_cost_per_token": 1e-6})


@pytest.mark.parametrize("base", [None, "", "127.0.0.1:8000/v1", "ftp://host/v1"])
def test_api_base_is_required_and_must_be_http(base: str | None) -> None:
    with pytest.raises(ConfigError) as info:
        create("m", {} if base is None else {"api_base": base})
    assert info.value.field == "backend.api_base" and "api_base" in str(info.value)


def test_empty_target_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="needs a model"):
        create("  ", {"api_base": "http://127.0.0.1:9/v1"})


def test_secrets_stay_out_of_reprs_and_errors() -> None:
    b = create("m", {"api_base": "http://127.0.0.1:9/v1", "api_key": "sk-very-secret",
                     "headers": {"Authorization": "Bearer sk-header-secret", "X-Team": "evals"}})
    text = repr(b) + str(b) + repr(getattr(b, "options", None))
    assert "sk-very-secret" not in text and "sk-header-secret" not in text
    assert "evals" in text  # other headers stay readable
    with pytest.raises(ConfigError) as info:
        create("m", {"api_base": "http://127.0.0.1:9/v1", "api_key": ["sk-very-secret"]})
    assert "api_key" in str(info.value) and "sk-very-secret" not in str(info.value)
    with pytest.raises(ConfigError) as info:
        create("m", {"api_base": "http://127.0.0.1:9/v1", "headers": {"Authorization": ["sk-header-secret"]}})
    assert "sk-header-secret" not in str(info.value)
