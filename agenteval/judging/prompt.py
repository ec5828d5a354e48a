"""Building the judge's messages from a rubric and the inputs of one answer.

The system message holds the rubric (description, criteria, steps, scale or labels, examples) and the
answer format; the user message holds the case, each input in its own tagged block. The judge is asked
for one JSON object with its reasoning first and the verdict last.
"""

from __future__ import annotations

import json

from ..schema import Message
from ..schema.rubric import FewShotExample, Rubric
from .inputs import JudgeInputs

__all__ = ["answer_format", "build_messages", "reask_message"]

_TITLES = {
    "input": "the user's input",
    "response": "the response to evaluate",
    "reference": "the reference answer",
    "context": "the context the response must rely on",
    "trajectory": "the agent's tool use",
    "baseline": "response B",
}


def answer_format(rubric: Rubric) -> str:
    """The JSON object the judge must answer with, as shown to it."""
    if rubric.mode == "pairwise":
        choices = '"A" | "B" | "tie"' if rubric.allow_tie else '"A" | "B"'
        return '{"reasoning": "<your comparison, step by step>", "winner": ' + choices + "}"
    if rubric.scale is not None:
        lo, hi = min(rubric.scale), max(rubric.scale)
        return ('{"reasoning": "<your evaluation, step by step>", "score": <an integer from '
                f"{lo} to {hi}>" + "}")
    assert rubric.labels is not None
    return ('{"reasoning": "<your evaluation, step by step>", "label": '
            + " | ".join(json.dumps(n) for n in rubric.labels) + "}")


def _block(tag: str, text: str) -> str:
    return f"<{tag}>\n{text.strip()}\n</{tag}>"


def _verdict_json(rubric: Rubric, ex: FewShotExample) -> str:
    if rubric.mode == "pairwise":
        return json.dumps({"reasoning": ex.reasoning, "winner": ex.winner}, ensure_ascii=False)
    if rubric.scale is not None:
        return json.dumps({"reasoning": ex.reasoning, "score": ex.score}, ensure_ascii=False)
    return json.dumps({"reasoning": ex.reasoning, "label": ex.label}, ensure_ascii=False)


def _case(rubric: Rubric, values: dict[str, str | None]) -> str:
    """The tagged blocks of one case, in the rubric's order (missing optional inputs left out)."""
    parts: list[str] = []
    for name in rubric.shown_inputs:
        text = values.get(name)
        if text is None:
            continue
        if rubric.mode == "pairwise" and name == "response":
            parts.append(_block("response_a", text))
        elif rubric.mode == "pairwise" and name == "baseline":
            parts.append(_block("response_b", text))
        else:
            parts.append(_block(name, text))
    return "\n\n".join(parts)


def _system(rubric: Rubric) -> str:
    out: list[str] = []
    if rubric.mode == "pairwise":
        out.append("You are an impartial evaluator. You compare two responses, A and B, to the same input "
                   "and decide which one is better according to the criteria below. The order of the "
                   "responses is arbitrary: do not let position, length or style decide.")
    else:
        out.append("You are an impartial, careful evaluator. You evaluate one response according to the "
                   "criteria below and give a verdict that follows the scale exactly.")
    if rubric.description:
        out.append(f"Task: {rubric.description.strip()}")
    shown = ", ".join(_TITLES[n] if not (rubric.mode == "pairwise" and n == "response") else "response A"
                      for n in rubric.shown_inputs)
    out.append(f"You are given: {shown}.")
    out.append("Criteria:\n" + "\n".join(f"- {k}: {v.strip()}" for k, v in rubric.criteria.items()))
    if rubric.steps:
        out.append("Evaluation steps:\n" + "\n".join(f"{i}. {s.strip()}" for i, s in enumerate(rubric.steps, 1)))
    if rubric.scale is not None:
        out.append("Scale:\n" + "\n".join(f"{k}: {v.strip()}" for k, v in sorted(rubric.scale.items(),
                                                                             reverse=True)))
    elif rubric.labels is not None:
        out.append("Labels:\n" + "\n".join(f"- {k}: {v.description.strip()}" for k, v in rubric.labels.items()))
    else:
        rules = ["- A: response A is better.", "- B: response B is better."]
        if rubric.allow_tie:
            rules.append("- tie: neither is better on the criteria.")
        out.append("Verdicts:\n" + "\n".join(rules))
    for i, ex in enumerate(rubric.examples, 1):
        values: dict[str, str | None] = {"input": ex.input, "response": ex.response, "reference": ex.reference,
                                         "context": ex.context, "trajectory": ex.trajectory,
                                         "baseline": ex.baseline}
        out.append(f"Example {i}:\n{_case(rubric, values)}\nVerdict: {_verdict_json(rubric, ex)}")
    out.append("Answer with one JSON object and nothing else, reasoning first:\n" + answer_format(rubric))
    return "\n\n".join(out)


def build_messages(rubric: Rubric, inputs: JudgeInputs, *, swap: bool = False) -> list[Message]:
    """The judge's messages. Pairwise: response A is the candidate, B the baseline; `swap` exchanges them."""
    values: dict[str, str | None] = {name: inputs.get(name) for name in _TITLES}
    if swap:
        values["response"], values["baseline"] = values["baseline"], values["response"]
    user = _case(rubric, values) + "\n\nGive your verdict as the JSON object described."
    return [Message(role="system", content=_system(rubric)), Message(role="user", content=user)]


def reask_message(reason: str, rubric: Rubric) -> Message:
    """What the judge is told after an unusable answer."""
    return Message(role="user", content=f"Your answer could not be used: {reason}. Answer again with only "
                                        f"this JSON object, kept short: {answer_format(rubric)}")
