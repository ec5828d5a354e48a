"""`agenteval baseline set NAME RUN` (and `list`, `show`): named baselines that live in git."""

from __future__ import annotations

import click

from ..store import baselines_dir, load_run, results_root, save_baseline
from .options import baselines_option, results_option

__all__ = ["baseline_cmd"]


@click.group("baseline")
def baseline_cmd() -> None:
    """Named baselines: frozen copies of runs in ./baselines (commit them to git)."""


@baseline_cmd.command("set")
@click.argument("name")
@click.argument("run")
@results_option
@baselines_option
def set_cmd(name: str, run: str, results: str | None, baselines: str | None) -> None:
    """Record RUN (a run id or folder) as baseline NAME."""
    loaded = load_run(run, results_root(results), baselines_dir(baselines))
    path = save_baseline(name, loaded, baselines_dir(baselines))
    click.echo(f"baseline {name} = run {loaded.manifest.run_id} ({loaded.manifest.backend.spec}, "
               f"{len(loaded.results)} results) → {path}")


@baseline_cmd.command("list")
@baselines_option
def list_baselines(baselines: str | None) -> None:
    """List the baselines in the baselines folder."""
    from ..schema import Baseline

    folder = baselines_dir(baselines)
    files = sorted(folder.glob("*.json")) if folder.is_dir() else []
    if not files:
        click.echo(f"no baselines in {folder}")
    for f in files:
        try:
            b = Baseline.model_validate_json(f.read_bytes())
        except ValueError:
            click.echo(f"{f.stem}: unreadable ({f})")
            continue
        heads = " ".join(f"{k}={v.mean:.3f}" for k, v in b.summary.metrics.items() if v.mean is not None)
        click.echo(f"{b.name}: run {b.manifest.run_id} · {b.manifest.suite.name} v{b.manifest.suite.version} · "
                   f"{b.manifest.backend.spec} · {heads}")
