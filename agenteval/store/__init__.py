"""Run folders on disk (manifest, samples.jsonl, summary) and the results root."""

from .loaded import LoadedRun, baselines_dir, load_run, save_baseline
from .rundir import RunDir, atomic_write, new_run_id, results_root, utc_now

__all__ = ["LoadedRun", "baselines_dir", "load_run", "save_baseline",
           "RunDir", "atomic_write", "new_run_id", "results_root", "utc_now"]
