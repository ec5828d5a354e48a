"""Rendering a sample into the messages a backend receives (sandboxed Jinja2)."""

from __future__ import annotations

from functools import cache
from typing import Any

from ..errors import ConfigError
from ..schema import Message, ResolvedSample, Suite

__all__ = ["render_messages", "render_template", "user_turns"]


@cache
def _env() -> Any:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    return ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False,
                                         keep_trailing_newline=True)


@cache
def _compile(source: str) -> Any:
    return _env().from_string(source)


def render_template(source: str, variables: dict[str, Any], *, where: str, field: str) -> str:
    """Render `source` with `variables`; undefined names and sandbox escapes become ConfigError."""
    from jinja2 import TemplateError
    from jinja2.exceptions import SecurityError

    file, _, line = where.rpartition(":")
    try:
        return str(_compile(source).render(**variables))
    except SecurityError as exc:
        raise ConfigError(f"template tried something unsafe: {exc}", file=file or where,
                          line=int(line) if line.isdigit() else None, field=field,
                          hint="templates can only read the sample's vars") from None
    except TemplateError as exc:
        raise ConfigError(f"template error: {exc}", file=file or where,
                          line=int(line) if line.isdigit() else None, field=field,
                          hint="every {{ name }} in the prompt needs a var of that name in each sample"
                          ) from None


def _variables(sample: ResolvedSample) -> dict[str, Any]:
    v: dict[str, Any] = dict(sample.vars)
    if sample.input is not None:
        v.setdefault("input", sample.input)
    return v


def user_turns(suite: Suite, sample: ResolvedSample) -> list[str]:
    """The user message(s) of a sample: its turns, its rendered prompt, or its input."""
    if sample.turns is not None:
        return list(sample.turns)
    if sample.messages is not None:
        return []
    if suite.prompt is not None:
        return [render_template(suite.prompt, _variables(sample), where=sample.origin, field="prompt")]
    if sample.input is not None:
        return [sample.input]
    raise ConfigError("sample has no input: give `input`, `messages`, `turns`, or vars for the "
                      "suite's `prompt`", file=sample.origin.rpartition(":")[0],
                      line=int(sample.origin.rpartition(":")[2] or 0) or None, field=f"samples[{sample.id}]")


def render_messages(suite: Suite, sample: ResolvedSample) -> list[Message]:
    """Messages for the first request: system prompt, prior conversation, first user turn."""
    msgs: list[Message] = []
    if suite.system is not None and not (sample.messages and sample.messages[0].role == "system"):
        msgs.append(Message(role="system", content=render_template(
            suite.system, _variables(sample), where=sample.origin, field="system")))
    if sample.messages is not None:
        msgs.extend(sample.messages)
    turns = user_turns(suite, sample)
    if turns:
        msgs.append(Message(role="user", content=turns[0]))
    return msgs
