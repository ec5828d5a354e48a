"""`--executor ray`: run the shards of a suite as Ray tasks and merge them into the driver's store.

Ray does the scheduling; this module only says what one task is. Each task runs one shard
(`--shard I/N`) with the ordinary runner (backends and metrics run on the worker) into a temporary
results root on the worker, and returns that run's files (manifest, summary, result lines). The driver
writes each returned part into a temporary folder and merges them with `merge_runs` into its own
results root, so the merged summary is computed exactly as a plain run's is.

Where Ray runs:
- `address=None`: the Ray that is already initialised in this process, else a new local instance
  (no dashboard), shut down again at the end;
- `address="auto"` or `"ray://host:10001"` or `"10.0.0.5:6379"`: an existing cluster (a team's own, or a
  managed one such as Ray on Vertex AI); see docs/scaleout.md.

Nothing calls out: Ray's usage statistics are switched off (`RAY_USAGE_STATS_ENABLED=0`) before Ray is
imported, and each task sets the same offline switches for litellm, google-auth and Hugging Face as the
CLI does. A task is the entry point of its worker process, so it owns the event loop it runs the
shard in (`asyncio.run`), as the CLI does on the driver.
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
import os
import shutil
import socket
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from pydantic import JsonValue

from ..errors import AgentEvalError, ConfigError
from ..runner.engine import RunOptions, RunOutcome, run_suite, select_samples
from ..runner.progress import RunProgress
from ..schema import RunSummary, Suite
from ..store.rundir import RunDir, atomic_write
from .merge import merge_runs

__all__ = ["ShardPayload", "run_shard", "run_with_ray", "shard_limit", "QUIET_ENV", "RAY_EXTRA"]

RAY_EXTRA = "ray>=2.9"
"""The requirement behind `agenteval[ray]`."""

QUIET_ENV: dict[str, str] = {
    "RAY_USAGE_STATS_ENABLED": "0",  # no usage report to Anyscale
    "RAY_USAGE_STATS_PROMPT_ENABLED": "0",
    "RAY_DISABLE_DOCKER_CPU_WARNING": "1",
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # litellm: no cost-map download at import
    "NO_GCE_CHECK": "true",  # google-auth: no metadata-server probe
    "HF_HUB_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
}
"""Environment set (unless already set) on the driver before Ray starts, and on every worker."""


@dataclass(frozen=True)
class ShardPayload:
    """What one Ray task sends back: the files of its shard run, and where it ran."""

    shard: tuple[int, int]
    run_id: str
    manifest_json: str
    summary_json: str
    samples: bytes
    node: str


def shard_limit(limit: int | None, shard: tuple[int, int]) -> int | None:
    """The per-shard `--limit` that makes the shards together cover the suite's first `limit` samples.

    `select_samples` applies a limit after sharding, so shard i/n must stop after the samples with
    index < limit that are congruent to i-1 modulo n.
    """
    if limit is None:
        return None
    i, n = shard
    return max(0, -(-(limit - (i - 1)) // n))


def _quiet_env() -> None:
    for key, value in QUIET_ENV.items():
        os.environ.setdefault(key, value)


def run_shard(suite: Suite, opts: RunOptions, shard: tuple[int, int], driver_cwd: str) -> ShardPayload:
    """Run one shard of `suite` here (on a Ray worker) into a temporary results root; return its files."""
    _quiet_env()
    # A suite path relative to the driver's folder: work from there when this node shares it (a local
    # instance or a shared filesystem). Under `ray job submit --working-dir`, the uploaded folder is
    # already the current one and holds the suite.
    if (not Path(suite.path).is_absolute() and not Path(suite.path).exists()
            and (Path(driver_cwd) / suite.path).exists()):
        os.chdir(driver_cwd)
    root = Path(tempfile.mkdtemp(prefix="agenteval-shard-"))
    try:
        shard_opts = dataclasses.replace(opts, results_root=root, shard=shard, resume=None, progress=False,
                                         on_start=None, limit=shard_limit(opts.limit, shard))
        outcome = asyncio.run(run_suite(suite, shard_opts))
        # The part says the limit of the whole run (each shard's own limit only encodes its slice).
        manifest = outcome.manifest.model_copy(
            update={"settings": outcome.manifest.settings.model_copy(update={"limit": opts.limit})})
        rd = outcome.run_dir
        samples = rd.samples_path.read_bytes() if rd.samples_path.exists() else b""
        return ShardPayload(shard=shard, run_id=rd.run_id, manifest_json=manifest.model_dump_json(),
                            summary_json=outcome.summary.model_dump_json(), samples=samples,
                            node=socket.gethostname())
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _import_ray() -> ModuleType:
    _quiet_env()
    try:
        # By name, so type checking needs no Ray (it is an optional extra).
        return importlib.import_module("ray")
    except ImportError:
        raise ConfigError("--executor ray needs Ray, which is not installed", field="--executor",
                          hint="pip install 'agenteval[ray]'") from None


def _write_part(folder: Path, payload: ShardPayload) -> RunDir:
    rd = RunDir.create(folder, payload.run_id)
    atomic_write(rd.path / "manifest.json", payload.manifest_json)
    atomic_write(rd.path / "summary.json", payload.summary_json)
    rd.samples_path.write_bytes(payload.samples)
    return rd


def run_with_ray(suite: Suite, opts: RunOptions, shards: int | None, address: str | None, *,
                 runtime_env: Mapping[str, JsonValue] | None = None) -> RunOutcome:
    """Run `suite` as `shards` Ray tasks (None: one per CPU of the cluster) and merge them into one run
    under `opts.results_root`. Blocks until every shard is done; call it outside an event loop.

    `address` is passed to `ray.init` (None: a local instance, unless Ray is already initialised);
    `runtime_env` too (e.g. `{"working_dir": ".", "pip": ["agenteval[ray]"]}` for a remote cluster).
    The response cache lives on each worker for the length of its task: a Ray run neither reads nor
    fills the driver's cache.
    """
    if opts.resume:
        raise ConfigError("--resume does not work with --executor ray", field="--resume",
                          hint="rerun it, or resume its shards locally with --shard")
    if opts.shard is not None:
        raise ConfigError("--shard does not combine with --executor ray (it makes the shards itself)",
                          field="--shard", hint="drop --shard; set the number of shards with --shards")
    if shards is not None and shards < 1:
        raise ConfigError(f"shards must be at least 1, not {shards}", field="--shards")
    if opts.backend_spec is None and suite.backend is None:
        raise ConfigError("no backend: the suite names none and --backend was not given", file=suite.path,
                          field="backend", hint="e.g. --backend stub:golden")
    ray = _import_ray()
    started = not ray.is_initialized()
    if started:
        init_kw: dict[str, Any] = {"address": address, "runtime_env": dict(runtime_env) if runtime_env else None}
        if address is None and not os.environ.get("RAY_ADDRESS"):  # a new local instance: no dashboard
            init_kw["include_dashboard"] = False
        ray.init(**init_kw)
    try:
        if shards is None:
            shards = max(1, int(ray.cluster_resources().get("CPU", 1)))
        n_cases = len(select_samples(suite, opts.limit, None))
        n = max(1, min(shards, n_cases))
        return _run_shards(ray, suite, opts, n)
    finally:
        if started:
            ray.shutdown()


def _run_shards(ray: ModuleType, suite: Suite, opts: RunOptions, n: int) -> RunOutcome:
    task = ray.remote(run_shard)
    worker_opts = dataclasses.replace(opts, on_start=None, progress=False)
    suite_ref = ray.put(suite)
    cwd = os.getcwd()
    pending = [task.remote(suite_ref, worker_opts, (i, n), cwd) for i in range(1, n + 1)]
    total = len(select_samples(suite, opts.limit, None)) * opts.repeat
    progress = RunProgress(total, description=f"{suite.name} (ray, {n} shards)", enabled=opts.progress)
    with tempfile.TemporaryDirectory(prefix="agenteval-ray-parts-", dir=_tmp_parent(opts.results_root)) as tmp:
        parts: list[tuple[tuple[int, int], RunDir]] = []
        nodes: set[str] = set()
        try:
            with progress:
                for _ in range(n):  # each round takes one finished task
                    ready, pending = ray.wait(pending, num_returns=1)
                    payload: ShardPayload = _get(ray, ready[0])
                    parts.append((payload.shard, _write_part(Path(tmp), payload)))
                    nodes.add(payload.node)
                    s = RunSummary.model_validate_json(payload.summary_json)
                    for k in range(s.n_samples):
                        progress.advance(error=k < s.n_errors)
        except BaseException:
            for ref in pending:
                try:
                    ray.cancel(ref, force=True)
                except Exception:  # best effort: the original error matters
                    pass
            raise
        parts.sort(key=lambda part: part[0])
        labels = {"executor": "ray", "ray_shards": str(n), "ray_nodes": str(len(nodes))}
        return merge_runs([rd for _, rd in parts], opts.results_root, thresholds=suite.thresholds, labels=labels)


def _tmp_parent(results_root: Path) -> Path:
    """Parts are staged beside the results (same filesystem), never inside runs/."""
    results_root.mkdir(parents=True, exist_ok=True)
    return results_root


def _get(ray: ModuleType, ref: Any) -> ShardPayload:
    """A task's payload; an agenteval error raised on a worker is re-raised as itself."""
    try:
        payload = ray.get(ref)
    except ray.exceptions.RayTaskError as exc:
        cause = getattr(exc, "cause", None)
        if isinstance(cause, AgentEvalError):
            raise cause from None
        raise
    if not isinstance(payload, ShardPayload):
        raise TypeError(f"a Ray task returned {type(payload).__name__}, not ShardPayload")
    return payload
