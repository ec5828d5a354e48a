"""The error vocabulary of agenteval.

`ConfigError` is the user's mistake (a bad suite file, an unknown metric, a bad option) and carries
the file, line and field it concerns plus a hint. `BackendError` is a failed model/agent call and says
whether retrying can help. A failing metric or judge never raises out of scoring: it becomes an
*unmeasured* score with its reason.
"""

from __future__ import annotations

__all__ = ["AgentEvalError", "ConfigError", "BackendError", "JudgeError", "RegressionError"]


class AgentEvalError(Exception):
    """Base class of every error agenteval raises on purpose."""


class ConfigError(AgentEvalError):
    """A user's mistake in a file, option or argument. Printed as one clear line; CLI exit code 2."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        field: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.field = field
        self.hint = hint
        super().__init__(self.format())

    def format(self) -> str:
        where = ""
        if self.file:
            where = self.file + (f":{self.line}" if self.line else "")
        parts = [f"{where}: " if where else ""]
        if self.field:
            parts.append(f"{self.field}: ")
        parts.append(self.message)
        if self.hint:
            parts.append(f" (hint: {self.hint})")
        return "".join(parts)


class BackendError(AgentEvalError):
    """A backend call failed. `retryable` says whether the runner may try again."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        status: int | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        self.retryable = retryable
        self.status = status
        self.retry_after_s = retry_after_s
        super().__init__(message)


class JudgeError(AgentEvalError):
    """A judge model's answer could not be used."""


class RegressionError(AgentEvalError):
    """A comparison gate failed."""
