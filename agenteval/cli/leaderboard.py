"""`agenteval leaderboard` and `agenteval schema`."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..analysis.leaderboard import build_leaderboard
from ..store import atomic_write, results_root
from .options import results_option

__all__ = ["leaderboard_cmd", "schema_cmd", "SCHEMAS"]


@click.command("leaderboard")
@click.option("--out", "out", type=click.Path(dir_okay=False), default=None,
              help="Write the JSON here (default: print it).")
@click.option("--all", "all_runs", is_flag=True, help="Every finished run, not just the latest per suite x backend.")
@click.option("--suite", default=None, help="Only this suite.")
@results_option
def leaderboard_cmd(out: str | None, all_runs: bool, suite: str | None, results: str | None) -> None:
    """Leaderboard JSON for dashboards: per suite x backend, metrics with CIs, cost, latency, tokens."""
    board = build_leaderboard(results_root(results), all_runs=all_runs, suite=suite)
    text = board.model_dump_json(indent=2) + "\n"
    if out is None:
        click.echo(text, nl=False)
        return
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, text)
    click.echo(f"leaderboard: {len(board.entries)} entries → {path}")


def _schemas() -> dict[str, type]:
    from ..schema import RunManifest, RunSummary, SampleResult, SuiteFile
    from ..schema.compare import Comparison
    from ..schema.leaderboard import Leaderboard

    return {"leaderboard": Leaderboard, "summary": RunSummary, "manifest": RunManifest, "sample": SampleResult,
            "suite": SuiteFile, "comparison": Comparison}


SCHEMAS = ("leaderboard", "summary", "manifest", "sample", "suite", "comparison")


@click.command("schema")
@click.argument("what", type=click.Choice(SCHEMAS))
def schema_cmd(what: str) -> None:
    """Print the JSON Schema of a file agenteval reads or writes."""
    if what == "leaderboard":
        from importlib.resources import files

        click.echo(files("agenteval.schema").joinpath("leaderboard.schema.json").read_text(encoding="utf-8"),
                   nl=False)
        return
    model = _schemas()[what]
    click.echo(json.dumps(model.model_json_schema(), indent=2))  # type: ignore[attr-defined]
