"""Asking judges: one model with re-asks and its cache (`JudgeModel`), and a rubric's whole verdict over
self-consistency samples, position swaps and an ensemble of models (`Judge`).

Rules:
- Each call goes through the run's retry policy (`MetricEnv.retry`) and, unless `--no-cache`, through
  `<results>/judge_cache.sqlite`, keyed by the judge model spec and options, the messages (the inputs),
  the seed, and the rubric's content hash, version and the sample index.
- An unusable answer (empty, cut off, malformed, off the scale) is re-asked up to `reasks` times with
  the reason; after that the vote is lost, with its raw text kept. With no vote left the score is
  unmeasured with the reason and the raw answer: never a 0, never NaN, never a crash.
- `samples: n` asks n times with seeds base, base+1, ...; pairwise asks each sample in both orders.
- Calls run one after another inside the metric's `ascore`, so the runner's concurrency bounds them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import JsonValue

from ..backends.base import Backend, BackendRequest
from ..backends.spec import make_backend, parse_spec
from ..errors import BackendError
from ..metrics.base import MetricEnv
from ..schema import Message, Score, Trace, Usage
from ..schema.rubric import Rubric, Winner
from ..tracecache import ResponseCache, cache_key
from .aggregate import Aggregate, Vote, VoteSummary, combine, outcome_vote, swap_outcome
from .budget import BudgetExhausted, JudgeBudget
from .inputs import JudgeInputs
from .parse import ParseFailure, Verdict, parse_verdict
from .prompt import build_messages, reask_message

__all__ = ["Asked", "Judge", "JudgeModel", "Tally"]

_JSON_MODE_KINDS = frozenset({"litellm", "openai"})
_MAX_RAW = 2000
_MAX_REASON = 500


@dataclass
class Tally:
    """What one score's judge calls cost and how they went."""

    usage: Usage | None = None
    calls: int = 0
    cached: int = 0
    reasks: int = 0

    def add(self, trace: Trace, cached: bool) -> None:
        self.calls += 1
        if cached:
            self.cached += 1
        else:
            self.usage = trace.usage if self.usage is None else self.usage.add(trace.usage)


@dataclass(frozen=True)
class Asked:
    """One verdict request, after re-asks: a verdict, or why none (with the last raw answer)."""

    verdict: Verdict | None
    raw: str
    failure: str | None = None


class JudgeModel:
    """One judge model: its backend, options, cache and the run's budget."""

    def __init__(self, spec: str, options: dict[str, JsonValue], rubric: Rubric, env: MetricEnv, *,
                 cache: ResponseCache | None, budget: JudgeBudget, max_cost_usd: float | None,
                 reasks: int, json_mode: bool) -> None:
        opts = dict(options)
        if json_mode and parse_spec(spec)[0] in _JSON_MODE_KINDS:
            opts.setdefault("response_format", {"type": "json_object"})
        seed = opts.get("seed")
        self.base_seed = seed if isinstance(seed, int) and not isinstance(seed, bool) else 0
        self.spec = spec
        self.options = opts
        self.rubric = rubric
        self.env = env
        self.cache = cache
        self.budget = budget
        self.max_cost_usd = max_cost_usd
        self.reasks = reasks
        self.backend: Backend = make_backend(spec, opts)

    async def _call(self, messages: list[Message], sample_index: int, tally: Tally) -> Trace:
        request = BackendRequest(messages=messages, seed=self.base_seed + sample_index)
        key = None
        if self.cache is not None:
            extra: dict[str, JsonValue] = {"rubric_hash": self.rubric.content_hash,
                                           "rubric_version": self.rubric.version, "sample": sample_index}
            key = cache_key(self.spec, self.options, request, extra=extra)
            hit = self.cache.get(key)
            if hit is not None:
                tally.add(hit, cached=True)
                return hit
        self.budget.ensure(self.max_cost_usd)
        result, _ = await self.env.retry(lambda: self.backend.call(request))
        trace: Trace = result
        self.budget.charge(trace.usage)
        tally.add(trace, cached=False)
        if self.cache is not None and key is not None:
            self.cache.put(key, trace)
        return trace

    async def ask(self, messages: list[Message], sample_index: int, tally: Tally) -> Asked:
        """A verdict for these messages, re-asking up to `reasks` times. Raises BudgetExhausted."""
        conversation = list(messages)
        failure: ParseFailure | None = None
        text = ""
        for attempt in range(self.reasks + 1):
            if attempt:
                tally.reasks += 1
            try:
                trace = await self._call(conversation, sample_index, tally)
            except BackendError as exc:
                return Asked(verdict=None, raw=text, failure=f"judge call failed: {exc}")
            text = trace.output
            parsed = parse_verdict(text, self.rubric, trace.finish_reason)
            if isinstance(parsed, Verdict):
                return Asked(verdict=parsed, raw=text)
            failure = parsed
            conversation = [*conversation, Message(role="assistant", content=text),
                            reask_message(parsed.reason, self.rubric)]
        assert failure is not None
        tries = self.reasks + 1
        return Asked(verdict=None, raw=text,
                     failure=f"judge answer unusable after {tries} tr{'y' if tries == 1 else 'ies'}: "
                             f"{failure.reason}")

    async def aclose(self) -> None:
        await self.backend.aclose()


@dataclass
class _ModelVotes:
    spec: str
    votes: list[Vote] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    raw: list[str] = field(default_factory=list)
    """Raw text of the answers that could not be used."""
    swaps: list[JsonValue] = field(default_factory=list)
    inconsistent: int = 0


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


class Judge:
    """A rubric's verdict on one answer, from one model or an ensemble."""

    def __init__(self, rubric: Rubric, models: list[JudgeModel], *, samples: int, aggregate: Aggregate,
                 max_spread: float) -> None:
        self.rubric = rubric
        self.models = models
        self.samples = samples
        self.aggregate = aggregate
        self.max_spread = max_spread

    async def _votes(self, model: JudgeModel, inputs: JudgeInputs, tally: Tally) -> _ModelVotes:
        out = _ModelVotes(spec=model.spec)
        pairwise = self.rubric.mode == "pairwise"
        for k in range(self.samples):
            first = await model.ask(build_messages(self.rubric, inputs), k, tally)
            if not pairwise:
                if first.verdict is not None:
                    out.votes.append(Vote(first.verdict.raw, first.verdict.value, first.verdict.reasoning))
                else:
                    out.failures.append(first.failure or "no verdict")
                    out.raw.append(first.raw)
                continue
            second = await model.ask(build_messages(self.rubric, inputs, swap=True), k, tally)
            lost = [a for a in (first, second) if a.verdict is None]
            if lost:
                out.failures += [a.failure or "no verdict" for a in lost]
                out.raw += [a.raw for a in lost]
                continue
            assert first.verdict is not None and second.verdict is not None
            a_first, a_second = _winner(first.verdict), _winner(second.verdict)
            outcome, consistent = swap_outcome(a_first, a_second)
            out.votes.append(outcome_vote(outcome, first.verdict.reasoning))
            out.inconsistent += not consistent
            out.swaps.append({"model": model.spec, "sample": k, "candidate_first": a_first,
                              "baseline_first": a_second, "outcome": outcome, "consistent": consistent})
        return out

    async def score(self, inputs: JudgeInputs) -> Score:
        tally = Tally()
        per_model: list[_ModelVotes] = []
        try:
            for model in self.models:
                per_model.append(await self._votes(model, inputs, tally))
        except BudgetExhausted:
            reason = "judge budget exhausted"
            return Score(value=None, passed=None, reason=reason, error=reason, usage=tally.usage,
                         details=self._base_details(tally))
        return self._verdict(per_model, tally)

    def _base_details(self, tally: Tally) -> dict[str, JsonValue]:
        return {"rubric": self.rubric.name, "rubric_version": self.rubric.version, "mode": self.rubric.mode,
                "calls": tally.calls, "cached": tally.cached, "reasks": tally.reasks}

    def _verdict(self, per_model: list[_ModelVotes], tally: Tally) -> Score:
        details = self._base_details(tally)
        failures = [f for m in per_model for f in m.failures]
        if failures:
            details["failures"] = list(failures)
        voted = [m for m in per_model if m.votes]
        if not voted:
            raw = next((r for m in per_model for r in reversed(m.raw) if r), "")
            details["raw"] = raw[:_MAX_RAW]
            reason = failures[-1] if failures else "the judge gave no verdict"
            return Score(value=None, passed=None, reason=reason, error=reason, usage=tally.usage,
                         details=details)
        summaries = {m.spec: combine(m.votes, self.aggregate) for m in voted}
        if len(voted) == 1:
            final = summaries[voted[0].spec]
        else:
            final = combine([Vote(raw=_model_raw(s, self.aggregate), value=s.value, reasoning="")
                             for s in summaries.values()], self.aggregate)
        all_votes = [v for m in voted for v in m.votes]
        overall = combine(all_votes, self.aggregate)
        value = final.value
        details.update(self._headline(value, overall))
        details.update({
            "votes": [v.raw for v in all_votes], "mean": round(overall.mean, 6), "majority": overall.majority,
            "spread": round(overall.spread, 6), "high_spread": overall.spread > self.max_spread + 1e-9,
            "models": {m.spec: _model_details(m, summaries.get(m.spec)) for m in per_model},
        })
        if self.rubric.mode == "pairwise":
            swaps = [s for m in per_model for s in m.swaps]
            n_bad = sum(m.inconsistent for m in per_model)
            details["swaps"] = swaps
            details["swap_inconsistent"] = n_bad / len(swaps) if swaps else None
        threshold = self.rubric.pass_threshold
        passed = None if threshold is None else value >= threshold - 1e-9
        closest = min(all_votes, key=lambda v: abs(v.value - value))
        return Score(value=value, passed=passed, reason=_shorten(closest.reasoning, _MAX_REASON),
                     usage=tally.usage, details=details)

    def _headline(self, value: float, overall: VoteSummary) -> dict[str, JsonValue]:
        """The verdict in the rubric's own terms: a score on its scale, a label, or an outcome."""
        r = self.rubric
        if r.mode == "pairwise":
            return {"outcome": "win" if value > 0.5 + 1e-9 else "loss" if value < 0.5 - 1e-9 else "tie"}
        if r.scale is not None:
            return {"score": round(r.denormalise(value), 6)}
        return {"label": overall.majority}

    async def aclose(self) -> None:
        for m in self.models:
            await m.aclose()


def _winner(v: Verdict) -> Winner:
    return "A" if v.raw == "A" else "B" if v.raw == "B" else "tie"


def _model_raw(s: VoteSummary, how: Aggregate) -> int | str:
    """A model's vote in an ensemble: its majority verdict under `majority` (else its value)."""
    if how == "majority" and s.majority is not None:
        return s.majority
    return f"{s.value:.6f}"


def _model_details(m: _ModelVotes, s: VoteSummary | None) -> dict[str, JsonValue]:
    d: dict[str, JsonValue] = {"votes": [v.raw for v in m.votes]}
    if s is not None:
        d.update({"value": round(s.value, 6), "mean": round(s.mean, 6), "majority": s.majority,
                  "spread": round(s.spread, 6)})
    if m.failures:
        d["failures"] = list(m.failures)
    return d
