"""Test helpers shipped with agenteval: deterministic fakes of an OpenAI-compatible server and of the
Vertex AI REST API (Agent Engine + Gemini), and the embedded local model server."""

from .fake_openai import FakeOpenAIServer, Fault, Reply
from .fake_vertex import FakeVertexServer

__all__ = ["FakeOpenAIServer", "FakeVertexServer", "Fault", "Reply"]
