"""`cache_key` writes the request's canonical JSON directly; these pin it to the definition it had when
it was `json.dumps(payload, sort_keys=True, ...)` of the dumped request, so existing response caches
stay valid (a changed key would silently turn every cached answer into a miss)."""

from __future__ import annotations

import hashlib
import json

import pytest
from pydantic import JsonValue, TypeAdapter

from agenteval.backends.base import BackendRequest
from agenteval.redaction import SECRET_MARKERS
from agenteval.schema import Message, ToolCall
from agenteval.schema.suite import ToolSpec
from agenteval.tracecache import cache_key


def reference_key(spec: str, options: dict[str, JsonValue], request: BackendRequest,
                  extra: dict[str, JsonValue] | None = None) -> str:
    """The definition: sha256 of the sorted-key JSON of everything that changes an answer."""
    opts = {k: v for k, v in options.items() if not any(m in k.lower() for m in SECRET_MARKERS)}
    payload = {
        "extra": extra or {},
        "spec": spec,
        "options": opts,
        "messages": TypeAdapter(list[Message]).dump_python(request.messages, mode="json", exclude_none=True),
        "tools": [t.model_dump(mode="json") for t in request.tools],
        "seed": request.seed,
        "repeat": request.repeat,
        "turn": request.turn,
    }
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


TOOL = ToolSpec.model_validate({"name": "get_weather", "description": "Weather for a city",
                                "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                                               "required": ["city"]}})

REQUESTS = [
    BackendRequest(messages=[Message(role="user", content="What is 2 plus 2?")]),
    BackendRequest(messages=[Message(role="system", content="Be brief.\nÜnïcødé \u2028 \"quoted\" \\ tab\t"),
                             Message(role="user", content="日本語の質問 ✓ \x00 end")], repeat=3, seed=7, turn=1),
    BackendRequest(messages=[Message(role="user", content="weather in Paris?"),
                             Message(role="assistant", content="", tool_calls=[
                                 ToolCall(tool="get_weather", args={"city": "Paris", "n": 1.5}, id="call_1")]),
                             Message(role="tool", content='{"temp": 21}', name="get_weather", tool_call_id="call_1")],
                   tools=[TOOL], seed=None, repeat=0),
    BackendRequest(messages=[Message(role="user", content="")]),
    BackendRequest(messages=[]),
]


@pytest.mark.parametrize("request_", REQUESTS)
@pytest.mark.parametrize(("options", "extra"), [
    ({}, None),
    ({"temperature": 0, "api_key": "sk-secret", "stop": ["\n", "Ω"], "nested": {"b": 1, "a": [True, None]}},
     {"rubric": "helpfulness", "version": "2", "float": 0.1}),
])
def test_cache_key_is_the_sorted_json_definition(request_: BackendRequest, options: dict[str, JsonValue],
                                                  extra: dict[str, JsonValue] | None) -> None:
    assert cache_key("litellm:openai/gpt-4o-mini", options, request_, extra) == reference_key(
        "litellm:openai/gpt-4o-mini", options, request_, extra)


def test_everything_that_changes_an_answer_changes_the_key() -> None:
    base = BackendRequest(messages=[Message(role="user", content="hi")])
    keys = {
        cache_key("stub:echo", {}, base),
        cache_key("stub:golden", {}, base),
        cache_key("stub:echo", {"temperature": 1}, base),
        cache_key("stub:echo", {}, base, extra={"rubric": "x"}),
        cache_key("stub:echo", {}, BackendRequest(messages=[Message(role="user", content="hi!")])),
        cache_key("stub:echo", {}, BackendRequest(messages=[Message(role="system", content="hi")])),
        cache_key("stub:echo", {}, BackendRequest(messages=base.messages, repeat=1)),
        cache_key("stub:echo", {}, BackendRequest(messages=base.messages, seed=1)),
        cache_key("stub:echo", {}, BackendRequest(messages=base.messages, turn=1)),
        cache_key("stub:echo", {}, BackendRequest(messages=base.messages, tools=[TOOL])),
    }
    assert len(keys) == 10
    # secrets are not part of the key: rotating an API key keeps the cache
    assert cache_key("stub:echo", {"api_key": "a"}, base) == cache_key("stub:echo", {"api_key": "b"}, base)
