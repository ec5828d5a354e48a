"""Scale-out on existing engines: merge shard runs, and run shards as Ray tasks (`agenteval[ray]`).

Ray is imported only inside `run_with_ray`.
"""

from .merge import merge_runs, thresholds_from_summary
from .ray_executor import run_with_ray

__all__ = ["merge_runs", "run_with_ray", "thresholds_from_summary"]
