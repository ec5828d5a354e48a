"""`judge`: the LLM-as-judge metric. In a suite: `- judge: correctness` (summary key `judge/correctness`)
or `- judge: {rubric: helpfulness, model: litellm:openai/gpt-4o, samples: 3}`.

The value is in [0, 1]: pointwise scale rubrics give (score - min) / (max - min), label rubrics the
label's value, pairwise rubrics 1 when the answer beats the baseline in both orders, 0 when it loses
in both, 0.5 for a tie or when the two orders disagree. `passed` follows the rubric's pass rule; the
reason is the judge's reasoning; details hold the raw verdict, votes, spread, swaps and models.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field, JsonValue, PrivateAttr, model_validator

from ..errors import ConfigError
from ..metrics.base import MetricBase, MetricEnv, ScoreContext, unmeasured
from ..schema import Score
from ..schema.rubric import Rubric
from ..tracecache import ResponseCache
from .aggregate import Aggregate
from .budget import run_budget
from .inputs import gather_inputs
from .judge import Judge, JudgeModel
from .rubrics import load_rubric

__all__ = ["JudgeMetric"]


class _JudgeVersion:
    """`JudgeMetric.version`: on an instance, the rubric's version and the first 12 hex digits of its
    content hash (e.g. `1+3f9a0c1b2d4e`), which is what a run records; on the class, the version of the
    judge metric's own code (what `agenteval list metrics` shows)."""

    CODE_VERSION = "1"

    def __get__(self, obj: JudgeMetric | None, owner: type | None = None) -> str:
        if obj is None:
            return self.CODE_VERSION
        rubric = obj.loaded_rubric
        return f"{rubric.version}+{rubric.content_hash[:12]}"


class JudgeMetric(MetricBase):
    """LLM-as-judge: rates answers with a rubric from judges/<name>.yaml (pointwise or pairwise)."""

    name: ClassVar[str] = "judge"

    rubric: str
    """A rubric name (`correctness`: judges/correctness.yaml) or a path to a rubric file."""
    model: str | None = None
    """The judge model (a backend spec); default: the rubric's. `--judge-model` overrides it."""
    models: list[str] | None = None
    """An ensemble: several judge models on this rubric, combined by `aggregate`."""
    aggregate: Aggregate = "mean"
    """How votes combine (self-consistency samples, then ensemble models): `mean` or `majority`."""
    samples: int = Field(1, ge=1, le=25)
    """Self-consistency: ask each model this many times (distinct seeds). Use a temperature > 0."""
    max_spread: float = Field(0.25, ge=0, le=1)
    """Votes whose values differ by more than this (on the [0, 1] scale) are flagged `high_spread`."""
    json_mode: bool = False
    """Ask for a JSON object through the backend's JSON mode (litellm / openai backends)."""
    reasks: int = Field(2, ge=0, le=5)
    """How often an unusable answer (malformed, off the scale, cut off) is asked again."""
    max_cost_usd: float | None = Field(None, gt=0)
    """Judge budget: once the run's judges have spent this much, further scores are unmeasured."""
    baseline_run: str | None = None
    """Pairwise: a run id, run folder or baseline name whose answers (by sample id) are the baseline;
    otherwise each sample's `metadata.baseline`."""
    options: dict[str, JsonValue] = Field(default_factory=dict)
    """Judge backend options (temperature, max_tokens, api_base, ...) over the rubric's."""
    suite_dir: str | None = None
    """The folder whose `judges/` is searched first for the rubric (the suite's folder)."""

    _rubric: Rubric = PrivateAttr()
    _rubric_path: Path = PrivateAttr()
    _env: MetricEnv | None = PrivateAttr(default=None)
    _judge: Judge | None = PrivateAttr(default=None)
    _cache: ResponseCache | None = PrivateAttr(default=None)
    _baselines: dict[tuple[str, int], str] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _one_model_field(self) -> JudgeMetric:
        if self.model is not None and self.models is not None:
            raise ValueError("give `model` or `models` (an ensemble), not both")
        if self.models is not None:
            if not self.models:
                raise ValueError("`models` needs at least one judge model")
            if len(set(self.models)) != len(self.models):
                raise ValueError("`models` lists the same judge model twice")
        return self

    def model_post_init(self, context: Any, /) -> None:
        self._rubric, self._rubric_path = load_rubric(self.rubric, self.suite_dir)

    # -- what the manifest records ---------------------------------------------------------------

    @property
    def loaded_rubric(self) -> Rubric:
        return self._rubric

    @property
    def rubric_path(self) -> Path:
        return self._rubric_path

    version = _JudgeVersion()

    def model_specs(self) -> list[str]:
        """The judge models in effect: `--judge-model` once started with one, else the metric's, else
        the rubric's."""
        if self._env is not None and self._env.judge_model:
            return [self._env.judge_model]
        if self.models:
            return list(self.models)
        spec = self.model or self._rubric.model
        return [spec] if spec else []

    @property
    def judge_model_spec(self) -> str | None:
        """The effective judge model (comma-separated for an ensemble)."""
        specs = self.model_specs()
        return ",".join(specs) if specs else None

    # -- AsyncMetric -----------------------------------------------------------------------------

    async def start(self, env: MetricEnv) -> None:
        self._env = env
        specs = self.model_specs()
        if not specs:
            raise ConfigError(f"no judge model for rubric {self._rubric.name!r}", field="metrics.judge.model",
                              hint="give `model:` in the metric or the rubric, or run with --judge-model")
        options = {**self._rubric.options, **self.options, **env.judge_options}
        self._cache = ResponseCache(env.results_root / "judge_cache.sqlite") if env.use_cache else None
        budget = run_budget(env)
        models = [JudgeModel(spec, options, self._rubric, env, cache=self._cache, budget=budget,
                             max_cost_usd=self.max_cost_usd, reasks=self.reasks, json_mode=self.json_mode)
                  for spec in specs]
        self._judge = Judge(self._rubric, models, samples=self.samples, aggregate=self.aggregate,
                            max_spread=self.max_spread)
        if self._rubric.mode == "pairwise" and self.baseline_run is not None:
            self._baselines = _baseline_outputs(self.baseline_run, env.results_root)

    async def stop(self) -> None:
        judge, self._judge = self._judge, None
        if judge is not None:
            await judge.aclose()
        cache, self._cache = self._cache, None
        if cache is not None:
            cache.close()

    async def ascore(self, ctx: ScoreContext) -> Score:
        if self._judge is None:
            return unmeasured("the judge was not started (the runner calls start(env) before scoring)")
        r = self._rubric
        baseline = None
        if r.mode == "pairwise":
            baseline = self._baseline_for(ctx)
            if baseline is None:
                return unmeasured(f"no baseline answer for sample {ctx.sample.id!r} (give the metric "
                                  "`baseline_run`, or the sample `metadata.baseline`)")
        inputs = gather_inputs(ctx, baseline)
        if r.requires_reference and inputs.reference is None:
            return unmeasured(f"rubric {r.name!r} needs a reference answer: the sample has no `expected`")
        if "context" in r.shown_inputs and inputs.context is None:
            return unmeasured(f"rubric {r.name!r} needs context: give the sample `metadata.context` "
                              "(or a `context` var)")
        return await self._judge.score(inputs)

    def score(self, ctx: ScoreContext) -> Score:
        return unmeasured("the judge metric is asynchronous: it is scored through ascore by the runner")

    def _baseline_for(self, ctx: ScoreContext) -> str | None:
        sid = ctx.sample.id
        if self.baseline_run is not None:
            return self._baselines.get((sid, ctx.repeat), self._baselines.get((sid, 0)))
        value = ctx.sample.metadata.get("baseline")
        return value if isinstance(value, str) else None


def _baseline_outputs(ref: str, results_root: Path) -> dict[tuple[str, int], str]:
    """Answers of a baseline run (or named baseline) by (sample id, repeat)."""
    from ..store import baselines_dir, load_run

    run = load_run(ref, results_root, baselines_dir(None))
    return {(r.sample_id, r.repeat): r.output for r in run.results if r.output is not None}
