"""Options shared by several subcommands."""

from __future__ import annotations

from typing import Any

import click

__all__ = ["results_option"]


def results_option(f: Any) -> Any:
    return click.option("--results", "results", envvar="AGENTEVAL_RESULTS", default=None,
                        type=click.Path(file_okay=False),
                        help="Results root holding runs/ and the cache (default ./results; "
                             "env AGENTEVAL_RESULTS).")(f)
