"""Options shared by several subcommands."""

from __future__ import annotations

from typing import Any

import click

__all__ = ["baselines_option", "results_option"]


def results_option(f: Any) -> Any:
    return click.option("--results", "results", envvar="AGENTEVAL_RESULTS", default=None,
                        type=click.Path(file_okay=False),
                        help="Results root holding runs/ and the cache (default ./results; "
                             "env AGENTEVAL_RESULTS).")(f)


def baselines_option(f: Any) -> Any:
    return click.option("--baselines", "baselines", envvar="AGENTEVAL_BASELINES", default=None,
                        type=click.Path(file_okay=False),
                        help="Folder of named baselines (default ./baselines; env AGENTEVAL_BASELINES).")(f)
