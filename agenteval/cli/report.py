"""`agenteval report RUN`: write a run's self-contained HTML report."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import ConfigError
from ..store import baselines_dir, load_run, results_root
from .options import results_option

__all__ = ["report_cmd"]


@click.command("report")
@click.argument("run")
@click.option("--html", "html_path", default=None, type=click.Path(dir_okay=False),
              help="Output file (default: <run folder>/report.html; for a baseline file NAME.json, NAME.html).")
@click.option("--compare", "baseline", default=None, metavar="BASELINE",
              help="Add a comparison against this run id, run folder, or baseline name/file.")
@results_option
@click.option("--baselines", "baselines", envvar="AGENTEVAL_BASELINES", default=None,
              type=click.Path(file_okay=False), help="Baselines folder (default ./baselines; env AGENTEVAL_BASELINES).")
@click.option("--slice-by", "slice_by", multiple=True, metavar="KEY",
              help="Also break the metrics down by `tags` or a metadata key, repeatable.")
def report_cmd(run: str, html_path: str | None, baseline: str | None, results: str | None,
               baselines: str | None, slice_by: tuple[str, ...]) -> None:
    """Write RUN's report as one HTML file that works offline, and print its path.

    RUN is a run id, a run folder, or a baseline name or file.
    """
    from ..report import write_report

    root, bdir = results_root(results), baselines_dir(baselines)
    loaded = load_run(run, root, bdir)
    comparison = None
    if baseline is not None:
        from ..analysis.compare import compare_runs

        comparison = compare_runs(load_run(baseline, root, bdir), loaded)
    try:
        path = write_report(loaded, Path(html_path) if html_path else None, comparison, slice_by)
    except OSError as exc:
        raise ConfigError(f"cannot write the report: {exc.strerror or exc}", file=exc.filename or html_path,
                          field="--html") from None
    click.echo(str(path))
