"""`agenteval judge calibrate RUBRIC --labels FILE`: how well does a judge agree with people?"""

from __future__ import annotations

import asyncio
import random
from pathlib import Path
from typing import TYPE_CHECKING

import click
from pydantic import JsonValue
from rich.table import Table

from ..backends.spec import parse_option
from ..store import results_root, utc_now
from .options import results_option
from .render import fmt, wide_console

if TYPE_CHECKING:
    from ..judging.calibrate import CalibrationReport

__all__ = ["judge_cmd"]


@click.group("judge")
def judge_cmd() -> None:
    """LLM-as-judge tools."""


async def _calibrate(rubric_ref: str, labels: Path, model: str | None, options: dict[str, JsonValue],
                     samples: int, concurrency: int, root: Path, use_cache: bool) -> CalibrationReport:
    from ..judging.calibrate import (
        CalibrationItem,
        LabelledExample,
        calibration_report,
        example_sample,
        judge_verdict,
        load_labels,
    )
    from ..judging.metric import JudgeMetric
    from ..metrics.base import MetricEnv, ScoreContext
    from ..runner.retry import RetryPolicy, with_retries
    from ..schema import Suite, Trace

    metric = JudgeMetric(rubric=rubric_ref, model=model, samples=samples, options=options,
                         suite_dir=str(Path.cwd()))
    env = MetricEnv(results_root=root, use_cache=use_cache,
                    retry=lambda call: with_retries(call, RetryPolicy(), random.Random()))
    await metric.start(env)
    rubric = metric._rubric
    examples = load_labels(labels, rubric)
    suite = Suite(path=str(labels), name="calibration", version="1", metrics=[], samples=[], content_hash="")
    sem = asyncio.Semaphore(concurrency)

    async def one(ex: LabelledExample) -> CalibrationItem:
        async with sem:
            score = await metric.ascore(ScoreContext(sample=example_sample(ex), trace=Trace(output=ex.response),
                                                     suite=suite))
        verdict = judge_verdict(score.details, rubric) if score.value is not None else None
        human = str(int(ex.human)) if isinstance(ex.human, float) and ex.human.is_integer() else str(ex.human)
        spread = score.details.get("spread")
        swap = score.details.get("swap_inconsistent")
        return CalibrationItem(id=ex.id or "", human=human, judge=verdict,
                               agree=None if verdict is None else verdict == human,
                               reasoning=score.reason if score.value is not None else (score.error or ""),
                               spread=float(spread) if isinstance(spread, (int, float)) and samples > 1 else None,
                               swap_inconsistent=float(swap) if isinstance(swap, (int, float)) else None)

    try:
        items = await asyncio.gather(*(one(ex) for ex in examples))
    finally:
        await metric.stop()
    return calibration_report(rubric, metric.judge_model_spec or "(rubric default)", str(labels), utc_now(),
                              list(items))


@judge_cmd.command("calibrate")
@click.argument("rubric")
@click.option("--labels", "labels", required=True, type=click.Path(dir_okay=False),
              help="JSONL of human-labelled examples (see README, Calibration).")
@click.option("--judge-model", default=None, help="Judge model spec (default: the rubric's).")
@click.option("-J", "judge_opts", multiple=True, metavar="KEY=VALUE", help="Judge backend option, repeatable.")
@click.option("--samples", default=1, show_default=True, type=int, help="Judge answers per example.")
@click.option("--concurrency", "-c", default=8, show_default=True, type=int)
@click.option("--out", "out", default=None, type=click.Path(dir_okay=False),
              help="Report file (default <results>/calibration/<rubric>-<time>.json).")
@click.option("--no-cache", is_flag=True, help="Ask the judge again even when its answer is cached.")
@results_option
def calibrate_cmd(rubric: str, labels: str, judge_model: str | None, judge_opts: tuple[str, ...], samples: int,
                  concurrency: int, out: str | None, no_cache: bool, results: str | None) -> None:
    """Run RUBRIC's judge over human-labelled examples; print and store the agreement report."""
    from ..judging.calibrate import dump_report

    root = results_root(results)
    options: dict[str, JsonValue] = dict(parse_option(o) for o in judge_opts)
    report = asyncio.run(_calibrate(rubric, Path(labels), judge_model, options, samples, concurrency, root,
                                    not no_cache))
    path = Path(out) if out else root / "calibration" / f"{report.rubric}-{report.created_at.replace(':', '')}.json"
    dump_report(report, path)
    console = wide_console()
    t = Table(title=f"judge calibration · {report.rubric} v{report.rubric_version} · {report.judge_model}",
              title_justify="left")
    t.add_column("measure")
    t.add_column("value", justify="right")
    t.add_row("examples", f"{report.n} ({report.n_unmeasured} unmeasured)")
    t.add_row("exact agreement", fmt(report.exact_agreement))
    t.add_row(f"Cohen's kappa ({report.kappa_weights} weights)", fmt(report.cohen_kappa))
    t.add_row("Spearman rho", fmt(report.spearman_rho) + (f" (p={report.spearman_p:.3g})"
                                                          if report.spearman_p is not None else ""))
    if report.swap_consistency is not None:
        t.add_row("swap consistency", fmt(report.swap_consistency))
    if report.self_consistency_spread_mean is not None:
        t.add_row("self-consistency spread (mean / max)",
                  f"{fmt(report.self_consistency_spread_mean)} / {fmt(report.self_consistency_spread_max)}")
    console.print(t)
    cm = Table(title="confusion matrix (rows: human, columns: judge)", title_justify="left")
    cm.add_column("")
    for label in report.confusion_labels:
        cm.add_column(label, justify="right")
    for label, row in zip(report.confusion_labels, report.confusion_matrix, strict=True):
        cm.add_row(label, *[str(v) for v in row])
    console.print(cm)
    console.print(f"report → {path}")
