"""The rubric file contract: what users write in `judges/<name>.yaml` for an LLM judge.

A rubric says what the judge looks at (`inputs`), what it weighs (`criteria`, `steps`), how it answers
(a `scale` of integer scores with an anchor each, pass/fail-style `labels`, or — in `pairwise` mode — a
winner A / B / tie), when an answer passes (`pass_score`, `pass_label` or `pass_value`), a few worked
`examples`, and the judge model it uses by default. Its `content_hash` covers all of it, so a run
records exactly which rubric scored it.
"""

from __future__ import annotations

import hashlib
import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, model_validator

from .types import NumberAsStr

__all__ = ["FewShotExample", "JudgeInput", "LabelSpec", "Rubric", "RubricMode", "RubricProblem", "Winner"]

RubricMode = Literal["pointwise", "pairwise"]
JudgeInput = Literal["input", "response", "reference", "context", "trajectory", "baseline"]
"""What a judge can be shown: the user's input (the conversation before the answer), the answer
(`response`), the expected answer (`reference`), retrieved passages (`context`), the agent's tool calls
(`trajectory`) and, in pairwise mode, the answer it is compared with (`baseline`)."""
Winner = Literal["A", "B", "tie"]


class RubricProblem(ValueError):
    """A rubric inconsistency found after the fields parsed, with the location of the field at fault
    (so loaders can point at its line)."""

    def __init__(self, loc: tuple[str | int, ...], message: str) -> None:
        self.loc = loc
        self.message = message
        super().__init__(message)


class LabelSpec(BaseModel):
    """One label of a label rubric, e.g. `pass: {value: 1, description: ...}`."""

    model_config = ConfigDict(extra="forbid")

    value: float = Field(ge=0, le=1)
    """The score this label stands for, in [0, 1]."""
    description: str = ""
    """When the judge should choose this label."""


class FewShotExample(BaseModel):
    """A worked example shown to the judge: the inputs, the verdict and the reasoning behind it."""

    model_config = ConfigDict(extra="forbid")

    input: str = ""
    response: str = ""
    """The answer judged (pairwise: response A)."""
    reference: str | None = None
    context: str | None = None
    trajectory: str | None = None
    baseline: str | None = None
    """Pairwise: response B."""
    score: int | None = None
    """Scale rubrics: the score given."""
    label: str | None = None
    """Label rubrics: the label given."""
    winner: Winner | None = None
    """Pairwise rubrics: the better response."""
    reasoning: str
    """Why; shown before the verdict, as the judge is asked to answer."""


class Rubric(BaseModel):
    """An LLM-judge rubric, versioned and content-hashed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    """The rubric's name; a suite's `judge: <name>` finds `judges/<name>.yaml`."""
    version: NumberAsStr
    """Bump it when the rubric's meaning changes; runs record it with the content hash."""
    description: str = ""
    """What the rubric judges; shown to the judge."""
    mode: RubricMode = "pointwise"
    """`pointwise`: rate one answer. `pairwise`: compare the answer with a baseline answer."""
    requires_reference: bool = False
    """Samples without an expected answer are unmeasured (not guessed)."""
    criteria: dict[str, str] = Field(min_length=1)
    """Criterion name -> what it means."""
    scale: dict[int, str] | None = None
    """Pointwise: consecutive integer scores -> the anchor that describes each, e.g. 1..5."""
    labels: dict[str, LabelSpec] | None = None
    """Pointwise, instead of a scale: label -> its value in [0, 1] and description."""
    pass_score: int | None = None
    """Scale rubrics: an answer passes when its (mean) score is at least this."""
    pass_label: str | None = None
    """Label rubrics: an answer passes when its value is at least this label's value."""
    pass_value: float | None = Field(default=None, ge=0, le=1)
    """Any mode: an answer passes when its normalised value in [0, 1] is at least this (pairwise:
    1 = better than the baseline, 0.5 = tie, 0 = worse)."""
    allow_tie: bool = True
    """Pairwise: whether the judge may answer `tie`."""
    steps: list[str] = Field(default_factory=list)
    """Evaluation steps the judge follows, in order."""
    examples: list[FewShotExample] = Field(default_factory=list)
    """Few-shot examples shown to the judge."""
    inputs: list[JudgeInput] | None = None
    """What the judge is shown. Default: input and response, plus reference when required and baseline
    in pairwise mode."""
    model: str | None = None
    """Default judge model (a backend spec); the metric's `model` and `--judge-model` override it."""
    options: dict[str, JsonValue] = Field(default_factory=dict)
    """Default judge backend options (e.g. temperature, max_tokens)."""

    @model_validator(mode="after")
    def _consistent(self) -> Rubric:
        for problem in _problems(self):
            raise problem
        return self

    # -- derived ---------------------------------------------------------------------------------

    @property
    def shown_inputs(self) -> list[JudgeInput]:
        """The inputs the judge sees, in a fixed order."""
        if self.inputs is not None:
            return list(dict.fromkeys(self.inputs))
        shown: list[JudgeInput] = ["input"]
        if self.requires_reference:
            shown.append("reference")
        shown.append("response")
        if self.mode == "pairwise":
            shown.append("baseline")
        return shown

    @property
    def scale_range(self) -> tuple[int, int] | None:
        """(lowest, highest) score of a scale rubric."""
        if not self.scale:
            return None
        return min(self.scale), max(self.scale)

    def normalise(self, score: float) -> float:
        """A scale score as a value in [0, 1]: (score - min) / (max - min)."""
        lo, hi = self.scale_range or (0, 1)
        return (score - lo) / (hi - lo)

    def denormalise(self, value: float) -> float:
        """A value in [0, 1] back on the scale."""
        lo, hi = self.scale_range or (0, 1)
        return lo + value * (hi - lo)

    @property
    def pass_threshold(self) -> float | None:
        """The normalised value an answer needs to pass, or None when the rubric has no pass rule."""
        if self.pass_score is not None:
            return self.normalise(self.pass_score)
        if self.pass_label is not None and self.labels is not None:
            return self.labels[self.pass_label].value
        return self.pass_value

    @property
    def content_hash(self) -> str:
        """sha256 over the canonical JSON of the whole rubric."""
        blob = json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False,
                          separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()


def _problems(r: Rubric) -> list[RubricProblem]:
    """Everything inconsistent in a rubric whose fields parsed (first problem first)."""
    out: list[RubricProblem] = []
    if r.mode == "pointwise":
        if (r.scale is None) == (r.labels is None):
            out.append(RubricProblem(("scale",), "a pointwise rubric needs exactly one of `scale` or `labels`"))
    else:
        for name in ("scale", "labels", "pass_score", "pass_label"):
            if getattr(r, name) is not None:
                out.append(RubricProblem((name,), f"a pairwise rubric has no `{name}` (its verdict is A, B or tie;"
                                                  " use pass_value)"))
    if r.scale is not None:
        keys = sorted(r.scale)
        if len(keys) < 2 or keys != list(range(keys[0], keys[0] + len(keys))):
            out.append(RubricProblem(("scale",), "the scale needs at least two consecutive integer scores, "
                                                 f"each with an anchor (got {keys})"))
    if r.labels is not None and len(r.labels) < 2:
        out.append(RubricProblem(("labels",), "a label rubric needs at least two labels"))
    given = [n for n in ("pass_score", "pass_label", "pass_value") if getattr(r, n) is not None]
    if len(given) > 1:
        out.append(RubricProblem((given[1],), f"give one pass rule, not {' and '.join(given)}"))
    if r.pass_score is not None and r.scale is not None and r.pass_score not in r.scale:
        lo, hi = min(r.scale), max(r.scale)
        out.append(RubricProblem(("pass_score",), f"pass_score {r.pass_score} is not on the scale {lo}..{hi}"))
    if r.pass_score is not None and r.scale is None and r.mode == "pointwise":
        out.append(RubricProblem(("pass_score",), "pass_score needs a `scale` (label rubrics use pass_label)"))
    if r.pass_label is not None and r.labels is not None and r.pass_label not in r.labels:
        out.append(RubricProblem(("pass_label",), f"pass_label {r.pass_label!r} is not one of the labels "
                                                  f"{', '.join(r.labels)}"))
    if r.pass_label is not None and r.labels is None and r.mode == "pointwise":
        out.append(RubricProblem(("pass_label",), "pass_label needs `labels` (scale rubrics use pass_score)"))
    shown = r.shown_inputs
    if "response" not in shown:
        out.append(RubricProblem(("inputs",), "the judge must be shown the `response`"))
    if r.mode == "pairwise" and "baseline" not in shown:
        out.append(RubricProblem(("inputs",), "a pairwise rubric must show the `baseline` answer"))
    if r.mode == "pointwise" and "baseline" in shown:
        out.append(RubricProblem(("inputs",), "`baseline` is only shown in pairwise mode"))
    if r.requires_reference and "reference" not in shown:
        out.append(RubricProblem(("inputs",), "requires_reference is true but `reference` is not shown"))
    for i, ex in enumerate(r.examples):
        out.extend(_example_problems(r, i, ex))
    return out


def _example_problems(r: Rubric, i: int, ex: FewShotExample) -> list[RubricProblem]:
    loc: tuple[str | int, ...] = ("examples", i)
    if r.mode == "pairwise":
        if ex.winner is None:
            return [RubricProblem((*loc, "winner"), "a pairwise example needs `winner` (A, B or tie)")]
        if ex.baseline is None:
            return [RubricProblem((*loc, "baseline"), "a pairwise example needs `baseline` (response B)")]
        if ex.winner == "tie" and not r.allow_tie:
            return [RubricProblem((*loc, "winner"), "this rubric does not allow ties")]
        return []
    if r.scale is not None:
        if ex.score is None:
            return [RubricProblem((*loc, "score"), "an example of a scale rubric needs `score`")]
        if ex.score not in r.scale:
            return [RubricProblem((*loc, "score"), f"score {ex.score} is not on the scale "
                                                   f"{min(r.scale)}..{max(r.scale)}")]
    if r.labels is not None:
        if ex.label is None:
            return [RubricProblem((*loc, "label"), "an example of a label rubric needs `label`")]
        if ex.label not in r.labels:
            return [RubricProblem((*loc, "label"), f"label {ex.label!r} is not one of {', '.join(r.labels)}")]
    return []
