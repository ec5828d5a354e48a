"""`agenteval compare BASELINE CANDIDATE`: did the candidate get worse? Paired statistics and gates."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from ..analysis.compare import Gates, apply_gates, compare_runs
from ..errors import ConfigError
from ..schema.compare import Comparison
from ..store import baselines_dir, load_run, results_root
from .options import baselines_option, results_option
from .render import fmt

__all__ = ["compare_cmd", "print_comparison", "suite_gates"]


def suite_gates(suite_path: str) -> Gates:
    """The `gates:` block of the suite file a run was made from (when the file is still there)."""
    if not Path(suite_path).is_file():
        return Gates()
    from ..suite import load_suite

    try:
        suite = load_suite(suite_path)
    except ConfigError:
        return Gates()
    if suite.gates is None:
        return Gates()
    return Gates(fail_on_regression=suite.gates.fail_on == "regression", max_drop=dict(suite.gates.max_drop))


def _max_drops(items: tuple[str, ...]) -> dict[str, float]:
    out: dict[str, float] = {}
    for item in items:
        k, sep, v = item.partition("=")
        try:
            out[k] = float(v)
        except ValueError:
            sep = ""
        if not sep or not k:
            raise ConfigError(f"bad --max-drop {item!r}", field="--max-drop", hint="METRIC=0.02")
    return out


def print_comparison(cmp: Comparison, console: Console) -> None:
    b, c = cmp.baseline, cmp.candidate
    console.print(f"baseline  {b.run_id} ({b.backend}, {b.suite} v{b.suite_version})  [dim]{b.source}[/dim]")
    console.print(f"candidate {c.run_id} ({c.backend}, {c.suite} v{c.suite_version})  [dim]{c.source}[/dim]")
    console.print(f"paired cases {cmp.n_paired_cases} · added {len(cmp.cases_added)} · "
                  f"removed {len(cmp.cases_removed)}")
    for p in cmp.problems:
        console.print(f"[red]not comparable:[/red] {p}")
    for w in cmp.warnings:
        console.print(f"[yellow]warning:[/yellow] {w}")
    t = Table("metric", "baseline", "candidate", "delta", "95% CI", "test", "p", "MDE", "n", "verdict")
    colours = {"improved": "green", "regressed": "red"}
    for m in cmp.metrics:
        ci = f"[{fmt(m.delta_ci_low)}, {fmt(m.delta_ci_high)}]" if m.delta_ci_low is not None else "—"
        colour = colours.get(m.verdict)
        verdict = f"[{colour}]{m.verdict}[/{colour}]" if colour else m.verdict
        delta = "—" if m.delta is None else f"{m.delta:+.3f}"
        t.add_row(m.metric, fmt(m.baseline_mean), fmt(m.candidate_mean), delta, ci, m.test,
                  "—" if m.p_value is None else f"{m.p_value:.3g}", fmt(m.mde), str(m.n_pairs), verdict)
    console.print(t)
    for m in cmp.metrics:
        if m.candidate_pass_at_k:
            ks = sorted(m.candidate_pass_at_k)
            console.print(f"{m.metric}: pass@k " + " ".join(
                f"k={k} {fmt(m.baseline_pass_at_k.get(k))}→{fmt(m.candidate_pass_at_k[k])}" for k in ks)
                + " · pass^k " + " ".join(
                f"k={k} {fmt(m.baseline_pass_hat_k.get(k))}→{fmt(m.candidate_pass_hat_k[k])}" for k in ks))
    interesting = [x for x in cmp.cases if x.kind != "still failing"]
    if interesting:
        ct = Table("case", "metric", "change", "baseline → candidate", "answer diff")
        for x in interesting[:30]:
            ct.add_row(x.sample_id, x.metric, x.kind, f"{x.baseline} → {x.candidate}", x.diff or "")
        console.print(ct)
        if len(interesting) > 30:
            console.print(f"… and {len(interesting) - 30} more (see --json)")
    still = sum(1 for x in cmp.cases if x.kind == "still failing")
    if still:
        console.print(f"still failing: {still} case×metric pair(s)")
    for g in cmp.gates:
        mark = "[green]pass[/green]" if g.passed else "[red]FAIL[/red]"
        console.print(f"gate {g.gate}: {mark} — {g.reason}")


@click.command("compare")
@click.argument("baseline")
@click.argument("candidate")
@click.option("--json", "as_json", is_flag=True, help="Print the whole comparison as JSON.")
@click.option("--fail-on", type=click.Choice(["regression"]), default=None,
              help="Exit 1 when any metric is significantly worse.")
@click.option("--max-drop", "max_drop", multiple=True, metavar="METRIC=X",
              help="Exit 1 when METRIC's mean drops by more than X (repeatable).")
@click.option("--metric", "metrics", multiple=True, help="Only these metrics (repeatable).")
@click.option("--allow-incomparable", is_flag=True,
              help="Compare even when case contents or metric versions changed.")
@results_option
@baselines_option
def compare_cmd(baseline: str, candidate: str, as_json: bool, fail_on: str | None, max_drop: tuple[str, ...],
                metrics: tuple[str, ...], allow_incomparable: bool, results: str | None,
                baselines: str | None) -> None:
    """Compare CANDIDATE with BASELINE (run ids, run folders, or baseline names).

    Exit 0 when no gate fails, 1 when a gate fails, 2 when the runs are not comparable."""
    root, bdir = results_root(results), baselines_dir(baselines)
    base_run, cand_run = load_run(baseline, root, bdir), load_run(candidate, root, bdir)
    cmp = compare_runs(base_run, cand_run, metrics=list(metrics) or None)
    gates = Gates(fail_on_regression=fail_on == "regression", max_drop=_max_drops(max_drop))
    cmp = apply_gates(cmp, suite_gates(cand_run.manifest.suite.path).merged(gates))
    if as_json:
        click.echo(cmp.model_dump_json(indent=2))
    else:
        print_comparison(cmp, Console(highlight=False, width=None if Console().is_terminal else 140))
    if cmp.problems and not allow_incomparable:
        raise ConfigError("the runs are not comparable: " + "; ".join(cmp.problems),
                          hint="rerun the baseline on the current suite, or pass --allow-incomparable")
    if not cmp.passed:
        raise click.exceptions.Exit(1)
