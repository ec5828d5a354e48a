"""`agenteval merge RUN...`: merge shard runs (`agenteval run --shard I/N`) into one run."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..store import RunDir, results_root
from .render import print_summary

__all__ = ["merge_cmd"]


@click.command("merge")
@click.argument("runs", nargs=-1, required=True)
@click.option("--results", "results", envvar="AGENTEVAL_RESULTS", default=None, type=click.Path(file_okay=False),
              help="Results root the RUN ids are looked up in (default ./results; env AGENTEVAL_RESULTS).")
@click.option("--out", "out", default=None, type=click.Path(file_okay=False),
              help="Results root to write the merged run to (default: the --results root).")
@click.option("--allow-partial", is_flag=True,
              help="Merge even when some cases of the suite have no result (a shard is missing).")
def merge_cmd(runs: tuple[str, ...], results: str | None, out: str | None, allow_partial: bool) -> None:
    """Merge shard RUNs (run ids or run folders) into one run whose summary equals the unsharded one.

    The shards must come from the same suite content, backend, metrics, repeat and limit; each case may
    come from one shard only. Exit 1 when the merged run fails a threshold, as `agenteval run` does."""
    from ..scaleout.merge import merge_runs

    root = results_root(results)
    parts = [RunDir.open(root, ref) for ref in runs]
    outcome = merge_runs(parts, Path(out) if out else root, allow_partial=allow_partial)
    print_summary(outcome.summary, outcome.manifest, outcome.run_dir)
    click.echo(f"merged {len(parts)} run(s), {outcome.n_new} result(s)")
    sys.stdout.flush()
    if not outcome.summary.passed:
        raise click.exceptions.Exit(1)
