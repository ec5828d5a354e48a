"""`agenteval` entry point: the command group and the error handling shared by every subcommand.

Exit codes: 0 ok, 1 a threshold/gate failed, 2 a usage or configuration error.
"""

from __future__ import annotations

import os
import sys

import click

from ..errors import ConfigError

__all__ = ["main", "cli"]

# Off by default: no outbound calls at import (litellm's cost map, google-auth's metadata probe).
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("NO_GCE_CHECK", "true")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="agenteval")
def cli() -> None:
    """agenteval: evaluate LLMs and agents on suites of samples, with honest statistics."""


def _register() -> None:
    from . import baseline, compare, judge, leaderboard, list_cmd, merge, modelcard, report, run, validate

    cli.add_command(run.run_cmd)
    cli.add_command(compare.compare_cmd)
    cli.add_command(baseline.baseline_cmd)
    cli.add_command(leaderboard.leaderboard_cmd)
    cli.add_command(leaderboard.schema_cmd)
    cli.add_command(report.report_cmd)
    cli.add_command(modelcard.modelcard_cmd)
    cli.add_command(judge.judge_cmd)
    cli.add_command(merge.merge_cmd)
    cli.add_command(validate.validate_cmd)
    cli.add_command(list_cmd.list_cmd)


_register()


def main(argv: list[str] | None = None) -> int:
    try:
        # With standalone_mode=False click returns the code of a `click.exceptions.Exit`.
        rc = cli.main(args=argv, prog_name="agenteval", standalone_mode=False)
    except ConfigError as exc:
        click.echo(f"error: {exc}", err=True)
        return 2
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    return rc if isinstance(rc, int) else 0


def entry() -> None:
    sys.exit(main())
