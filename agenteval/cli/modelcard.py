"""`agenteval modelcard RUN [RUN...]`: a model card (Markdown + JSON) from one or more runs."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import ConfigError
from ..store import baselines_dir, load_run, results_root
from .options import results_option

__all__ = ["modelcard_cmd"]


@click.command("modelcard")
@click.argument("runs", nargs=-1, required=True)
@click.option("--out", "out", default=None, type=click.Path(dir_okay=False),
              help="Markdown file to write (default <first run folder>/MODEL_CARD.md); the JSON card goes "
                   "beside it with the suffix .json.")
@click.option("--baseline", "baseline", default=None, metavar="NAME_OR_RUN",
              help="Compare every run with this baseline (a baseline name, run id or run folder).")
@results_option
@click.option("--baselines", "baselines", envvar="AGENTEVAL_BASELINES", default=None,
              type=click.Path(file_okay=False),
              help="Folder of named baselines (default ./baselines; env AGENTEVAL_BASELINES).")
def modelcard_cmd(runs: tuple[str, ...], out: str | None, baseline: str | None, results: str | None,
                  baselines: str | None) -> None:
    """Write a model card for RUN(s): model details, intended use, evaluation data, metrics with CIs and
    thresholds, per-tag slices, usage, judges, failure cases and, with --baseline, the comparison.

    RUN is a run id under the results root, a run folder, or a baseline name. Several runs (e.g. one
    model on several suites) make one card with a section per run.
    """
    from ..modelcard import build_model_card, write_model_card

    root, bdir = results_root(results), baselines_dir(baselines)
    loaded = [load_run(r, root, bdir) for r in runs]
    base = load_run(baseline, root, bdir) if baseline is not None else None
    if out is not None:
        md_path = Path(out)
    else:
        first = Path(loaded[0].source)
        if not first.is_dir():
            raise ConfigError(f"{runs[0]!r} is a baseline file, not a run folder", field="--out",
                              hint="say where the card goes: --out MODEL_CARD.md")
        md_path = first / "MODEL_CARD.md"
    card = build_model_card(loaded, baseline=base)
    md, js = write_model_card(card, md_path)
    verdicts = ", ".join(f"{r.evaluation_data.suite}: {'passed' if r.passed else 'failed'}" for r in card.runs)
    click.echo(f"model card for {len(card.runs)} run(s) ({verdicts})")
    click.echo(f"wrote {md}")
    click.echo(f"wrote {js}")
