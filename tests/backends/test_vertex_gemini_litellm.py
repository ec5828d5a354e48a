"""litellm's `vertex_ai/gemini-*` route against the FakeVertexServer's generateContent, fully offline.

litellm always fetches an OAuth token for Vertex (it refreshes whatever credential it loads), and
google-auth pins an `authorized_user` credential's token_uri to oauth2.googleapis.com. A
*service-account* credential keeps its own `token_uri`, so the tests sign in with a throwaway RSA key
against the fake's /token, which answers with a bearer token the fake then sees on generateContent.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import pytest

from agenteval.backends.base import BackendRequest
from agenteval.backends.litellm_backend import create
from agenteval.schema import Message, ToolSpec
from agenteval.testing.fake_vertex import FakeVertexServer

T = TypeVar("T")

litellm = pytest.importorskip("litellm")
serialization = pytest.importorskip("cryptography.hazmat.primitives.serialization")
rsa = pytest.importorskip("cryptography.hazmat.primitives.asymmetric.rsa")

MODEL = "vertex_ai/gemini-2.0-flash"
WEATHER = ToolSpec(name="get_weather", description="Current weather in a city",
                   parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]})


@pytest.fixture(scope="module")
def private_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem: bytes = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption())
    return pem.decode()


@pytest.fixture
def fake_vertex() -> Iterator[FakeVertexServer]:
    with FakeVertexServer() as srv:
        yield srv


def vertex_params(srv: FakeVertexServer, private_key: str) -> dict[str, Any]:
    """What litellm needs for Vertex: the fake as api_base, and a credential that refreshes there."""
    credentials = {"type": "service_account", "project_id": srv.project, "private_key_id": "test-key",
                   "private_key": private_key, "client_email": f"agenteval@{srv.project}.iam.gserviceaccount.com",
                   "client_id": "1", "token_uri": srv.token_uri}
    return {"api_base": srv.base_url, "vertex_project": srv.project, "vertex_location": srv.location,
            "vertex_credentials": json.dumps(credentials)}


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(asyncio.wait_for(coro, 30))


def test_text_answer_and_usage(fake_vertex: FakeVertexServer, private_key: str) -> None:
    fake_vertex.gemini_rules["capital of france"] = "Paris."
    litellm.suppress_debug_info = True

    resp = run(litellm.acompletion(model=MODEL, messages=[{"role": "user", "content": "The capital of France?"}],
                                   num_retries=0, timeout=10, **vertex_params(fake_vertex, private_key)))

    assert resp.choices[0].message.content == "Paris."
    assert resp.usage.prompt_tokens == 4 and resp.usage.completion_tokens > 0
    calls = fake_vertex.routes("generateContent")
    assert len(calls) == 1
    assert calls[0]["path"] == (f"/v1/projects/{fake_vertex.project}/locations/{fake_vertex.location}"
                                "/publishers/google/models/gemini-2.0-flash:generateContent")
    assert calls[0]["authorization"] == "Bearer fake-access-token"  # the token from the fake's /token
    assert calls[0]["body"]["contents"] == [{"role": "user", "parts": [{"text": "The capital of France?"}]}]
    assert fake_vertex.routes("token")[0]["body"]["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"


def test_function_call(fake_vertex: FakeVertexServer, private_key: str) -> None:
    fake_vertex.gemini_rules["weather"] = ("get_weather", {"city": "Paris"})
    litellm.suppress_debug_info = True
    tools = [{"type": "function", "function": {"name": WEATHER.name, "description": WEATHER.description,
                                               "parameters": WEATHER.parameters}}]

    resp = run(litellm.acompletion(model=MODEL, messages=[{"role": "user", "content": "Weather in Paris?"}],
                                   tools=tools, num_retries=0, timeout=10, _skip_mcp_handler=True,
                                   **vertex_params(fake_vertex, private_key)))

    choice = resp.choices[0]
    assert choice.finish_reason == "tool_calls"
    (call,) = choice.message.tool_calls
    assert call.function.name == "get_weather" and json.loads(call.function.arguments) == {"city": "Paris"}
    sent = fake_vertex.routes("generateContent")[0]["body"]
    assert sent["tools"][0]["function_declarations"][0]["name"] == "get_weather"


def test_through_the_agenteval_litellm_backend(fake_vertex: FakeVertexServer, private_key: str) -> None:
    fake_vertex.gemini_rules["weather"] = ("get_weather", {"city": "Oslo"})
    b = create(MODEL, {"timeout_s": 10, **vertex_params(fake_vertex, private_key)})

    async def both() -> tuple[Any, Any]:
        hello = await b.call(BackendRequest(messages=[Message(role="user", content="hello vertex")]))
        tool = await b.call(BackendRequest(messages=[Message(role="user", content="weather in Oslo")],
                                           tools=[WEATHER]))
        return hello, tool

    hello, tool = run(both())

    assert hello.output == "echo: hello vertex"
    assert hello.usage.input_tokens == 2
    assert [(c.tool, c.args) for c in tool.tool_calls] == [("get_weather", {"city": "Oslo"})]
