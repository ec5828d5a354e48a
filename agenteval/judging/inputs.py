"""What a judge is shown for one answer, taken from the sample and its trace.

- `input`: the conversation before the answer (the system prompt and user turns; just the user's message
  when that is all there is).
- `response`: the answer.
- `reference`: `metadata.reference` when the sample has one, else its expected answer(s), else its
  expected tool-call trajectory.
- `context`: `metadata.context`, else `vars.context` (a list becomes numbered passages).
- `trajectory`: the tools offered and every tool call made, with arguments, results and errors.
- `baseline`: the answer compared with, in pairwise mode (from a baseline run or `metadata.baseline`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from pydantic import JsonValue

from ..metrics.base import ScoreContext, expected_texts
from ..schema import Message

__all__ = ["JudgeInputs", "gather_inputs"]

_MAX_RESULT_CHARS = 500


@dataclass(frozen=True)
class JudgeInputs:
    input: str
    response: str
    reference: str | None = None
    context: str | None = None
    trajectory: str = ""
    baseline: str | None = None

    def get(self, name: str) -> str | None:
        value: str | None = getattr(self, name)
        return value


def _text(value: JsonValue) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _conversation(ctx: ScoreContext) -> str:
    messages: list[Message] = list(ctx.trace.messages)
    if messages and messages[-1].role == "assistant":
        messages = messages[:-1]
    shown = [m for m in messages if m.role in ("system", "user", "assistant") and m.content.strip()]
    if not shown:
        s = ctx.sample
        if s.input is not None:
            return s.input
        if s.messages:
            shown = [m for m in s.messages if m.content.strip()]
        elif s.turns:
            return "\n\n".join(f"user: {t}" for t in s.turns)
        elif s.vars:
            return "\n".join(f"{k}: {_text(v)}" for k, v in s.vars.items())
    if len(shown) == 1 and shown[0].role == "user":
        return shown[0].content
    return "\n\n".join(f"{m.role}: {m.content}" for m in shown)


def _reference(ctx: ScoreContext) -> str | None:
    ref = ctx.sample.metadata.get("reference")
    if ref is not None:
        return _text(ref)
    texts = expected_texts(ctx)
    if len(texts) == 1:
        return texts[0]
    if texts:
        return "Any of these answers is correct:\n" + "\n".join(f"- {t}" for t in texts)
    if ctx.sample.expected_trajectory:
        steps = [f"{i}. {c.model_dump_json(exclude_defaults=True)}"
                 for i, c in enumerate(ctx.sample.expected_trajectory, 1)]
        return "Expected tool calls:\n" + "\n".join(steps)
    return None


def _context(ctx: ScoreContext) -> str | None:
    value = ctx.sample.metadata.get("context")
    if value is None:
        value = ctx.sample.vars.get("context")
    if value is None:
        return None
    if isinstance(value, list):
        return "\n\n".join(f"[{i}] {_text(v)}" for i, v in enumerate(value, 1))
    return _text(value)


def _trajectory(ctx: ScoreContext) -> str:
    lines: list[str] = []
    if ctx.suite.tools:
        lines.append("Tools available:")
        lines += [f"- {t.name}: {t.description}" if t.description else f"- {t.name}" for t in ctx.suite.tools]
        lines.append("")
    calls = ctx.trace.tool_calls
    if not calls:
        lines.append("Tool calls made: none")
        return "\n".join(lines)
    lines.append("Tool calls made, in order:")
    for i, c in enumerate(calls, 1):
        line = f"{i}. {c.tool}({json.dumps(c.args, ensure_ascii=False, sort_keys=True)})"
        if c.error is not None:
            line += f" -> error: {c.error}"
        elif c.result is not None:
            result = _text(c.result)
            if len(result) > _MAX_RESULT_CHARS:
                result = result[:_MAX_RESULT_CHARS] + " …"
            line += f" -> {result}"
        lines.append(line)
    return "\n".join(lines)


def gather_inputs(ctx: ScoreContext, baseline: str | None = None) -> JudgeInputs:
    """Everything a rubric may show the judge about this answer."""
    return JudgeInputs(input=_conversation(ctx), response=ctx.output, reference=_reference(ctx),
                       context=_context(ctx), trajectory=_trajectory(ctx), baseline=baseline)
