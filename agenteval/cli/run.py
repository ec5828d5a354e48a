"""`agenteval run SUITE`: run a suite against a backend and write a run folder."""

from __future__ import annotations

import asyncio
import sys

import click
from pydantic import JsonValue

from ..backends.spec import parse_option
from ..errors import ConfigError
from ..runner import RunOptions, RunOutcome, run_suite
from ..store import RunDir, new_run_id, results_root
from ..suite import load_suite
from ..suite.cache import CACHE_FOLDER
from .render import print_matrix, print_summary

__all__ = ["run_cmd"]


def _parse_shard(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    i, sep, n = text.partition("/")
    if not sep or not i.isdigit() or not n.isdigit() or not 1 <= int(i) <= int(n):
        raise ConfigError(f"bad shard {text!r}", field="--shard", hint="I/N with 1 <= I <= N, e.g. 2/4")
    return int(i), int(n)


def _parse_labels(items: tuple[str, ...]) -> dict[str, str]:
    labels: dict[str, str] = {}
    for item in items:
        k, sep, v = item.partition("=")
        if not sep or not k:
            raise ConfigError(f"label {item!r} is not K=V", field="--label", hint="e.g. --label model=v3")
        labels[k] = v
    return labels


@click.command("run")
@click.argument("suite", type=click.Path(dir_okay=False))
@click.option("--backend", "backends", multiple=True, help="Backend spec, e.g. stub:golden, "
              "litellm:openai/gpt-4o-mini, python:mod:fn (default: the suite's). Repeat it to run the suite "
              "against several backends side by side (one run each, one run group).")
@click.option("-B", "backend_opts", multiple=True, metavar="KEY=VALUE",
              help="Backend option, repeatable: -B temperature=0 -B api_base=http://127.0.0.1:8000/v1")
@click.option("--out", "--results", "results", envvar="AGENTEVAL_RESULTS", default=None,
              type=click.Path(file_okay=False),
              help="Results root (default ./results; env AGENTEVAL_RESULTS).")
@click.option("--concurrency", "-c", default=8, show_default=True, type=int,
              help="Backend calls in flight at once.")
@click.option("--repeat", default=1, show_default=True, type=int, help="Answers per sample (K).")
@click.option("--limit", default=None, type=int, help="Only the first N samples.")
@click.option("--shard", default=None, metavar="I/N", help="Only every N-th sample from the I-th.")
@click.option("--resume", default=None, metavar="RUN_ID", help="Finish an interrupted run.")
@click.option("--no-cache", is_flag=True,
              help="Do not read or write the response cache (nor the suite cache).")
@click.option("--label", "labels", multiple=True, metavar="K=V", help="Version label, repeatable.")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: when a TTY).")
@click.option("--judge-model", default=None, metavar="SPEC", help="Model for every judge metric (overrides rubrics).")
@click.option("-J", "judge_opts", multiple=True, metavar="KEY=VALUE", help="Judge backend option, repeatable.")
@click.option("--executor", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help="Run here, or as shards on a Ray cluster (needs agenteval[ray]; docs/scaleout.md).")
@click.option("--shards", type=int, default=None, help="With --executor ray: number of shards (default: one per CPU).")
@click.option("--ray-address", default=None, metavar="ADDRESS",
              help="With --executor ray: ray.init address (default $RAY_ADDRESS or a local instance).")
@click.option("--slice-by", "slice_by", multiple=True, metavar="KEY",
              help="Break every metric down by `tags` or a sample metadata key (dotted for nested keys), "
                   "each slice with its CI and n; repeatable. Adds to the suite's `slice_by:`.")
@click.option("--allow-outside-data", is_flag=True,
              help="Let the suite read data files outside its own folder (only for suites you trust).")
@click.option("--mlflow", "mlflow", is_flag=True,
              help="Also log each run to MLflow (needs agenteval[mlflow]; default store <results>/mlflow.db).")
@click.option("--mlflow-uri", default=None, help="MLflow tracking URI (implies --mlflow).")
@click.option("--mlflow-experiment", default=None, help="MLflow experiment name (default: the suite name).")
def run_cmd(suite: str, backends: tuple[str, ...], backend_opts: tuple[str, ...], results: str | None,
            concurrency: int, repeat: int, limit: int | None, shard: str | None, resume: str | None,
            no_cache: bool, labels: tuple[str, ...], progress: bool | None, judge_model: str | None,
            judge_opts: tuple[str, ...], executor: str, shards: int | None, ray_address: str | None,
            slice_by: tuple[str, ...], allow_outside_data: bool, mlflow: bool, mlflow_uri: str | None,
            mlflow_experiment: str | None) -> None:
    """Run SUITE and print its metrics; exit 1 when a threshold fails or a sample ended in an error."""
    if allow_outside_data:
        import os

        os.environ["AGENTEVAL_ALLOW_OUTSIDE_DATA"] = "1"
    if executor != "ray" and (shards is not None or ray_address is not None):
        raise ConfigError("--shards and --ray-address need --executor ray", field="--executor")
    # The suite cache lives beside the response cache, and --no-cache skips both.
    loaded = load_suite(suite, cache_dir=None if no_cache else results_root(results) / CACHE_FOLDER)
    options: dict[str, JsonValue] = dict(parse_option(o) for o in backend_opts)
    label_map = _parse_labels(labels)
    specs: list[str | None] = list(backends) or [None]
    if len(specs) > 1:
        if resume:
            raise ConfigError("--resume takes one run: give no --backend or only one", field="--resume")
        label_map.setdefault("group", new_run_id(loaded.name))
    outcomes: list[RunOutcome] = []
    for spec in specs:
        started: list[RunDir] = []
        opts = RunOptions(
            results_root=results_root(results), backend_spec=spec, backend_options=options,
            concurrency=concurrency, repeat=repeat, limit=limit, shard=_parse_shard(shard), resume=resume,
            use_cache=not no_cache, labels=label_map, progress=progress, on_start=started.append,
            judge_model=judge_model, judge_options=dict(parse_option(o) for o in judge_opts),
            slice_by=list(slice_by),
        )
        try:
            if executor == "ray":
                from ..scaleout import run_with_ray

                outcome = run_with_ray(loaded, opts, shards, ray_address)
            else:
                outcome = asyncio.run(run_suite(loaded, opts))
        except KeyboardInterrupt:
            if started:
                rd = started[0]
                n = sum(1 for _ in rd.iter_results())
                click.echo(f"\ninterrupted: {n} result(s) saved in {rd.path}\n"
                           f"resume with: agenteval run {suite} --resume {rd.run_id}"
                           + (f" --out {results}" if results else ""), err=True)
            raise click.exceptions.Exit(130) from None
        print_summary(outcome.summary, outcome.manifest, outcome.run_dir)
        outcomes.append(outcome)
        if mlflow or mlflow_uri:
            from ..tracking import log_run_to_mlflow

            mlflow_id = log_run_to_mlflow(outcome.run_dir.path, tracking_uri=mlflow_uri,
                                          experiment=mlflow_experiment)
            click.echo(f"logged to MLflow: run {mlflow_id}")
    if len(outcomes) > 1:
        print_matrix(outcomes, label_map["group"])
    sys.stdout.flush()
    if not all(o.summary.passed for o in outcomes):
        raise click.exceptions.Exit(1)
