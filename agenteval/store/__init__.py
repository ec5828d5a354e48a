"""Run folders on disk (manifest, samples.jsonl, summary) and the results root."""

from .rundir import RunDir, atomic_write, new_run_id, results_root, utc_now

__all__ = ["RunDir", "atomic_write", "new_run_id", "results_root", "utc_now"]
