"""`agenteval validate SUITE...`: check suite files without calling any backend."""

from __future__ import annotations

import click

from ..errors import ConfigError
from ..suite import check_suite, load_suite

__all__ = ["validate_cmd"]


@click.command("validate")
@click.argument("suites", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--allow-outside-data", is_flag=True,
              help="Let suites read data files outside their own folder (only for suites you trust).")
def validate_cmd(suites: tuple[str, ...], allow_outside_data: bool) -> None:
    """Check SUITE files: syntax, fields, data files, metrics, templates. Exit 2 on the first problem
    of each bad file (all files are checked)."""
    if allow_outside_data:
        import os

        os.environ["AGENTEVAL_ALLOW_OUTSIDE_DATA"] = "1"
    bad = 0
    for path in suites:
        try:
            suite = load_suite(path)
            check_suite(suite)
        except ConfigError as exc:
            bad += 1
            click.echo(f"error: {exc}", err=True)
            continue
        backend = suite.backend.spec if suite.backend else "(none; pass --backend)"
        refs = [backend] if backend.startswith("python:") else []
        if suite.environment is not None:
            refs.append(suite.environment.factory)
        refs.extend(t.impl for t in suite.tools if t.impl)
        python_refs = f" [runs Python code: {', '.join(refs)}]" if refs else ""
        click.echo(f"ok: {path}: suite {suite.name!r} v{suite.version}, {len(suite.samples)} samples, "
                   f"metrics {', '.join(m.id for m in suite.metrics)}, backend {backend}{python_refs}, "
                   f"hash {suite.content_hash[:12]}")
    if bad:
        raise click.exceptions.Exit(2)
