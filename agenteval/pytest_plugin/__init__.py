"""The pytest plugin: suite files as tests, a Python API for hand-written tests, a regression gate.

Registered through the `pytest11` entry point; it imports nothing of agenteval's heavy parts (nor any
SDK) until a suite is collected or a fixture is used.
"""

from .api import AgentEvalFixture, assert_score

__all__ = ["AgentEvalFixture", "assert_score"]
