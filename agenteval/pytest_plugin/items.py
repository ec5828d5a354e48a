"""Suite files as pytest items: one item per sample, one for the suite's thresholds, one for the gate.

All selected samples of a suite run in ONE runner call (one event loop, the runner's concurrency) the
first time one of its items runs; every item then reads its own result. Under pytest-xdist the plugin
switches `--dist load` to `loadfile`, so a suite's items share a worker and nothing is counted twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from ..runner import RunOutcome
    from ..schema import ResolvedSample, SampleResult, Suite
    from ..schema.compare import Comparison

__all__ = ["AgentEvalFailure", "SuiteFile", "SampleItem", "ThresholdItem", "GateItem", "SuiteRunState",
           "runs_key"]


class AgentEvalFailure(Exception):
    """An evaluation item failed; its message is the whole explanation shown by pytest."""


@dataclass
class SuiteRunState:
    outcome: RunOutcome | None = None
    error: str | None = None
    results: dict[str, list[SampleResult]] = field(default_factory=dict)
    comparison: Comparison | None = None


runs_key = pytest.StashKey[dict[str, SuiteRunState]]()


class SuiteFile(pytest.File):
    """A suite file collected as tests."""

    suite: Suite

    def collect(self) -> Iterator[pytest.Item]:
        from ..errors import ConfigError
        from ..suite import check_suite, load_suite

        try:
            self.suite = load_suite(self.path)
            check_suite(self.suite)
        except ConfigError as exc:
            raise self.CollectError(f"agenteval: {exc}") from None
        from .options import read_options

        items: list[pytest.Item] = [SampleItem.from_parent(self, name=s.id, sample=s) for s in self.suite.samples]
        if self.suite.thresholds:
            items.append(ThresholdItem.from_parent(self, name="[thresholds]"))
        if read_options(self.config).baseline:
            items.append(GateItem.from_parent(self, name="[regression-gate]"))
        yield from items

    def run_state(self) -> SuiteRunState:
        """Run the selected samples of this suite once per session (per xdist worker) and remember it."""
        runs = self.config.stash.setdefault(runs_key, {})
        key = str(self.path)
        if key in runs:
            return runs[key]
        state = SuiteRunState()
        runs[key] = state
        from ..errors import AgentEvalError
        from ..runner import RunOptions, run_suite
        from .options import read_options

        opts = read_options(self.config)
        selected = {it.name for it in self.session.items if isinstance(it, SampleItem) and it.parent is self}
        subset = self.suite.model_copy(update={"samples": [s for s in self.suite.samples if s.id in selected]})
        run_opts = RunOptions(results_root=opts.out, backend_spec=opts.backend, concurrency=opts.concurrency,
                              repeat=opts.repeat, use_cache=not opts.no_cache, progress=False,
                              labels={"source": "pytest"})
        try:
            state.outcome = asyncio.run(run_suite(subset, run_opts))
        except AgentEvalError as exc:
            state.error = str(exc)
            return state
        except Exception as exc:  # every item of the suite reports it, not just the first
            state.error = f"{type(exc).__name__}: {exc}"
            return state
        for r in state.outcome.run_dir.iter_results():
            state.results.setdefault(r.sample_id, []).append(r)
        return state


def _short(value: Any, limit: int = 300, *, quote: bool = False) -> str:
    text = repr(value) if quote or not isinstance(value, str) else value
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _Base(pytest.Item):
    parent: SuiteFile

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, AgentEvalFailure):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo, style=style))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"{self.parent.suite.name}::{self.name}"

    def _state(self) -> SuiteRunState:
        state = self.parent.run_state()
        if state.error is not None:
            raise AgentEvalFailure(f"the suite could not run: {state.error}")
        return state


class SampleItem(_Base):
    """One sample: passes when its share of passing repeats reaches the suite's `pass_if.min_pass_rate`."""

    def __init__(self, *, sample: ResolvedSample, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sample = sample

    def runtest(self) -> None:
        state = self._state()
        results = state.results.get(self.sample.id, [])
        if not results:
            raise AgentEvalFailure(f"no result for sample {self.sample.id!r}")
        verdicts: list[bool] = []
        problems: list[str] = []
        metric_values: dict[str, list[float]] = {}
        for r in results:
            if r.error is not None:
                verdicts.append(False)
                problems.append(f"repeat {r.repeat}: backend error: {r.error}")
                continue
            ok = True
            for mid, score in r.scores.items():
                if score.value is not None:
                    metric_values.setdefault(mid, []).append(score.value)
                if score.passed is False:
                    ok = False
                    problems.append(f"repeat {r.repeat}: {mid} = {score.value:.3f} failed"
                                    f" — {_short(score.reason, 200)}")
            verdicts.append(ok)
        rate = sum(verdicts) / len(verdicts)
        for mid, vals in metric_values.items():
            self.user_properties.append((f"agenteval:{mid}", round(sum(vals) / len(vals), 6)))
        self.user_properties.append(("agenteval:pass_rate", rate))
        flaky = 0 < rate < 1
        if flaky:
            self.user_properties.append(("agenteval:flaky", True))
        self.user_properties.append(("agenteval:suite", self.parent.suite.name))
        needed = self.parent.suite.pass_if.min_pass_rate
        if rate + 1e-12 < needed:
            first = results[0]
            lines = [f"sample {self.sample.id!r} of suite {self.parent.suite.name!r}: pass rate {rate:.2f} "
                     f"< required {needed:.2f}" + (" (FLAKY: passes in some repeats, fails in others)"
                                                   if flaky else ""),
                     f"  input:    {_short(first.input, quote=True)}",
                     f"  answer:   {_short(first.output, quote=True)}",
                     f"  expected: {_short(first.expected, quote=True)}"]
            lines += [f"  {p}" for p in problems[:10]]
            if state.outcome is not None:
                lines.append(f"  run: {state.outcome.run_dir.path}")
            raise AgentEvalFailure("\n".join(lines))


class ThresholdItem(_Base):
    """The suite's thresholds over the samples that ran."""

    def runtest(self) -> None:
        state = self._state()
        assert state.outcome is not None
        summary = state.outcome.summary
        failed = []
        for key, th in summary.thresholds.items():
            value = "unmeasured" if th.value is None else f"{th.value:.3f}"
            self.user_properties.append((f"agenteval:threshold:{key}", th.value))
            if not th.passed:
                m = summary.metrics.get(key.split(":")[0])
                ci = f" (95% CI {m.ci_low:.3f}–{m.ci_high:.3f}, n={m.n})" if m and m.ci_low is not None else ""
                failed.append(f"  {key}: mean {value}{ci} {'<' if th.kind == 'min' else '>'} {th.threshold:g}")
        self.user_properties.append(("agenteval:run_dir", str(state.outcome.run_dir.path)))
        if failed:
            raise AgentEvalFailure(f"suite {self.parent.suite.name!r}: thresholds failed\n" + "\n".join(failed)
                                   + f"\n  run: {state.outcome.run_dir.path}")


class GateItem(_Base):
    """Compares the suite's run with `--agenteval-baseline` and fails when a gate fails."""

    def runtest(self) -> None:
        from ..analysis.compare import Gates, apply_gates, compare_runs
        from ..errors import ConfigError
        from ..store import load_run
        from .options import read_options

        state = self._state()
        assert state.outcome is not None
        opts = read_options(self.config)
        assert opts.baseline is not None
        suite = self.parent.suite
        baseline = None
        for ref in (opts.baseline, f"{opts.baseline}-{suite.name}"):
            try:
                candidate_base = load_run(ref, opts.out, opts.baselines)
            except ConfigError:
                continue
            if candidate_base.manifest.suite.name == suite.name:
                baseline = candidate_base
                break
        if baseline is None:
            raise AgentEvalFailure(f"no baseline {opts.baseline!r} for suite {suite.name!r} (looked for "
                                   f"{opts.baseline} and {opts.baseline}-{suite.name} in {opts.baselines})")
        current = load_run(str(state.outcome.run_dir.path), opts.out, opts.baselines)
        cmp = compare_runs(baseline, current)
        gates = Gates(fail_on_regression=True)
        if suite.gates is not None:
            gates = Gates(fail_on_regression=suite.gates.fail_on == "regression", max_drop=dict(suite.gates.max_drop))
        cmp = apply_gates(cmp, gates)
        state.comparison = cmp
        lines = [f"suite {suite.name!r} vs baseline {opts.baseline!r} ({baseline.manifest.run_id}):"]
        for m in cmp.metrics:
            delta = "—" if m.delta is None else f"{m.delta:+.3f}"
            p = "—" if m.p_value is None else f"{m.p_value:.3g}"
            lines.append(f"  {m.metric}: {delta} (p={p}, n={m.n_pairs}) {m.verdict}")
            self.user_properties.append((f"agenteval:delta:{m.metric}", m.delta))
        if cmp.problems:
            raise AgentEvalFailure("\n".join([*lines, "  not comparable: " + "; ".join(cmp.problems)]))
        newly = [c for c in cmp.cases if c.kind == "newly failing"]
        if not cmp.passed:
            lines += [f"  gate {g.gate}: FAIL — {g.reason}" for g in cmp.gates if not g.passed]
            lines += [f"  newly failing: {c.sample_id} ({c.metric})" for c in newly[:10]]
            raise AgentEvalFailure("\n".join(lines))
