"""Shared test setup: offline environment for litellm / Hugging Face, and a fake OpenAI server."""

from __future__ import annotations

import os

# Before anything imports litellm or huggingface: never reach the internet.
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
os.environ["NO_GCE_CHECK"] = "true"
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"

from collections.abc import Iterator

import pytest

from agenteval.testing import FakeOpenAIServer

pytest_plugins = ["pytester"]  # tests/pytest_plugin drives pytest itself


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAIServer]:
    """A started FakeOpenAIServer on 127.0.0.1 (no latency), stopped after the test."""
    with FakeOpenAIServer(latency_ms=0) as srv:
        yield srv
