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


def test_a_trace_is_stored_without_the_request_messages_it_starts_with(tmp_path: Path) -> None:
    request = [Message(role="system", content="Be brief. " * 50), Message(role="user", content="What is 2+2?")]
    trace = Trace(output="4", messages=[*request, Message(role="assistant", content="4")], latency_s=0.1,
                  usage=Usage(input_tokens=12, output_tokens=1))
    other = Trace(output="4", messages=[Message(role="user", content="something else")])
    cache = ResponseCache(tmp_path / "cache.sqlite")
    cache.put("k", trace, request)
    cache.put("other", other, request)  # does not start with the request's messages: stored whole
    cache.put("none", Trace(output="x", messages=list(request)), request)  # nothing but the request's messages
    cache.close()
    cache = ResponseCache(tmp_path / "cache.sqlite")
    try:
        stored = dict(cache._db.execute("SELECT key, trace FROM responses").fetchall())
        assert stored["k"].startswith('{"_shared":2,') and "Be brief" not in stored["k"]
        assert "Be brief" not in stored["none"] and "something else" in stored["other"]
        with pytest.raises(ValueError):  # an older agenteval reads it as a miss, not as a trace without its prompt
            Trace.model_validate_json(stored["k"])
        got = cache.get("k", request)
        assert got == trace and got is not None and got.model_dump_json() == trace.model_dump_json()
        assert cache.get("none", request) == Trace(output="x", messages=list(request))
        assert cache.get("other", request) == other and cache.get("other") == other
        assert cache.get("k") is None and cache.get("k", request[:1]) is None  # cannot be put back: a miss
        assert cache.get_many(["k", "other"], [request, request]) == {"k": trace, "other": other}
        assert cache.get_many(["k", "other"]) == {"other": other}
    finally:
        cache.close()


def test_damaged_entries_are_misses(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "cache.sqlite")
    try:
        request = [Message(role="user", content="q")]
        for key, text in (("a", '{"_shared":'), ("b", '{"_shared":x,"output":"y"}'), ("c", '{"_shared":1'),
                          ("d", '{"_shared":1;"output":"y"}'), ("e", '{"output":3}'), ("f", "not json")):
            cache._db.execute("INSERT INTO responses (key, trace) VALUES (?, ?)", (key, text))
            assert cache.get(key, request) is None, key
        cache._db.execute("INSERT INTO responses (key, trace) VALUES (?, ?)", ("g", '{"_shared":1}'))
        assert cache.get("g", request) == Trace(messages=request)
    finally:
        cache.close()


@pytest.mark.parametrize("suite_file", ["qa.yaml", "chat.yaml", "structured.yaml"])
def test_a_cached_rerun_writes_the_first_runs_traces_and_scores(suite_file: str, tmp_path: Path) -> None:
    import asyncio

    from agenteval.runner import RunOptions, run_suite
    from agenteval.suite import load_suite

    suite = load_suite(Path(__file__).resolve().parents[2] / "suites" / suite_file)
    opts = RunOptions(results_root=tmp_path, backend_spec="stub:echo", progress=False)
    first = asyncio.run(run_suite(suite, opts))
    again = asyncio.run(run_suite(suite, opts))
    rows = [[json.loads(x) for x in out.run_dir.samples_path.read_text().splitlines()] for out in (first, again)]
    assert len(rows[0]) == len(rows[1]) == len(suite.samples)
    cacheable = 0
    for a, b in zip(*rows, strict=True):
        assert (a["sample_id"], a["trace"], a["scores"], a["input"], a["output"]) == (
            b["sample_id"], b["trace"], b["scores"], b["input"], b["output"])
        cacheable += b["cached"]
        assert not a["cached"]
    assert cacheable > 0
