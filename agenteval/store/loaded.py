"""A run as the analysis side sees it, read from a run folder or from a baseline file."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from ..errors import ConfigError
from ..schema import Baseline, RunManifest, RunSummary, SampleResult
from .rundir import RunDir, atomic_write, utc_now

__all__ = ["LoadedRun", "baselines_dir", "load_run", "save_baseline", "BASELINE_OUTPUT_CHARS"]

BASELINE_OUTPUT_CHARS = 2000
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


@dataclass
class LoadedRun:
    manifest: RunManifest
    summary: RunSummary | None
    results: list[SampleResult]
    source: str
    """The run folder or baseline file it came from."""


def baselines_dir(option: str | os.PathLike[str] | None) -> Path:
    """The baselines folder: the option, else $AGENTEVAL_BASELINES, else ./baselines."""
    return Path(option or os.environ.get("AGENTEVAL_BASELINES") or "baselines")


def _baseline_path(folder: Path, name: str) -> Path:
    if not _NAME.match(name):
        raise ConfigError(f"bad baseline name {name!r}", field="NAME",
                          hint="letters, digits, '.', '_' and '-' (e.g. main or gpt4o-2026-12)")
    return folder / f"{name}.json"


def load_run(ref: str, results_root: Path, baselines: Path) -> LoadedRun:
    """A run by id (under results_root/runs), by folder path, or a baseline by name or file path."""
    candidates = [results_root / "runs" / ref, Path(ref)]
    for c in candidates:
        if (c / "manifest.json").is_file():
            rd = RunDir(c)
            return LoadedRun(manifest=rd.read_manifest(), summary=rd.read_summary(),
                             results=list(rd.iter_results()), source=str(c))
    files = [Path(ref)] if ref.endswith(".json") else []
    if _NAME.match(ref):
        files.append(_baseline_path(baselines, ref))
    for f in files:
        if f.is_file():
            try:
                b = Baseline.model_validate_json(f.read_bytes())
            except ValidationError as exc:
                err = exc.errors()[0]
                raise ConfigError(f"not a valid baseline file: {err['msg']}", file=str(f),
                                  field=".".join(map(str, err["loc"]))) from None
            return LoadedRun(manifest=b.manifest, summary=b.summary, results=b.samples, source=str(f))
    raise ConfigError(f"no run or baseline {ref!r}", field="run",
                      hint=f"a run id under {results_root / 'runs'}, a run folder, or a baseline name in "
                           f"{baselines} (agenteval baseline set NAME RUN)")


def save_baseline(name: str, run: LoadedRun, folder: Path) -> Path:
    """Write `<folder>/<name>.json` atomically (replacing an older baseline of that name)."""
    if run.summary is None or run.manifest.finished_at is None:
        raise ConfigError(f"run {run.manifest.run_id} is unfinished", field="RUN",
                          hint="finish it with `agenteval run SUITE --resume RUN_ID` first")
    path = _baseline_path(folder, name)
    folder.mkdir(parents=True, exist_ok=True)
    slim = [r.model_copy(update={"trace": None, "output": (r.output or "")[:BASELINE_OUTPUT_CHARS]
                                 if r.output is not None else None}) for r in run.results]
    baseline = Baseline(name=name, created_at=utc_now(), manifest=run.manifest, summary=run.summary,
                        samples=slim)
    atomic_write(path, json.dumps(json.loads(baseline.model_dump_json()), indent=1) + "\n")
    return path
