"""The suite file contract: what users write in `suites/*.yaml`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    JsonValue,
    Tag,
    field_validator,
    model_validator,
)

from .sample_list import CompactSamples
from .trace import Message, ToolCall
from .trajectory import ExpectedToolCall
from .types import NumberAsStr

TaskKind = Literal[
    "classification", "ranking", "extraction", "generation", "rag", "tool_use", "forecasting"
]


class BackendConfig(BaseModel):
    """Which backend answers, and its options (temperature, api_base, latency_ms, ...)."""

    model_config = ConfigDict(extra="forbid")

    spec: str
    """A backend spec such as `stub:golden` or `litellm:openai/gpt-4o-mini`."""
    options: dict[str, JsonValue] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _flatten(cls, data: Any) -> Any:
        # `backend: {spec: ..., temperature: 0}` puts options beside the spec; accept both shapes.
        if isinstance(data, str):
            return {"spec": data}
        if isinstance(data, dict) and "options" not in data:
            opts = {k: v for k, v in data.items() if k != "spec"}
            return {"spec": data.get("spec"), "options": opts}
        return data


def _empty_object_schema() -> dict[str, JsonValue]:
    return {"type": "object", "properties": {}}


class ToolSpec(BaseModel):
    """A tool offered to the backend, with JSON Schema parameters."""

    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""
    parameters: dict[str, JsonValue] = Field(default_factory=_empty_object_schema)
    impl: str | None = None
    """`python:<module>:<function>` that implements the tool; called as `function(env, **args)` where
    `env` is the sample's environment (or None). Without `impl`, a method of the environment with the
    tool's name implements it."""


class MetricSpec(BaseModel):
    """A metric as a suite names it: `exact_match`, or `{fuzzy_match: {threshold: 0.85, id: fz}}`."""

    model_config = ConfigDict(extra="forbid")

    name: str
    """Registered metric name."""
    id: str
    """Summary key; defaults to the name."""
    args: dict[str, JsonValue] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _from_short_forms(cls, data: Any) -> Any:
        if isinstance(data, str):
            return {"name": data, "id": data}
        if isinstance(data, dict) and "name" not in data:
            if len(data) != 1:
                raise ValueError("a metric is a name, or a mapping of one name to its arguments")
            ((name, args),) = data.items()
            if args is None:
                args = {}
            if name == "judge" and isinstance(args, str):  # `- judge: correctness`
                args = {"rubric": args}
            if not isinstance(args, dict):
                raise ValueError(f"the arguments of metric {name!r} must be a mapping")
            args = dict(args)
            default_id = f"judge/{args.get('rubric')}" if name == "judge" else str(name)
            mid = args.pop("id", None) or default_id
            return {"name": name, "id": mid, "args": args}
        if isinstance(data, dict) and "id" not in data:
            return {**data, "id": data["name"]}
        return data


class Threshold(BaseModel):
    """A bound on a metric's mean: `0.8` is a minimum; `{max: 2.0}` an upper bound."""

    model_config = ConfigDict(extra="forbid")

    min: float | None = None
    max: float | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_number(cls, data: Any) -> Any:
        if isinstance(data, (int, float)) and not isinstance(data, bool):
            return {"min": float(data)}
        return data


class EnvironmentSpec(BaseModel):
    """Stateful tools: a Python class instantiated once per sample x repeat, whose methods are tools."""

    model_config = ConfigDict(extra="forbid")

    factory: str
    """`python:<module>:<Class>`; called as `Class(initial_state=<sample's initial_state>, **args)`."""
    args: dict[str, JsonValue] = Field(default_factory=dict)
    max_tool_steps: int = Field(8, ge=1, le=100)
    """For model backends: how many rounds of tool calls the runner executes before giving up."""


class PassIf(BaseModel):
    """When a sample counts as passed in the pytest plugin (with repeats: its share of passing repeats)."""

    model_config = ConfigDict(extra="forbid")

    min_pass_rate: float = Field(default=1.0, ge=0, le=1)
    """A sample passes when at least this share of its repeats pass every metric with a pass rule."""


class GatesSpec(BaseModel):
    """What makes `agenteval compare` (and the pytest regression gate) fail for this suite."""

    model_config = ConfigDict(extra="forbid")

    fail_on: Literal["regression"] | None = None
    """`regression`: fail when any metric is significantly worse than the baseline."""
    max_drop: dict[str, float] = Field(default_factory=dict)
    """Metric id -> the largest allowed drop of its mean, e.g. `{exact_match: 0.02}`."""


class Script(BaseModel):
    """What `stub:scripted` answers for a sample."""

    model_config = ConfigDict(extra="forbid")

    output: str = ""
    tool_calls: list[ToolCall] = Field(default_factory=list)
    turns: list[str] | None = None
    """Answers per user turn, for multi-turn samples."""


class Sample(BaseModel):
    """One case of a suite."""

    model_config = ConfigDict(extra="forbid")

    id: NumberAsStr | None = None
    """Stable id; defaults to a prefix of the content hash."""
    vars: dict[str, JsonValue] = Field(default_factory=dict)
    """Variables for the suite's `prompt` template."""
    input: str | None = None
    """The user message, when there is no template."""
    messages: list[Message] | None = None
    """A whole conversation; the model answers after the last message."""
    turns: list[str] | None = None
    """Several user turns; the backend answers each in turn, seeing its own earlier answers."""
    expected: JsonValue = None
    """The expected answer, or a list of acceptable answers."""
    expected_trajectory: list[ExpectedToolCall] | None = None
    tags: list[str] = Field(default_factory=list)
    metadata: dict[str, JsonValue] = Field(default_factory=dict)
    script: Script | None = None
    initial_state: dict[str, JsonValue] | None = None
    """State the suite's environment starts from for this sample (passed as `initial_state=`)."""
    expected_state: dict[str, JsonValue] | None = None
    """State the environment must be in after the run (checked by `end_state_match`)."""

    @model_validator(mode="after")
    def _one_input(self) -> Sample:
        if (self.input is not None) + (self.messages is not None) + (self.turns is not None) > 1:
            given = [n for n in ("input", "messages", "turns") if getattr(self, n) is not None]
            raise ValueError(f"give only one of input, messages, turns (got {', '.join(given)})")
        return self

    @property
    def acceptable(self) -> list[JsonValue]:
        """The acceptable answers: `expected` itself, or each item of it when it is a list."""
        if self.expected is None:
            return []
        if isinstance(self.expected, list):
            return list(self.expected)
        return [self.expected]


class SampleSource(BaseModel):
    """Samples read from a data file or a local Hugging Face dataset, with a field mapping."""

    model_config = ConfigDict(extra="forbid")

    file: str | None = None
    """A .jsonl, .json, .csv or .parquet file, relative to the suite file."""
    dataset: str | None = None
    """A local Hugging Face dataset: a folder from `save_to_disk`, or data files for `load_dataset`."""
    split: str | None = None
    """Split of a dataset (default: the only one, else `train`)."""
    fields: dict[str, str] = Field(default_factory=dict)
    """Sample field -> column name, e.g. `{input: question, expected: answer}`."""
    input_field: str | None = None
    expected_field: str | None = None
    id_field: str | None = None
    tags: list[str] = Field(default_factory=list)
    """Tags added to every sample from this source."""

    @model_validator(mode="after")
    def _one_source(self) -> SampleSource:
        if (self.file is None) == (self.dataset is None):
            raise ValueError("a sample source needs exactly one of `file` or `dataset`")
        return self

    def mapping(self) -> dict[str, str]:
        m = dict(self.fields)
        for field, col in (("input", self.input_field), ("expected", self.expected_field),
                           ("id", self.id_field)):
            if col is not None:
                m[field] = col
        return m


def _sample_kind(v: Any) -> str:
    if isinstance(v, dict) and ("file" in v or "dataset" in v):
        return "source"
    if isinstance(v, SampleSource):
        return "source"
    return "sample"


SampleItem = Annotated[
    Annotated[Sample, Tag("sample")] | Annotated[SampleSource, Tag("source")],
    Discriminator(_sample_kind),
]
"""An inline sample, or a source of samples (`file:` / `dataset:`)."""


class SuiteFile(BaseModel):
    """A suite as written on disk (samples not yet expanded from their files)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    version: NumberAsStr = "1"
    description: str = ""
    task: TaskKind | None = None
    backend: BackendConfig | None = None
    system: str | None = None
    prompt: str | None = None
    """Sandboxed Jinja2 template over each sample's vars (and `input`)."""
    tools: list[ToolSpec] = Field(default_factory=list)
    environment: EnvironmentSpec | None = None
    """Stateful Python tools the agent really calls (see EnvironmentSpec)."""
    output_schema: dict[str, JsonValue] | None = None
    """JSON Schema the answer must satisfy (used by the json_schema metric)."""
    labels: list[str] | None = None
    """The closed set of labels a classification answer is parsed to (used by the label_match metric)."""
    metrics: list[MetricSpec] | None = None
    """The metrics; when absent, the `task:` preset's (or `exact_match` without a task)."""
    add_metrics: list[MetricSpec] = Field(default_factory=list)
    """Metrics added to the preset's (or to `metrics`)."""
    remove_metrics: list[str] = Field(default_factory=list)
    """Metric ids removed from the preset's."""
    pass_if: PassIf = Field(default_factory=lambda: PassIf())
    gates: GatesSpec | None = None
    thresholds: dict[str, Threshold] = Field(default_factory=dict)
    slice_by: list[str] = Field(default_factory=list)
    """Break every metric down by these sample fields: `tags`, or a `metadata` key (dotted for nested
    keys), as `--slice-by` does."""
    samples: list[SampleItem] = Field(default_factory=list)

    @field_validator("task", mode="before")
    @classmethod
    def _task_alias(cls, v: Any) -> Any:
        aliases = {"recommendation": "ranking", "summarization": "generation", "agent": "tool_use",
                   "tool-use": "tool_use"}
        return aliases.get(v, v) if isinstance(v, str) else v


class ResolvedSample(Sample):
    """A sample after loading: it has an id, a content hash and the place it came from."""

    # Built from JSON each time a SampleList is read: caching only keys keeps pydantic's string cache
    # from holding (and scattering in memory) the text of thousands of samples.
    model_config = ConfigDict(extra="forbid", cache_strings="keys")

    id: NumberAsStr
    hash: str
    """sha256 over the sample's content (everything but id, tags and metadata)."""
    origin: str
    """`file:line` where the sample was defined."""


class Suite(BaseModel):
    """A loaded suite: the file's settings plus every sample expanded and hashed."""

    model_config = ConfigDict(extra="forbid")

    path: str
    name: str
    version: str
    description: str = ""
    task: TaskKind | None = None
    backend: BackendConfig | None = None
    system: str | None = None
    prompt: str | None = None
    tools: list[ToolSpec] = Field(default_factory=list)
    environment: EnvironmentSpec | None = None
    """Stateful Python tools the agent really calls (see EnvironmentSpec)."""
    output_schema: dict[str, JsonValue] | None = None
    labels: list[str] | None = None
    """The closed set of labels a classification answer is parsed to (used by the label_match metric)."""
    metrics: list[MetricSpec]
    pass_if: PassIf = Field(default_factory=lambda: PassIf())
    gates: GatesSpec | None = None
    thresholds: dict[str, Threshold] = Field(default_factory=dict)
    slice_by: list[str] = Field(default_factory=list)
    samples: Annotated[Sequence[ResolvedSample], CompactSamples()]
    """Every sample, expanded from its file and hashed: a `SampleList` (compact, read-only) when loaded."""
    content_hash: str
    """sha256 over the suite's settings and every sample hash."""
