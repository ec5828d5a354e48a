"""Expected trajectories: the steps of `expected_trajectory` and their per-argument matchers.

The matching rules themselves live in `agenteval.metrics.trajectory_match`; see docs/trajectory.md.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    JsonValue,
    SerializerFunctionWrapHandler,
    Tag,
    ValidationError,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_serializer,
    model_validator,
)

__all__ = ["ArgMatcher", "ExpectedToolCall", "FuzzyMatcher", "NumericMatcher", "NumericTolerance",
           "OneOfMatcher", "RegexMatcher"]


_MATCHER_KEYS = ("one_of", "fuzzy", "regex", "numeric")
_MATCHER_HELP = (
    "an argument matcher is \"exact\", \"any\", {one_of: [values]}, {fuzzy: 0.9}, {regex: \"pattern\"} "
    "or {numeric: {tol: 0.01, rel: 0.0}}"
)


class OneOfMatcher(BaseModel):
    """`{one_of: [...]}`: the argument equals one of these values; `""` or null in the list lets it be absent."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    one_of: list[JsonValue] = Field(min_length=1)

    @property
    def allows_absent(self) -> bool:
        """Whether `""` or null is listed, so the argument may be left out."""
        return any(v is None or v == "" for v in self.one_of)


class FuzzyMatcher(BaseModel):
    """`{fuzzy: 0.9}`: a string argument whose rapidfuzz `ratio` / 100 with `args[name]` is at least this."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fuzzy: float = Field(ge=0.0, le=1.0)


class RegexMatcher(BaseModel):
    """`{regex: "..."}`: the argument (non-strings as their JSON text) fully matches this pattern."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    regex: str

    @field_validator("regex")
    @classmethod
    def _compiles(cls, v: str) -> str:
        import re

        try:
            re.compile(v)
        except re.error as exc:
            raise ValueError(f"invalid regular expression {v!r}: {exc}") from exc
        return v


class NumericTolerance(BaseModel):
    """How far a number may be from `args[name]`: |got - expected| <= max(tol, rel * |expected|)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tol: float = Field(default=0.0, ge=0.0)
    """Absolute tolerance."""
    rel: float = Field(default=0.0, ge=0.0)
    """Tolerance relative to the expected number."""


class NumericMatcher(BaseModel):
    """`{numeric: {tol: 0.01}}`: a number within a tolerance of `args[name]`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    numeric: NumericTolerance


def _matcher_kind(v: Any) -> str | None:
    if isinstance(v, str):
        return "name" if v in ("exact", "any") else None
    if isinstance(v, dict) and len(v) == 1:
        key = next(iter(v))
        return key if key in _MATCHER_KEYS else None
    classes: tuple[type[BaseModel], ...] = (OneOfMatcher, FuzzyMatcher, RegexMatcher, NumericMatcher)
    for key, cls in zip(_MATCHER_KEYS, classes, strict=True):
        if isinstance(v, cls):
            return key
    return None


ArgMatcher = Annotated[
    Annotated[Literal["exact", "any"], Tag("name")]
    | Annotated[OneOfMatcher, Tag("one_of")]
    | Annotated[FuzzyMatcher, Tag("fuzzy")]
    | Annotated[RegexMatcher, Tag("regex")]
    | Annotated[NumericMatcher, Tag("numeric")],
    Discriminator(_matcher_kind, custom_error_type="arg_matcher", custom_error_message=_MATCHER_HELP),
]
"""How one argument is compared: see docs/trajectory.md and `agenteval.metrics.trajectory_match`."""

_STEP_DEFAULTS: dict[str, Any] = {
    "optional": False, "repeat": False, "args_match": {}, "ignore_extra_args": False, "normalize": True,
}


class ExpectedToolCall(BaseModel):
    """One step of an expected trajectory: a tool, its arguments, and how strictly to compare them.

    `args` gives the expected value of each argument, compared exactly (after string normalisation
    when `normalize`) unless `args_match` names another matcher for it. `one_of` and `regex` carry
    their own acceptable values, so an argument they cover must not also be in `args`; `exact`,
    `fuzzy` and `numeric` compare with `args[name]`, which must be given; `any` ignores the value.
    Options left at their defaults are not serialised, so a plain `{tool, args}` step keeps its hash.
    """

    model_config = ConfigDict(extra="forbid")

    tool: str
    """Name of the tool the step expects."""
    args: dict[str, JsonValue] = Field(default_factory=dict)
    """Expected argument values."""
    optional: bool = False
    """The step may be missing from the predicted trajectory."""
    repeat: bool = False
    """The step matches one or more predicted calls (zero or more with `optional`)."""
    args_match: dict[str, ArgMatcher] = Field(default_factory=dict)
    """Per-argument matcher; arguments not named here are compared `exact`."""
    ignore_extra_args: bool = False
    """Predicted arguments this step does not name do not prevent a match."""
    normalize: bool = True
    """Compare strings BFCL-style: case-folded, without whitespace and the characters `,./-_*^`."""

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            import difflib

            known = list(cls.model_fields)
            for key in data:
                if key not in known:
                    close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
                    hint = f"did you mean {close[0]!r}?" if close else "known: " + ", ".join(known)
                    raise ValueError(f"unknown key {key!r} in an expected tool call ({hint})")
        return data

    @field_validator("args_match", mode="wrap")
    @classmethod
    def _matcher_errors(cls, v: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        try:
            return handler(v)
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = err["loc"]
            where = ".".join(str(p) for p in loc[2:])
            msg = str(err["msg"]).removeprefix("Value error, ")
            raise ValueError(f"argument {loc[0]!r}: {where + ': ' if where else ''}{msg}") from None

    @model_validator(mode="after")
    def _matchers_fit_args(self) -> ExpectedToolCall:
        for name, matcher in self.args_match.items():
            kind = matcher if isinstance(matcher, str) else _matcher_kind(matcher)
            if kind in ("one_of", "regex") and name in self.args:
                raise ValueError(f"argument {name!r} has a value in `args` and a {kind} matcher: "
                                 f"the {kind} matcher alone says what is acceptable; remove args.{name}")
            if kind in ("exact", "fuzzy", "numeric") and name not in self.args:
                raise ValueError(f"argument {name!r} has a {kind} matcher but no expected value in `args`")
            value = self.args.get(name)
            if kind == "fuzzy" and not isinstance(value, str):
                raise ValueError(f"argument {name!r}: a fuzzy matcher needs a string in `args`, got {value!r}")
            if kind == "numeric" and (isinstance(value, bool) or not isinstance(value, (int, float))):
                raise ValueError(f"argument {name!r}: a numeric matcher needs a number in `args`, got {value!r}")
        return self

    @model_serializer(mode="wrap")
    def _drop_defaults(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        return {k: v for k, v in data.items() if k not in _STEP_DEFAULTS or v != _STEP_DEFAULTS[k]}

    def example_args(self) -> dict[str, JsonValue]:
        """Arguments that satisfy this step: `args` plus the first present value of each `one_of`."""
        out = dict(self.args)
        for name, matcher in self.args_match.items():
            if isinstance(matcher, OneOfMatcher):
                first = next((v for v in matcher.one_of if v is not None and v != ""), None)
                if first is not None:
                    out[name] = first
        return out
