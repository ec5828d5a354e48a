"""The vertex-agent backend, through the real google-cloud-aiplatform SDK to a FakeVertexServer."""

from __future__ import annotations

import asyncio
import base64
import importlib.util
import json
import time
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from agenteval.backends.base import Backend, BackendRequest
from agenteval.backends.vertex_agent import VertexAgentBackend, create
from agenteval.errors import BackendError, ConfigError
from agenteval.schema import Message, ResolvedSample, Trace
from agenteval.testing.fake_vertex import (
    LANGCHAIN_CLASS_METHODS,
    FakeVertexServer,
    adk_call,
    adk_response,
    adk_text,
)

T = TypeVar("T")

pytest.importorskip("vertexai", reason="the vertex-agent backend needs google-cloud-aiplatform")


@pytest.fixture
def fake_vertex() -> Iterator[FakeVertexServer]:
    with FakeVertexServer(hang_s=3.0) as srv:
        yield srv


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(asyncio.wait_for(coro, 30))


def backend(srv: FakeVertexServer, **options: Any) -> Backend:
    return create(srv.resource_name, {"api_endpoint": srv.base_url, "credentials": "anonymous",
                                      "timeout_s": 10, **options})


def sample(sid: str) -> ResolvedSample:
    return ResolvedSample.model_validate({"id": sid, "hash": "h", "origin": "test:1", "input": "x"})


def request(text: str, *, sample_id: str = "s1", turn: int = 0, repeat: int = 0,
            history: list[Message] | None = None) -> BackendRequest:
    return BackendRequest(messages=[*(history or []), Message(role="user", content=text)],
                          sample=sample(sample_id), turn=turn, repeat=repeat)


def ask(b: Backend, text: str, **kw: Any) -> Trace:
    return run(b.call(request(text, **kw)))


def fail(b: Backend, text: str = "hello") -> BackendError:
    with pytest.raises(BackendError) as info:
        ask(b, text)
    return info.value


def test_single_turn_answer_over_the_sdk_wire(fake_vertex: FakeVertexServer) -> None:
    b = backend(fake_vertex)
    assert isinstance(b, VertexAgentBackend) and isinstance(b, Backend)
    assert b.spec == f"vertex-agent:{fake_vertex.resource_name}"

    trace = ask(b, "What is an agent?")

    assert trace.output == "echo: What is an agent?"
    assert trace.tool_calls == []
    assert trace.messages[-1] == Message(role="assistant", content="echo: What is an agent?")
    assert trace.latency_s is not None and trace.latency_s > 0
    # What the SDK sent: read the resource, create a session, stream the message in that session.
    assert [r["route"] for r in fake_vertex.requests] == ["get", "query", "streamQuery"]
    get, create_session, stream = fake_vertex.requests
    assert get["path"] == f"/v1/{fake_vertex.resource_name}"
    assert create_session["body"] == {"classMethod": "create_session", "input": {"user_id": "agenteval"}}
    assert stream["path"] == f"/v1/{fake_vertex.resource_name}:streamQuery"
    assert stream["body"]["classMethod"] == "stream_query"
    sid = next(iter(fake_vertex.sessions))
    assert stream["body"]["input"] == {"message": "What is an agent?", "user_id": "agenteval", "session_id": sid}
    assert stream["authorization"] is None  # anonymous credentials send no token


def test_tool_calls_results_usage_and_raw_events(fake_vertex: FakeVertexServer) -> None:
    fake_vertex.streams["weather"] = [
        adk_call("get_weather", {"city": "Paris", "days": 2}, "call-1",
                 usage_metadata={"prompt_token_count": 40, "candidates_token_count": 6}),
        adk_response("get_weather", {"temp_c": 21, "sky": "clear"}, "call-1"),
        adk_call("get_time", {"tz": "Europe/Paris"}),  # no id: matched by name
        adk_response("get_time", {"error": "clock unavailable"}),
        adk_text("It is 21°C and clear in Paris.", prompt_tokens=55, output_tokens=9,
                 model_version="gemini-2.0-flash-001", finish_reason="STOP"),
    ]
    b = backend(fake_vertex, user_id="eval-user")

    trace = ask(b, "Weather in Paris, please", turn=0)

    assert trace.output == "It is 21°C and clear in Paris."
    assert [c.tool for c in trace.tool_calls] == ["get_weather", "get_time"]
    weather, clock = trace.tool_calls
    assert weather.id == "call-1" and weather.args == {"city": "Paris", "days": 2}
    assert weather.result == {"temp_c": 21, "sky": "clear"} and weather.error is None
    assert weather.latency_s is not None and weather.latency_s >= 0
    assert clock.args == {"tz": "Europe/Paris"} and clock.error == "clock unavailable"
    assert trace.usage.input_tokens == 40 + 55
    assert trace.usage.output_tokens == 6 + 9
    assert trace.usage.cost_usd is None
    assert trace.model == "gemini-2.0-flash-001" and trace.finish_reason == "STOP"
    assert len(trace.events) == 5
    first = trace.events[0]
    assert isinstance(first, dict) and first["author"] == "test_agent"
    assert fake_vertex.routes("streamQuery")[0]["body"]["input"]["user_id"] == "eval-user"


def test_turns_of_a_sample_share_a_session_and_samples_do_not(fake_vertex: FakeVertexServer) -> None:
    def remember(message: str, session: dict[str, Any] | None) -> list[dict[str, Any]]:
        assert session is not None
        said = [e["content"]["parts"][0]["text"] for e in session["events"] if e.get("author") == "user"]
        return [adk_text(f"you said before: {said}")]

    fake_vertex.streams["recall"] = remember
    b = backend(fake_vertex)

    async def conversation() -> list[Trace]:
        first = await b.call(request("my name is Ada", sample_id="a", turn=0))
        second = await b.call(request("recall", sample_id="a", turn=1, history=[
            Message(role="user", content="my name is Ada"), Message(role="assistant", content=first.output)]))
        other = await b.call(request("recall", sample_id="b", turn=0))
        again = await b.call(request("recall", sample_id="a", turn=0, repeat=1))
        return [first, second, other, again]

    _, second, other, again = run(conversation())

    assert second.output == "you said before: ['my name is Ada']"
    assert other.output == "you said before: []"
    assert again.output == "you said before: []"
    streams = fake_vertex.routes("streamQuery")
    sids = [r["body"]["input"]["session_id"] for r in streams]
    assert sids[0] == sids[1]  # turn 1 of sample a reuses turn 0's session
    assert len({sids[0], sids[2], sids[3]}) == 3  # another sample, another repeat: new sessions
    assert [r["body"]["input"]["message"] for r in streams][1] == "recall"  # only the turn's message
    assert len(fake_vertex.routes("query")) == 3  # three create_session calls
    assert len(fake_vertex.routes("get")) == 1  # the resource is read once


def test_langchain_query_agent_and_auto_fallback(fake_vertex: FakeVertexServer) -> None:
    fake_vertex.class_methods = LANGCHAIN_CLASS_METHODS
    fake_vertex.agent_framework = "langchain"
    fake_vertex.query_answers["exchange"] = {
        "output": "1 USD is 0.92 EUR.",
        "intermediate_steps": [
            [{"tool": "get_exchange_rate", "tool_input": {"currency_from": "USD", "currency_to": "EUR"},
              "log": "Invoking get_exchange_rate", "type": "AgentAction"}, {"rate": 0.92}],
            [{"lc": 1, "type": "constructor", "id": ["langchain", "schema", "agent", "ToolAgentAction"],
              "kwargs": {"tool": "round", "tool_input": "0.9213", "tool_call_id": "t-2"}}, 0.92],
        ],
    }
    b = backend(fake_vertex)  # method defaults to stream_query; this agent has only query

    trace = ask(b, "What is the exchange rate USD to EUR?")

    assert trace.output == "1 USD is 0.92 EUR."
    assert [(c.tool, c.args, c.result) for c in trace.tool_calls] == [
        ("get_exchange_rate", {"currency_from": "USD", "currency_to": "EUR"}, {"rate": 0.92}),
        ("round", {"input": "0.9213"}, 0.92),
    ]
    assert trace.tool_calls[1].id == "t-2"
    assert [r["route"] for r in fake_vertex.requests] == ["get", "query"]  # no session for query agents
    assert fake_vertex.requests[1]["body"] == {
        "classMethod": "query", "input": {"input": "What is the exchange rate USD to EUR?"}}


def test_explicit_query_method_on_an_adk_agent_is_refused_with_its_methods(fake_vertex: FakeVertexServer) -> None:
    err = fail(backend(fake_vertex, method="query"))
    assert not err.retryable
    assert "no `query` method" in str(err) and "stream_query" in str(err)


@pytest.mark.parametrize(("status", "retryable"), [(404, False), (403, False), (400, False),
                                                    (429, True), (500, True), (503, True)])
def test_http_errors_map_to_backend_errors(fake_vertex: FakeVertexServer, status: int, retryable: bool) -> None:
    b = backend(fake_vertex)
    ask(b, "warm up")  # the resource is read and cached; the next requests are the call's
    fake_vertex.fail_next = [status]

    err = fail(b)

    assert err.status == status and err.retryable is retryable
    assert f"HTTP {status}" in str(err)
    assert err.retry_after_s == (1.0 if status == 429 else None)  # the fake's Retry-After on 429


def test_unknown_resource_is_not_retryable(fake_vertex: FakeVertexServer) -> None:
    b = create(fake_vertex.resource_name.replace("/123", "/999"),
               {"api_endpoint": fake_vertex.base_url, "credentials": "anonymous"})
    fake_vertex.fail_next = [404]

    err = fail(b)

    assert err.status == 404 and not err.retryable and "reading the agent engine" in str(err)


def test_a_hang_past_timeout_is_a_fast_retryable_error(fake_vertex: FakeVertexServer) -> None:
    # The SDK's first load (imports, engine metadata) can take over 1 s on a loaded machine: it is
    # done with the normal timeout, so the 1 s timeout below meets only the hang.
    ask(backend(fake_vertex), "load the SDK")
    b = backend(fake_vertex, timeout_s=1)
    ask(b, "warm up")
    fake_vertex.fail_next = ["hang"]  # create_session hangs

    t0 = time.perf_counter()
    err = fail(b)

    assert time.perf_counter() - t0 < 2.5
    assert err.retryable and err.status is None and "timeout" in str(err)


def test_dropped_connection_is_retryable(fake_vertex: FakeVertexServer) -> None:
    b = backend(fake_vertex)
    ask(b, "warm up")
    fake_vertex.fail_next = ["reset"]

    err = fail(b)

    assert err.retryable and err.status is None


@pytest.mark.parametrize(("options", "field"), [
    ({"temprature": 0.2}, "backend.temprature"),
    ({"timeout_s": 0}, "backend.timeout_s"),
    ({"method": "invoke"}, "backend.method"),
    ({"credentials": "file.json"}, "backend.credentials"),
    ({"location": "europe-west4"}, "backend.location"),
    ({"api_endpoint": "127.0.0.1:8080"}, "backend.api_endpoint"),
])
def test_bad_options_are_config_errors(options: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError) as info:
        create("projects/p/locations/us-central1/reasoningEngines/1", options)
    assert info.value.field == field


@pytest.mark.parametrize("target", ["", "reasoningEngines/1", "projects/p/reasoningEngines/1", "123"])
def test_bad_resource_names_are_config_errors(target: str) -> None:
    with pytest.raises(ConfigError) as info:
        create(target, {})
    assert "reasoningEngines/ID" in str(info.value)


def test_bare_id_with_project_and_location() -> None:
    b = create("42", {"project": "p", "location": "europe-west4"})
    assert isinstance(b, VertexAgentBackend)
    assert b.resource_name == "projects/p/locations/europe-west4/reasoningEngines/42"


def test_default_credentials_come_from_the_environment(fake_vertex: FakeVertexServer, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    # Application Default Credentials: a service-account key file whose token_uri is the fake's.
    rsa = pytest.importorskip("cryptography.hazmat.primitives.asymmetric.rsa")
    serialization = pytest.importorskip("cryptography.hazmat.primitives.serialization")
    pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    key_file = tmp_path / "sa.json"
    key_file.write_text(json.dumps({
        "type": "service_account", "project_id": fake_vertex.project, "private_key_id": "k", "private_key": pem,
        "client_email": "agenteval@test-project.iam.gserviceaccount.com", "client_id": "1",
        "token_uri": fake_vertex.token_uri}))
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(key_file))
    b = create(fake_vertex.resource_name, {"api_endpoint": fake_vertex.base_url, "timeout_s": 10})

    assert ask(b, "hi").output == "echo: hi"

    # GAPIC clients sign a self-signed JWT with a service-account key instead of calling token_uri.
    assert [r["route"] for r in fake_vertex.requests] == ["get", "query", "streamQuery"]
    for r in fake_vertex.requests:
        scheme, _, token = str(r["authorization"]).partition(" ")
        claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
        assert scheme == "Bearer" and claims["iss"] == "agenteval@test-project.iam.gserviceaccount.com"


def test_missing_default_credentials_say_how_to_log_in(fake_vertex: FakeVertexServer, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing.json"))
    b = create(fake_vertex.resource_name, {"api_endpoint": fake_vertex.base_url, "timeout_s": 10})

    err = fail(b)

    assert not err.retryable and "gcloud auth application-default login" in str(err)
    assert fake_vertex.requests == []


def test_without_the_sdk_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "vertexai" else real(name, *a))
    with pytest.raises(ConfigError) as info:
        create("projects/p/locations/us-central1/reasoningEngines/1", {})
    assert info.value.hint == "pip install google-cloud-aiplatform"
