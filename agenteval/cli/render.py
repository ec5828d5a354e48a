"""Terminal rendering of run summaries (rich tables)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from ..schema import RunManifest, RunSummary
from ..store import RunDir

if TYPE_CHECKING:
    from ..runner import RunOutcome

__all__ = ["wide_console", "print_matrix", "print_slices", "print_summary", "fmt"]


def fmt(x: float | None, digits: int = 3) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


def print_summary(summary: RunSummary, manifest: RunManifest, run_dir: RunDir,
                  console: Console | None = None) -> None:
    console = console or wide_console()
    table = Table(title=f"{manifest.suite.name} v{manifest.suite.version} · {manifest.backend.spec}",
                  title_justify="left")
    for col, just in (("metric", "left"), ("mean", "right"), ("95% CI", "right"), ("n", "right"),
                      ("unmeasured", "right"), ("threshold", "right"), ("", "left")):
        table.add_column(col, justify=just)  # type: ignore[arg-type]
    for key, m in summary.metrics.items():
        th = summary.thresholds.get(key)
        ci = f"[{fmt(m.ci_low)}, {fmt(m.ci_high)}]" if m.ci_low is not None else "—"
        th_text, status = "", ""
        if th is not None:
            th_text = f"{'≥' if th.kind == 'min' else '≤'} {th.threshold:g}"
            status = "[green]pass[/green]" if th.passed else "[red]FAIL[/red]"
        table.add_row(key, fmt(m.mean), ci, str(m.n), str(m.n_unmeasured) if m.n_unmeasured else "0",
                      th_text, status)
    console.print(table)
    print_slices(summary, console)
    usage = summary.usage
    cost = "unknown" if usage.cost_usd is None else f"${usage.cost_usd:.6f}"
    lat = summary.latency
    console.print(
        f"samples {summary.n_samples} · errors {summary.n_errors} · cached {summary.n_cached} · "
        f"tokens in {usage.input_tokens or 0} out {usage.output_tokens or 0} · cost {cost} · "
        f"latency p50 {fmt(lat.p50)}s p95 {fmt(lat.p95)}s"
    )
    verdict = "[green]PASSED[/green]" if summary.passed else "[red]FAILED[/red]"
    console.print(f"{verdict}  run {manifest.run_id}  →  {run_dir.path}")


def print_slices(summary: RunSummary, console: Console) -> None:
    """A table per slice key: each slice's result count and every metric's mean [CI] n."""
    for key, breakdown in summary.slices.items():
        table = Table(title=f"by {key}", title_justify="left")
        table.add_column("slice")
        table.add_column("results", justify="right")
        for m in summary.metrics:
            table.add_column(m, justify="right")
        for value, sl in breakdown.slices.items():
            cells = []
            for m in summary.metrics:
                ms = sl.metrics.get(m)
                if ms is None or ms.mean is None:
                    cells.append("—")
                elif ms.ci_low is not None:
                    cells.append(f"{ms.mean:.3f} [{fmt(ms.ci_low, 2)}, {fmt(ms.ci_high, 2)}] n={ms.n}")
                else:
                    cells.append(f"{ms.mean:.3f} n={ms.n}")
            table.add_row(value, str(sl.n_samples), *cells)
        console.print(table)
        if breakdown.n_folded:
            console.print(f"  {breakdown.n_folded} more values of {key} pooled in (other)")


def wide_console() -> Console:
    probe = Console()
    # Pipes and CI logs get a wide table instead of rich's 80-column default.
    return Console(highlight=False, width=None if probe.is_terminal else 120)


def print_matrix(outcomes: list[RunOutcome], group: str, console: Console | None = None) -> None:
    """One suite against several backends, side by side: metric means (95 % CI), cost and latency."""
    console = console or wide_console()
    table = Table(title=f"run group {group}", title_justify="left")
    table.add_column("metric")
    for o in outcomes:
        table.add_column(o.manifest.backend.spec, justify="right")
    metric_ids = list(dict.fromkeys(k for o in outcomes for k in o.summary.metrics))
    for key in metric_ids:
        cells = []
        for o in outcomes:
            m = o.summary.metrics.get(key)
            if m is None or m.mean is None:
                cells.append("—")
            elif m.ci_low is not None:
                cells.append(f"{m.mean:.3f} [{m.ci_low:.2f}, {m.ci_high:.2f}]")
            else:
                cells.append(f"{m.mean:.3f}")
        table.add_row(key, *cells)
    table.add_row("cost (USD)", *["unknown" if o.summary.usage.cost_usd is None
                                  else f"{o.summary.usage.cost_usd:.6f}" for o in outcomes])
    table.add_row("latency p50 (s)", *[fmt(o.summary.latency.p50) for o in outcomes])
    table.add_row("errors", *[str(o.summary.n_errors) for o in outcomes])
    table.add_row("run", *[o.manifest.run_id for o in outcomes])
    console.print(table)
