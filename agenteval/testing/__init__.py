"""Test helpers shipped with agenteval: a deterministic OpenAI-compatible server."""

from .fake_openai import FakeOpenAIServer, Fault

__all__ = ["FakeOpenAIServer", "Fault"]
