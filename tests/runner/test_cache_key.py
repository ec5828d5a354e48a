"""The response cache. `cache_key` writes the request's canonical JSON directly; these pin it to the
definition it had when it was `json.dumps(payload, sort_keys=True, ...)` of the dumped request, so
existing response caches stay valid (a changed key would silently turn every cached answer into a
miss). Traces are stored without their default fields and must read back as the same traces."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from pydantic import JsonValue, TypeAdapter

from agenteval.backends.base import BackendRequest
from agenteval.redaction import SECRET_MARKERS
from agenteval.schema import Message, ToolCall, Trace, Turn, Usage
from agenteval.schema.suite import ToolSpec
from agenteval.tracecache import ResponseCache, cache_key


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


def test_a_stored_trace_reads_back_equal_and_serialises_the_same(tmp_path: Path) -> None:
    """Traces are stored without their default fields; reading one back must give the very trace."""
    trace = Trace(output="x", messages=[
        Message(role="user", content=""),
        Message(role="assistant", content="hi", tool_calls=[ToolCall(tool="f", args={"a": None, "b": 0}, id="1")])],
        tool_calls=[ToolCall(tool="f", args={}, result={"x": None}, error=None, latency_s=0.0)],
        usage=Usage(input_tokens=0, output_tokens=None, cost_usd=0.0), latency_s=0.0, model=None,
        finish_reason="stop", events=[None, {"a": 1}], state={"k": None}, turns=[Turn(user="", output="")])
    cache = ResponseCache(tmp_path / "cache.sqlite")
    cache.put("k1", trace)
    cache.put("k2", Trace())
    cache.close()
    cache = ResponseCache(tmp_path / "cache.sqlite")
    try:
        for key, want in (("k1", trace), ("k2", Trace())):
            got = cache.get(key)
            assert got == want and got is not None and got.model_dump_json() == want.model_dump_json()
        many = cache.get_many(["k1", "missing", "k2", "k1"])
        assert many == {"k1": trace, "k2": Trace()}
        stored = cache._db.execute("SELECT trace FROM responses WHERE key = 'k1'").fetchone()[0]
        assert '"name":null' not in stored and len(stored) < len(trace.model_dump_json())
    finally:
        cache.close()
