"""FakeOpenAIServer, spoken to with plain urllib (no litellm)."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from typing import Any

import pytest

import agenteval
from agenteval.testing import FakeOpenAIServer


def post(srv: FakeOpenAIServer, body: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
    req = urllib.request.Request(f"{srv.base_url}/chat/completions", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, json.loads(resp.read()), dict(resp.headers)
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read()), dict(e.headers)


def chat(text: str, **extra: Any) -> dict[str, Any]:
    return {"model": "m-1", "messages": [{"role": "system", "content": "be brief"},
                                         {"role": "user", "content": text}], **extra}


def test_binds_loopback_and_lists_models(fake_openai: FakeOpenAIServer) -> None:
    assert fake_openai.base_url.startswith("http://127.0.0.1:")
    with urllib.request.urlopen(f"{fake_openai.base_url}/models", timeout=5) as resp:
        data = json.loads(resp.read())
    assert data["object"] == "list" and data["data"][0]["id"]


def test_rules_echo_usage_and_model(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.answers = {"Ping": "pong pong"}
    status, body, _ = post(fake_openai, chat("say PING now", temperature=0.3))
    assert status == 200
    assert body["model"] == "m-1"
    assert body["choices"][0]["message"]["content"] == "pong pong"
    assert body["usage"] == {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}
    assert fake_openai.requests[-1]["temperature"] == 0.3

    _, body, _ = post(fake_openai, chat("anything else"))
    assert body["choices"][0]["message"]["content"] == "echo: anything else"


def test_tool_rule_needs_the_tool_offered(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.tool_rules = {"add": ("calc", {"a": 1, "b": 2})}
    tools = [{"type": "function", "function": {"name": "calc", "parameters": {}}}]
    _, body, _ = post(fake_openai, chat("please add these", tools=tools))
    choice = body["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] is None
    fn = choice["message"]["tool_calls"][0]["function"]
    assert fn["name"] == "calc" and json.loads(fn["arguments"]) == {"a": 1, "b": 2}

    _, body, _ = post(fake_openai, chat("please add these"))
    assert body["choices"][0]["message"]["content"] == "echo: please add these"


def test_streaming_is_refused(fake_openai: FakeOpenAIServer) -> None:
    status, body, _ = post(fake_openai, chat("hi", stream=True))
    assert status == 400 and "stream" in body["error"]["message"]


def test_fail_next_is_consumed_in_order(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.retry_after = "3"
    fake_openai.fail_next = [429, 503]
    status, body, headers = post(fake_openai, chat("a"))
    assert status == 429 and headers["Retry-After"] == "3" and body["error"]["message"]
    assert post(fake_openai, chat("b"))[0] == 503
    assert post(fake_openai, chat("c"))[0] == 200
    assert len(fake_openai.requests) == 3


def test_reset_drops_the_connection(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.fail_next = ["reset"]
    with pytest.raises((ConnectionError, http.client.HTTPException, urllib.error.URLError)):
        post(fake_openai, chat("x"))
    assert post(fake_openai, chat("y"))[0] == 200


def test_fail_rate_is_reproducible_with_a_seed() -> None:
    def statuses() -> list[int]:
        with FakeOpenAIServer(fail_rate=0.5, seed=7) as srv:
            return [post(srv, chat(str(i)))[0] for i in range(20)]

    first = statuses()
    assert first == statuses()
    assert 200 in first and set(first) - {200} <= {429, 500, 503} and set(first) != {200}


def test_module_entry_point_prints_url_and_serves() -> None:
    root = os.path.dirname(os.path.dirname(os.path.abspath(agenteval.__file__)))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-m", "agenteval.testing.fake_openai", "--port", "0"],
                            stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
        with urllib.request.urlopen(f"{url}/models", timeout=5) as resp:
            assert resp.status == 200
    finally:
        proc.terminate()
        proc.wait(timeout=5)
