"""The runner: the only place with concurrency.

A bounded pool of workers takes (sample, repeat) tasks in order, asks the backend (through the
response cache and the retry policy), scores the answer with every metric, and appends the result to
`samples.jsonl` as soon as it is done. `resume` skips tasks whose result is already on disk.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from itertools import islice
from pathlib import Path
from typing import cast

from pydantic import JsonValue

from ..analysis.summary import Summarizer, summarize
from ..backends.base import Backend, BackendRequest, redact
from ..backends.spec import make_backend
from ..errors import BackendError, ConfigError
from ..metrics.base import AsyncMetric, Metric, MetricEnv, ScoreContext, unmeasured
from ..metrics.corpus import corpus_aggregate
from ..metrics.factory import metric_ref
from ..schema import (
    BackendRef,
    Message,
    ResolvedSample,
    RunManifest,
    RunSettings,
    RunSummary,
    SampleResult,
    Score,
    Suite,
    SuiteRef,
    ToolCall,
    Trace,
    Turn,
    Usage,
)
from ..schema.hashes import SampleHashes
from ..schema.sample_list import sample_ids
from ..slicing import check_slice_keys, merge_slice_keys
from ..store.rundir import RunDir, new_run_id, utc_now
from ..suite.check import check_suite
from ..suite.templating import render_request
from ..tools import Toolbox, ToolboxFactory, ToolError
from ..tracecache import ResponseCache, cache_key, request_key
from .progress import RunProgress
from .retry import RetryPolicy, with_retries

__all__ = ["RunOptions", "RunOutcome", "run_suite", "select_samples"]


@dataclass
class RunOptions:
    """How to run a suite. `backend_spec=None` takes the suite's own backend."""

    results_root: Path
    backend_spec: str | None = None
    backend_options: dict[str, JsonValue] = field(default_factory=dict)
    concurrency: int = 8
    repeat: int = 1
    limit: int | None = None
    shard: tuple[int, int] | None = None
    """(i, n), 1-based: run every n-th sample starting at the i-th."""
    resume: str | None = None
    use_cache: bool = True
    labels: dict[str, str] = field(default_factory=dict)
    progress: bool | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    judge_model: str | None = None
    """Overrides every judge's model (`--judge-model`)."""
    judge_options: dict[str, JsonValue] = field(default_factory=dict)
    slice_by: list[str] = field(default_factory=list)
    """Keys to break the metrics down by (`--slice-by`), besides the suite's own `slice_by`."""
    on_start: Callable[[RunDir], None] | None = None
    """Called once the run folder exists (the CLI uses it to say how to resume after Ctrl-C)."""


@dataclass(repr=False)
class RunOutcome:
    run_dir: RunDir
    manifest: RunManifest
    summary: RunSummary
    n_new: int
    """Results produced in this invocation (the rest were already on disk when resuming)."""

    def __repr__(self) -> str:
        # Short: asyncio.run formats its task's result when it restores the SIGINT handler, and the
        # full repr spells out every sample hash of the manifest (tens of MB at 100,000 samples).
        return (f"RunOutcome(run_id={self.run_dir.run_id!r}, n_new={self.n_new}, "
                f"passed={self.summary.passed})")


def select_samples(suite: Suite, limit: int | None, shard: tuple[int, int] | None) -> Sequence[ResolvedSample]:
    """The samples a run takes: every n-th from the i-th for shard (i, n), then the first `limit`."""
    samples = suite.samples
    if shard is not None:
        i, n = shard
        # A slice of a loaded suite's SampleList stays compact.
        samples = samples[i - 1::n] if 0 < i <= n else [s for k, s in enumerate(samples) if k % n == i - 1]
    if limit is not None:
        samples = samples[:limit]
    return samples


def _git_sha() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=2,
                             check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("agenteval")
    except PackageNotFoundError:
        return "0+unknown"


@dataclass(slots=True)
class _Task:
    """One (sample, repeat) to run, with what `_Worker.prefetch` found out ahead of time."""

    position: int
    """Index in task order."""
    sample: ResolvedSample
    repeat: int
    rendered: tuple[list[Message], list[str]] | None = None
    """`render_request(suite, sample)`, when it rendered."""
    key: str | None = None
    """The response cache key of its (first and only) request, when that request may be cached."""
    hit: Trace | None = None
    """The cached answer to that request."""


PREFETCH = 256
"""Tasks whose cached answers are looked up together (one query instead of one per task)."""


class _Worker:
    """State shared by the worker coroutines of one run."""

    def __init__(self, suite: Suite, backend: Backend, options: dict[str, JsonValue],
                 metrics: list[tuple[str, Metric]], cache: ResponseCache | None, policy: RetryPolicy,
                 run_dir: RunDir, progress: RunProgress, tools: ToolboxFactory) -> None:
        self.suite = suite
        self.tools = tools
        self.backend = backend
        self.options = options
        self.metrics = metrics
        self._scorers = [(mid, metric, _as_async(metric)) for mid, metric in metrics]
        self._all_sync = all(am is None for _, _, am in self._scorers)
        self.cache = cache
        self.policy = policy
        self.run_dir = run_dir
        self.progress = progress
        self.rng = random.Random()
        seed = options.get("seed")
        self.base_seed = seed if isinstance(seed, int) and not isinstance(seed, bool) else None
        self.n_new = 0
        self._last_position = -1
        self.appended_in_order = True
        """Whether every result was appended in task order (then samples.jsonl needs no reordering)."""
        self.summarizer: Summarizer | None = None
        """Fed each result as it is appended, while they come in task order (see `run_suite`)."""

    def prefetch(self, tasks: Iterator[tuple[int, ResolvedSample, int]]) -> Iterator[_Task]:
        """The tasks, each with its request rendered and, for a one-turn sample without tools, its cache
        key and cached answer: looked up `PREFETCH` tasks at a time in one query. A task whose request
        does not render is passed on as it is (running it reports the error)."""
        cache = self.cache
        while True:
            batch = [_Task(*t) for t in islice(tasks, PREFETCH)]
            if not batch:
                return
            keyed: list[tuple[_Task, str, list[Message]]] = []  # (task, its key, its request's messages)
            for task in batch:
                try:
                    task.rendered = rendered = render_request(self.suite, task.sample)
                except Exception:  # run_one renders it again and reports it
                    continue
                if cache is not None and len(rendered[1]) <= 1 and not self.tools.active:
                    # the key of the one request `answer` would make (turn 0, no toolbox)
                    task.key = request_key(self.backend.spec, self.options, rendered[0], self.suite.tools,
                                           seed=self._seed(task.repeat), repeat=task.repeat, turn=0)
                    keyed.append((task, task.key, rendered[0]))
            if cache is not None and keyed:
                hits = cache.get_many([k for _, k, _ in keyed], [m for _, _, m in keyed])
                for task, k, _ in keyed:
                    task.hit = hits.get(k)
            yield from batch

    def _seed(self, repeat: int) -> int | None:
        return None if self.base_seed is None else self.base_seed + repeat

    async def _ask(self, request: BackendRequest, *, use_cache: bool = True,
                   key: str | None = None) -> tuple[Trace, int, bool]:
        """(trace, attempts, cached) for one backend request (`key`: its cache key, when known)."""
        if self.cache is not None and use_cache:
            key = key or cache_key(self.backend.spec, self.options, request)
            hit = self.cache.get(key, request.messages)
            if hit is not None:
                return hit, 0, True
        trace, attempts = await with_retries(lambda: self.backend.call(request), self.policy, self.rng)
        if self.cache is not None and key is not None:
            self.cache.put(key, trace, request.messages)
        return trace, attempts, False

    async def _tool_rounds(self, request: BackendRequest, trace: Trace, toolbox: Toolbox) -> tuple[Trace, int]:
        """Run a model's tool calls against the suite's tools and ask again, until it answers in text.

        Only for backends that return tool calls without running them (plain models). An agent that ran
        its tools through the toolbox (a python backend) is left alone. Returns the turn's combined trace.
        """
        recorded = toolbox.drain()
        if recorded:  # the agent ran the tools itself
            return (trace if trace.tool_calls else trace.model_copy(update={"tool_calls": recorded})), 0
        steps, attempts = 0, 0
        traces = [trace]
        executed: list[ToolCall] = []
        messages = list(request.messages)
        max_steps = self.suite.environment.max_tool_steps if self.suite.environment else 8
        while trace.tool_calls and all(tc.result is None for tc in trace.tool_calls) and steps < max_steps:
            steps += 1
            calls = [tc if tc.id else tc.model_copy(update={"id": f"call_{request.turn}_{steps}_{k}"})
                     for k, tc in enumerate(trace.tool_calls)]
            tool_messages: list[Message] = []
            for tc in calls:
                if tc.error is not None:  # unparsable arguments: tell the model, don't run the tool
                    content = json.dumps({"error": tc.error})
                    executed.append(tc)
                else:
                    try:
                        content = json.dumps(toolbox.call(tc.tool, dict(tc.args), call_id=tc.id))
                    except ToolError as exc:
                        content = json.dumps({"error": str(exc)})
                    executed.extend(toolbox.drain())
                tool_messages.append(Message(role="tool", content=content, tool_call_id=tc.id, name=tc.tool))
            messages = [*messages, Message(role="assistant", content=trace.output, tool_calls=calls),
                        *tool_messages]
            trace, n, _ = await self._ask(BackendRequest(
                messages=messages, tools=request.tools, sample=request.sample, repeat=request.repeat,
                seed=request.seed, turn=request.turn, toolbox=toolbox), use_cache=False)
            attempts += n
            traces.append(trace)
        if not executed:
            return trace, attempts
        combined = _combine(traces, output=trace.output,
                            messages=[*messages, Message(role="assistant", content=trace.output)],
                            tool_calls=executed + list(trace.tool_calls))
        return combined, attempts

    async def answer(self, sample: ResolvedSample, repeat: int,
                     rendered: tuple[list[Message], list[str]] | None = None,
                     key: str | None = None) -> tuple[Trace, int, bool]:
        """Run every user turn of a sample (and tool rounds, with an environment); one combined trace.

        `rendered` is `render_request(suite, sample)` and `key` the first request's cache key, when the
        caller has them already."""
        messages, rendered_turns = rendered if rendered is not None else render_request(self.suite, sample)
        turns: list[str | None] = list(rendered_turns) or [None]
        seed = self._seed(repeat)
        toolbox = self.tools.new(sample) if self.tools.active else None
        total_attempts = 0
        all_cached = True
        per_turn: list[Turn] = []
        traces: list[Trace] = []
        for t, user in enumerate(turns):
            if t > 0 and user is not None:
                messages = [*messages, Message(role="user", content=user)]
            if toolbox is not None:
                toolbox.turn = t
            request = BackendRequest(messages=messages, tools=self.suite.tools, sample=sample, repeat=repeat,
                                     seed=seed, turn=t, toolbox=toolbox)
            # Stateful tools, or a backend that keeps server-side sessions across turns, make answers
            # depend on more than the request: no cache then.
            stateful = toolbox is not None or (len(turns) > 1 and getattr(self.backend, "stateful", False))
            trace, attempts, cached = await self._ask(request, use_cache=not stateful,
                                                      key=key if t == 0 else None)
            if toolbox is not None:
                trace, more = await self._tool_rounds(request, trace, toolbox)
                attempts += more
            total_attempts += attempts
            all_cached = all_cached and cached
            traces.append(trace)
            per_turn.append(Turn(user=user or "", output=trace.output, tool_calls=trace.tool_calls))
            last = trace.messages[-1] if trace.messages else None
            if last is not None and last.role == "assistant" and len(trace.messages) > len(messages):
                messages = list(trace.messages)
            else:
                messages = [*messages, Message(role="assistant", content=trace.output)]
        state = toolbox.snapshot() if toolbox is not None else None
        if len(traces) == 1:
            only = traces[0]
            return (only.model_copy(update={"state": state}) if toolbox is not None else only,
                    total_attempts, all_cached)
        combined = _combine(traces, output=traces[-1].output, messages=messages,
                            tool_calls=[tc for tr in traces for tc in tr.tool_calls])
        return combined.model_copy(update={"turns": per_turn, "state": state}), total_attempts, all_cached

    async def score(self, sample: ResolvedSample, trace: Trace, repeat: int) -> dict[str, Score]:
        """Every metric's score of this answer; a metric that raises, returns NaN or returns something
        other than a Score is unmeasured, with the reason."""
        ctx = ScoreContext(sample=sample, trace=trace, suite=self.suite, repeat=repeat)
        if self._all_sync:  # nothing to await: no coroutine per metric
            return {mid: _score_now(metric, ctx) for mid, metric, _ in self._scorers}
        scores: dict[str, Score] = {}
        for mid, metric, am in self._scorers:
            if am is None:
                scores[mid] = _score_now(metric, ctx)
                continue
            try:
                s = await am.ascore(ctx)
            except (asyncio.CancelledError, KeyboardInterrupt):
                raise
            except Exception as exc:  # a failing metric is unmeasured, never a crash
                s = _raised(exc)
            scores[mid] = _checked_score(s)
        return scores

    async def run_one(self, task: _Task) -> None:
        """Answer, score and append one task."""
        started = time.perf_counter()
        sample, repeat, position = task.sample, task.repeat, task.position
        last_user = ""
        try:
            rendered = task.rendered or render_request(self.suite, sample)
            for m in reversed(rendered[0]):
                if m.role == "user":
                    last_user = m.content
                    break
            if task.hit is not None:  # a one-turn task without tools whose answer is cached
                trace, attempts, cached = task.hit, 0, True
            else:
                trace, attempts, cached = await self.answer(sample, repeat, rendered, task.key)
            error = None
        except BackendError as exc:
            trace, cached, error = None, False, f"{exc}"
            attempts = getattr(exc, "attempts", 1)
        except (asyncio.CancelledError, KeyboardInterrupt):
            raise
        except ConfigError:
            raise
        except Exception as exc:  # a bug in a backend: record it, keep the run going
            trace, cached, error, attempts = None, False, f"backend raised {type(exc).__name__}: {exc}", 1
        elapsed = time.perf_counter() - started
        if trace is not None:
            scores = await self.score(sample, trace, repeat)
        else:
            scores = {mid: unmeasured("no answer: backend error") for mid, _ in self.metrics}
        result = SampleResult(
            sample_id=sample.id, repeat=repeat, sample_hash=sample.hash, input=last_user,
            output=trace.output if trace else None, expected=sample.expected, trace=trace, scores=scores,
            error=error, attempts=attempts, latency_s=elapsed,
            usage=(trace.usage if trace is not None and not cached else Usage()), cached=cached,
            tags=sample.tags, metadata=sample.metadata,
        )
        # A cached answer's line may wait a moment to be written with others: a kill loses only what a
        # resume takes from the cache again. A line that cost a call is written at once.
        self.run_dir.append(result, hold=cached)
        self.n_new += 1
        if position <= self._last_position:
            self.appended_in_order = False
            self.summarizer = None
        self._last_position = position
        if self.summarizer is not None:
            self.summarizer.add(result)
        self.progress.advance(error=error is not None)


async def run_suite(suite: Suite, opts: RunOptions) -> RunOutcome:
    """Run `suite` as `opts` says; returns the run folder, manifest and summary."""
    if opts.concurrency < 1:
        raise ConfigError("concurrency must be at least 1", field="--concurrency")
    if opts.repeat < 1:
        raise ConfigError("repeat must be at least 1", field="--repeat")
    # Built once, as validated: judges find the suite's own judges/ folder.
    metrics = check_suite(suite)
    for _, metric in metrics:
        warmup = getattr(metric, "warmup", None)
        if callable(warmup):
            warmup()
    samples = select_samples(suite, opts.limit, opts.shard)

    spec = opts.backend_spec or (suite.backend.spec if suite.backend else None)
    if spec is None and not opts.resume:
        raise ConfigError("no backend: the suite names none and --backend was not given",
                          file=suite.path, field="backend", hint="e.g. --backend stub:golden")
    options: dict[str, JsonValue] = dict(suite.backend.options) if suite.backend else {}
    if opts.backend_spec and suite.backend and opts.backend_spec != suite.backend.spec:
        options = {}  # the suite's options belong to the suite's backend
    options.update(opts.backend_options)
    check_slice_keys(opts.slice_by, ((s.tags, s.metadata) for s in suite.samples), file=None, field="--slice-by")

    done: set[tuple[str, int]] = set()
    if opts.resume:
        run_dir = RunDir.open(opts.results_root, opts.resume)
        manifest = run_dir.read_manifest()
        if manifest.suite.content_hash != suite.content_hash:
            raise ConfigError(f"run {manifest.run_id} was made from a different version of the suite "
                              "(content hash differs)", file=suite.path,
                              hint="resume with the suite file as it was, or start a new run")
        spec = manifest.backend.spec
        if opts.backend_spec and opts.backend_spec != spec:
            raise ConfigError(f"run {manifest.run_id} used backend {spec}, not {opts.backend_spec}",
                              field="--backend", hint="drop --backend when resuming")
        options = {**_unredacted(manifest, options), **opts.backend_options}
        run_dir.repair()
        done = {(r.sample_id, r.repeat) for r in run_dir.iter_results()}
        slice_by = merge_slice_keys(manifest.settings.slice_by, opts.slice_by)
        manifest = manifest.model_copy(update={
            "finished_at": None, "settings": manifest.settings.model_copy(update={"slice_by": slice_by})})
    else:
        assert spec is not None
        run_dir = RunDir.create(opts.results_root, new_run_id(suite.name))
        manifest = RunManifest(
            run_id=run_dir.run_id,
            suite=SuiteRef(name=suite.name, version=suite.version, path=suite.path,
                           content_hash=suite.content_hash, n_samples=len(suite.samples), sample_hashes={}),
            backend=BackendRef(spec=spec, options=redact(options)),
            metrics=[metric_ref(s, m) for s, (_, m) in zip(suite.metrics, metrics, strict=True) if s.name != "judge"],
            judges=[metric_ref(s, m) for s, (_, m) in zip(suite.metrics, metrics, strict=True) if s.name == "judge"],
            settings=RunSettings(concurrency=opts.concurrency, repeat=opts.repeat, limit=opts.limit,
                                 shard=f"{opts.shard[0]}/{opts.shard[1]}" if opts.shard else None,
                                 cache=opts.use_cache, slice_by=merge_slice_keys(suite.slice_by, opts.slice_by)),
            agenteval_version=_version(), git_sha=_git_sha(), labels=opts.labels, started_at=utc_now(),
        )
    # Until the run ends the manifest holds no sample hashes: they are written from the suite's samples
    # (a resumed run's suite has the same ones: its content hash says so).
    manifest = _with_sample_hashes(manifest, SampleHashes())
    if opts.resume:
        settings = manifest.settings
        samples = select_samples(suite, settings.limit, _parse_shard(settings.shard))
        repeat = settings.repeat
    else:
        repeat = opts.repeat
    run_dir.write_manifest(manifest, suite.samples)
    if opts.on_start is not None:
        opts.on_start(run_dir)

    tools = ToolboxFactory(suite)  # imports the suite's Python tools now: errors before any call
    # Tasks are generated, not listed: nothing per task is held in memory besides the suite itself.
    n_tasks = len(samples) * repeat
    n_todo = (n_tasks - sum(1 for sid in sample_ids(samples) for r in range(repeat) if (sid, r) in done)
              if done else n_tasks)
    todo: Iterator[tuple[int, ResolvedSample, int]] = (
        (k * repeat + r, s, r) for k, s in enumerate(samples) for r in range(repeat) if (s.id, r) not in done)
    if spec.startswith("python:"):
        # python: agents are importable from the working folder and from the suite's folder.
        import sys

        folder = str(Path(suite.path).resolve().parent)
        if folder not in sys.path:
            sys.path.insert(0, folder)
    backend = make_backend(spec, options)
    cache = ResponseCache(opts.results_root / "cache.sqlite") if opts.use_cache else None
    progress = RunProgress(n_tasks, description=suite.name, enabled=opts.progress)
    progress.done = n_tasks - n_todo
    worker = _Worker(suite, backend, options, metrics, cache, opts.retry, run_dir, progress, tools)
    aggregators = {mid: partial(corpus_aggregate, m) for mid, m in metrics
                   if callable(getattr(type(m), "aggregate", None))}
    if not done:  # a fresh run's file holds only this invocation's results: summarise them as they come
        worker.summarizer = Summarizer([m for m, _ in metrics], suite.thresholds, aggregators,
                                       slice_by=manifest.settings.slice_by, grouped=True)
    env = MetricEnv(results_root=opts.results_root, use_cache=opts.use_cache,
                    retry=lambda call: with_retries(call, opts.retry, random.Random()),
                    judge_model=opts.judge_model, judge_options=dict(opts.judge_options))
    started_metrics: list[AsyncMetric] = []
    run_dir.open_for_append()
    try:
        for _, metric in metrics:
            am = _as_async(metric)
            if am is not None:
                await am.start(env)
                started_metrics.append(am)
        if started_metrics and not opts.resume:
            # Judges know their effective model (e.g. --judge-model) only once started: record it.
            manifest = manifest.model_copy(update={"judges": [
                metric_ref(spec, m) for spec, (_, m) in zip(suite.metrics, metrics, strict=True)
                if spec.name == "judge"]})
            run_dir.write_manifest(manifest, suite.samples)
        with progress:
            tasks = worker.prefetch(todo)

            async def work() -> None:
                for task in tasks:
                    await worker.run_one(task)

            await asyncio.gather(*(work() for _ in range(min(opts.concurrency, max(1, n_todo)))))
    finally:
        for started in started_metrics:
            await started.stop()
        run_dir.close()
        if cache is not None:
            cache.close()
        await backend.aclose()

    if worker.summarizer is not None and worker.appended_in_order:
        # A fresh run whose answers came in task order: its file is in order and was summarised as written.
        summary = worker.summarizer.summary(run_dir.run_id)
    else:
        run_dir.rewrite_in_order((sid, r) for sid in sample_ids(samples) for r in range(repeat))
        summary = summarize(run_dir.run_id, run_dir.iter_results(), [m for m, _ in metrics], suite.thresholds,
                            aggregators, slice_by=manifest.settings.slice_by, grouped=True)  # now in order
    run_dir.write_summary(summary)
    manifest = _with_sample_hashes(manifest.model_copy(update={"finished_at": utc_now()}), _sample_hashes(suite))
    run_dir.write_manifest(manifest)
    return RunOutcome(run_dir=run_dir, manifest=manifest, summary=summary, n_new=worker.n_new)


def _sample_hashes(suite: Suite) -> SampleHashes:
    """The manifest's sample id -> content hash: a view of the suite's samples, no dict of them all."""
    return SampleHashes.of_samples(suite.samples)


def _with_sample_hashes(manifest: RunManifest, hashes: SampleHashes) -> RunManifest:
    """The manifest with these sample hashes, taken as they are (validating would copy them all)."""
    return manifest.model_copy(update={"suite": manifest.suite.model_copy(update={"sample_hashes": hashes})})


def _raised(exc: Exception) -> Score:
    return unmeasured(f"metric raised {type(exc).__name__}: {exc}")


def _score_now(metric: Metric, ctx: ScoreContext) -> Score:
    """A metric that awaits nothing, scored; raising, NaN and non-Scores are unmeasured."""
    try:
        s = metric.score(ctx)
    except (asyncio.CancelledError, KeyboardInterrupt):
        raise
    except Exception as exc:  # a failing metric is unmeasured, never a crash
        return _raised(exc)
    return _checked_score(s)


def _checked_score(s: object) -> Score:
    """A metric's return value as a Score for the result: NaN and non-Scores become unmeasured."""
    if type(s) is not Score:
        if not isinstance(s, Score):
            return unmeasured(f"metric returned {type(s).__name__}, not a Score")
        s = Score.model_validate(s.model_dump(include=set(Score.model_fields)))  # a subclass: its Score fields
    if s.value is not None and s.value != s.value:  # NaN guard
        return unmeasured("metric returned NaN")
    return s


def _as_async(metric: Metric) -> AsyncMetric | None:
    """The metric as an AsyncMetric when it awaits things (judges, batched encoders)."""
    return cast(AsyncMetric, metric) if isinstance(metric, AsyncMetric) else None


def _combine(traces: list[Trace], *, output: str, messages: list[Message], tool_calls: list[ToolCall]) -> Trace:
    """One trace from several backend calls: usage and latency summed, the last call's model."""
    usage = Usage()
    for tr in traces:
        usage = usage.add(tr.usage)
    return Trace(output=output, messages=messages, tool_calls=tool_calls, usage=usage,
                 latency_s=sum(tr.latency_s or 0.0 for tr in traces), model=traces[-1].model,
                 finish_reason=traces[-1].finish_reason)


def _parse_shard(text: str | None) -> tuple[int, int] | None:
    if not text:
        return None
    i, _, n = text.partition("/")
    return int(i), int(n)


def _unredacted(manifest: RunManifest, current: dict[str, JsonValue]) -> dict[str, JsonValue]:
    """Options for a resumed run: the manifest's, with redacted secrets taken from the current ones
    (suite file / -B) or the environment."""
    opts = dict(manifest.backend.options)
    for k, v in opts.items():
        if v == "***":
            opts[k] = current.get(k, os.environ.get(k.upper(), ""))
    return opts
