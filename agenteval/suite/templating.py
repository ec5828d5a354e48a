"""Rendering a sample into the messages a backend receives (sandboxed Jinja2).

Templates are compiled once per source. A template that is only text and `{{ name }}` substitutions
(the usual prompt) is rendered by joining its parts, exactly as Jinja's generated code would
(`str(value)` for each name); anything else (filters, attributes, blocks, a name the sample does not
define) goes through the sandboxed Jinja environment, which also raises the errors.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from ..errors import ConfigError
from ..schema import Message, ResolvedSample, Suite

__all__ = ["render_messages", "render_request", "render_template", "user_turns"]


@cache
def _env() -> Any:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    return ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False,
                                         keep_trailing_newline=True)


# `{{ name }}`: the one Jinja construct rendered without Jinja (with Jinja's own whitespace rule).
_SUBSTITUTION = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
# Names Jinja reads as something other than a variable of the sample (constants, operators,
# the template itself): templates using them go through Jinja.
_NOT_A_VAR = frozenset({"true", "false", "none", "True", "False", "None", "and", "or", "not", "in", "is",
                        "if", "else", "self", "loop", "caller", "varargs", "kwargs"})


def _plain_parts(source: str) -> tuple[tuple[str, bool], ...] | None:
    """The parts of a template made only of text and `{{ name }}`, without importing Jinja; else None."""
    if "\r" in source:
        return None  # Jinja normalises newlines
    parts: list[tuple[str, bool]] = []
    pos = 0
    for m in _SUBSTITUTION.finditer(source):
        text = source[pos:m.start()]
        if "{{" in text or "{%" in text or "{#" in text or text.endswith("{") or m[1] in _NOT_A_VAR:
            return None
        if text:
            parts.append((text, False))
        parts.append((m[1], True))
        pos = m.end()
    tail = source[pos:]
    if "{{" in tail or "{%" in tail or "{#" in tail:
        return None
    if tail:
        parts.append((tail, False))
    return tuple(parts)


def _jinja_parts(source: str) -> tuple[tuple[str, bool], ...] | None:
    """The same from Jinja's parse tree (whitespace control, comments, `\\r\\n`), or None when the
    template needs Jinja to render."""
    from jinja2 import nodes

    ast = _env().parse(source)
    parts: list[tuple[str, bool]] = []
    for stmt in ast.body:
        if not isinstance(stmt, nodes.Output):
            return None
        for node in stmt.nodes:
            if type(node) is nodes.TemplateData:
                parts.append((node.data, False))
            elif type(node) is nodes.Name and node.ctx == "load" and node.name not in _NOT_A_VAR:
                parts.append((node.name, True))
            else:
                return None
    return tuple(parts)


class _Compiled:
    """One template source: its Jinja template, and its parts when it is plain substitution.

    `parts` holds (text, is_name) pairs in output order, or None when the template needs Jinja.
    """

    __slots__ = ("_template", "parts", "source")

    def __init__(self, source: str) -> None:
        self.source = source
        self._template: Any = None
        parts = _plain_parts(source)
        self.parts = parts if parts is not None else _jinja_parts(source)

    @property
    def template(self) -> Any:
        if self._template is None:
            self._template = _env().from_string(self.source)
        return self._template

    def render(self, variables: dict[str, Any]) -> str:
        parts = self.parts
        if parts is not None:
            out: list[str] = []
            for text, is_name in parts:
                if not is_name:
                    out.append(text)
                elif text in variables:
                    out.append(str(variables[text]))
                else:  # undefined (or a Jinja global): let Jinja decide, and raise
                    return str(self.template.render(**variables))
            return "".join(out)
        return str(self.template.render(**variables))


@cache
def _compile(source: str) -> _Compiled:
    return _Compiled(source)


def render_template(source: str, variables: dict[str, Any], *, where: str, field: str) -> str:
    """Render `source` with `variables`; undefined names and sandbox escapes become ConfigError."""
    try:
        return _compile(source).render(variables)
    except Exception as exc:
        from jinja2 import TemplateError
        from jinja2.exceptions import SecurityError

        file, _, line = where.rpartition(":")
        if isinstance(exc, SecurityError):
            raise ConfigError(f"template tried something unsafe: {exc}", file=file or where,
                              line=int(line) if line.isdigit() else None, field=field,
                              hint="templates can only read the sample's vars") from None
        if isinstance(exc, TemplateError):
            raise ConfigError(f"template error: {exc}", file=file or where,
                              line=int(line) if line.isdigit() else None, field=field,
                              hint="every {{ name }} in the prompt needs a var of that name in each sample"
                              ) from None
        raise


def _variables(sample: ResolvedSample) -> dict[str, Any]:
    v: dict[str, Any] = dict(sample.vars)
    if sample.input is not None:
        v.setdefault("input", sample.input)
    return v


def user_turns(suite: Suite, sample: ResolvedSample) -> list[str]:
    """The user message(s) of a sample: its turns, its rendered prompt, or its input."""
    return _user_turns(suite, sample, None)


def _user_turns(suite: Suite, sample: ResolvedSample, variables: dict[str, Any] | None) -> list[str]:
    if sample.turns is not None:
        return list(sample.turns)
    if sample.messages is not None:
        return []
    if suite.prompt is not None:
        return [render_template(suite.prompt, _variables(sample) if variables is None else variables,
                                where=sample.origin, field="prompt")]
    if sample.input is not None:
        return [sample.input]
    raise ConfigError("sample has no input: give `input`, `messages`, `turns`, or vars for the "
                      "suite's `prompt`", file=sample.origin.rpartition(":")[0],
                      line=int(sample.origin.rpartition(":")[2] or 0) or None, field=f"samples[{sample.id}]")


def render_request(suite: Suite, sample: ResolvedSample) -> tuple[list[Message], list[str]]:
    """(messages for the first request, user turns), rendering each template once.

    The same as `(render_messages(suite, sample), user_turns(suite, sample))`.
    """
    msgs: list[Message] = []
    variables = _variables(sample) if suite.system is not None or suite.prompt is not None else None
    if suite.system is not None and not (sample.messages and sample.messages[0].role == "system"):
        assert variables is not None
        msgs.append(Message(role="system", content=render_template(
            suite.system, variables, where=sample.origin, field="system")))
    if sample.messages is not None:
        msgs.extend(sample.messages)
    turns = _user_turns(suite, sample, variables)
    if turns:
        msgs.append(Message(role="user", content=turns[0]))
    return msgs, turns


def render_messages(suite: Suite, sample: ResolvedSample) -> list[Message]:
    """Messages for the first request: system prompt, prior conversation, first user turn."""
    return render_request(suite, sample)[0]
