"""Logging a finished run folder to MLflow: params, metrics and the run's files as artifacts.

MLflow is imported only here, when a run is logged (`pip install 'agenteval[mlflow]'`). The default
tracking store is a local SQLite database beside the runs, `sqlite:///<results root>/mlflow.db`; with any
local SQLite store, artifacts go to `mlartifacts/` beside the database. MLflow 3 refuses its older
`file:` store unless `MLFLOW_ALLOW_FILE_STORE=true`. MLflow's usage telemetry is switched off before it
is imported (`MLFLOW_DISABLE_TELEMETRY=true`, `DO_NOT_TRACK=true`) unless you set those yourself, so
logging to a local store calls nothing outside the machine.
"""

from __future__ import annotations

import json
import os
import re
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import JsonValue

from ..errors import ConfigError
from ..schema import RunManifest, RunSummary
from ..store.rundir import RunDir

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

__all__ = ["ARTIFACTS", "default_tracking_uri", "log_run_to_mlflow", "run_params", "run_metrics"]

ARTIFACTS = ("summary.json", "manifest.json", "samples.jsonl", "report.html", "MODEL_CARD.md", "MODEL_CARD.json")
"""Files of the run folder logged as artifacts, when present."""

_INSTALL_HINT = "pip install 'agenteval[mlflow]'"
_PARAM_VALUE_CHARS = 6000
_BATCH_PARAMS = 100
_BATCH_METRICS = 1000
_BAD_KEY = re.compile(r"[^A-Za-z0-9_\-. /]")


def _offline_env() -> None:
    # Before mlflow is imported: its telemetry client decides at import time.
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("DO_NOT_TRACK", "true")
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    # MLflow logs database migrations at INFO on every new store; agenteval prints its own summary.
    import logging

    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _key(text: str) -> str:
    """An MLflow param/metric key: letters, digits, `_ - . /` and spaces; anything else becomes `_`."""
    return _BAD_KEY.sub("_", text)[:250]


def _value(v: JsonValue) -> str:
    text = v if isinstance(v, str) else json.dumps(v, sort_keys=True)
    return text if len(text) <= _PARAM_VALUE_CHARS else text[: _PARAM_VALUE_CHARS - 1] + "…"


def results_root_of(run_dir: Path) -> Path:
    """`<root>` for a run folder `<root>/runs/<run_id>`; the folder's parent otherwise."""
    parent = run_dir.resolve().parent
    return parent.parent if parent.name == "runs" else parent


def default_tracking_uri(run_dir: Path) -> str:
    return "sqlite:///" + (results_root_of(run_dir) / "mlflow.db").as_posix()


def run_params(manifest: RunManifest) -> dict[str, str]:
    """Params: suite name/version/hash, backend spec and options, labels, settings, versions."""
    s = manifest.suite
    params: dict[str, JsonValue] = {
        "suite.name": s.name, "suite.version": s.version, "suite.content_hash": s.content_hash,
        "suite.path": s.path, "suite.n_samples": s.n_samples, "backend.spec": manifest.backend.spec,
        "agenteval_version": manifest.agenteval_version,
    }
    if manifest.git_sha:
        params["git_sha"] = manifest.git_sha
    params.update({f"backend.{k}": v for k, v in manifest.backend.options.items()})
    params.update({f"label.{k}": v for k, v in manifest.labels.items()})
    params.update({f"settings.{k}": v for k, v in manifest.settings.model_dump(mode="json").items()})
    params.update({f"metric.{m.id}.version": m.version for m in manifest.metrics + manifest.judges})
    return {_key(k): _value(v) for k, v in params.items()}


def run_metrics(summary: RunSummary) -> dict[str, float]:
    """Metrics: each metric's mean, CI, n, unmeasured and pass rate; thresholds; usage; latency.

    Values that are unknown (an unmeasured metric's mean, an unknown cost) are left out, never 0 or NaN.
    """
    out: dict[str, float | int | None] = {}
    for mid, m in summary.metrics.items():
        out.update({f"{mid}.mean": m.mean, f"{mid}.ci_low": m.ci_low, f"{mid}.ci_high": m.ci_high,
                    f"{mid}.stderr": m.stderr, f"{mid}.n": m.n, f"{mid}.n_unmeasured": m.n_unmeasured,
                    f"{mid}.pass_rate": m.pass_rate})
    for key, t in summary.thresholds.items():
        out[f"threshold.{key}.passed"] = int(t.passed)
    u, lat = summary.usage, summary.latency
    out.update({"usage.input_tokens": u.input_tokens, "usage.output_tokens": u.output_tokens,
                "usage.cost_usd": u.cost_usd, "latency.p50_s": lat.p50, "latency.p95_s": lat.p95,
                "latency.n": lat.n, "n_samples": summary.n_samples, "n_errors": summary.n_errors,
                "n_cached": summary.n_cached, "passed": int(summary.passed)})
    return {_key(k): float(v) for k, v in out.items() if v is not None}


def _millis(iso: str | None) -> int | None:
    if not iso:
        return None
    try:
        return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return None


def _client(tracking_uri: str) -> MlflowClient:
    _offline_env()
    try:
        from mlflow.tracking import MlflowClient
    except ImportError:
        raise ConfigError("MLflow is not installed", field="mlflow", hint=_INSTALL_HINT) from None
    from mlflow.exceptions import MlflowException

    try:
        client = MlflowClient(tracking_uri=tracking_uri)
        client.search_experiments(max_results=1)  # opens the store now, so a bad URI fails here
    except ImportError as exc:  # e.g. sqlalchemy/alembic missing for a sqlite store
        raise ConfigError(f"MLflow cannot open {tracking_uri}: {exc}", field="tracking_uri",
                          hint=_INSTALL_HINT) from None
    except MlflowException as exc:
        hint = ("MLflow 3 keeps runs in a database: use sqlite:///<folder>/mlflow.db (or set "
                "MLFLOW_ALLOW_FILE_STORE=true to keep the file store)") if tracking_uri.startswith("file:") \
            else "a local store such as sqlite:///results/mlflow.db, or your tracking server's URL"
        raise ConfigError(f"MLflow cannot use {tracking_uri}: {exc.message.splitlines()[0]}",
                          field="tracking_uri", hint=hint) from None
    return client


def _artifact_root(tracking_uri: str) -> Path | None:
    """`<db folder>/mlartifacts` for a local SQLite store (MLflow's own default is ./mlruns in the working
    folder); None (the server decides) otherwise."""
    prefix = "sqlite:///"
    if not tracking_uri.startswith(prefix) or tracking_uri[len(prefix):] in ("", ":memory:"):
        return None
    return Path(tracking_uri[len(prefix):]).resolve().parent / "mlartifacts"


def _experiment_id(client: MlflowClient, name: str, artifact_root: Path | None) -> str:
    exp = client.get_experiment_by_name(name)
    if exp is not None:
        return str(exp.experiment_id)
    location = None if artifact_root is None else (artifact_root / name).as_uri()
    return str(client.create_experiment(name, artifact_location=location))


def log_run_to_mlflow(run_dir: Path, tracking_uri: str | None = None, experiment: str | None = None) -> str:
    """Log the finished run in `run_dir` as one MLflow run; returns the MLflow run id.

    `tracking_uri` defaults to `sqlite:///<results root>/mlflow.db`; with a local SQLite store, new
    experiments keep their artifacts in `mlartifacts/` beside the database. `experiment` defaults to the
    suite name. Each call makes a new MLflow
    run, tagged with the agenteval run id.
    """
    rd = RunDir(Path(run_dir))
    if not (rd.path / "manifest.json").is_file():
        raise ConfigError(f"{rd.path} is not a run folder (no manifest.json)", field="run_dir",
                          hint="pass <results>/runs/<run_id>")
    manifest, summary = rd.read_manifest(), rd.read_summary()
    if summary is None or manifest.finished_at is None:
        raise ConfigError(f"run {manifest.run_id} is unfinished: it has no final summary", file=str(rd.path),
                          hint="finish it with `agenteval run SUITE --resume RUN_ID` first")
    if tracking_uri is None:
        tracking_uri = default_tracking_uri(rd.path)
    client = _client(tracking_uri)

    from mlflow.entities import Metric, Param, RunTag

    exp_id = _experiment_id(client, experiment or manifest.suite.name, _artifact_root(tracking_uri))
    tags = {"agenteval.run_id": manifest.run_id, "agenteval.suite": manifest.suite.name,
            "agenteval.backend": manifest.backend.spec, "agenteval.passed": str(summary.passed).lower()}
    if manifest.git_sha:
        tags["mlflow.source.git.commit"] = manifest.git_sha
    run = client.create_run(exp_id, start_time=_millis(manifest.started_at), tags=tags,
                            run_name=manifest.run_id)
    run_id = str(run.info.run_id)
    try:
        stamp = _millis(manifest.finished_at) or 0
        params = [Param(k, v) for k, v in run_params(manifest).items()]
        metrics = [Metric(k, v, stamp, 0) for k, v in run_metrics(summary).items()]
        for i in range(0, len(params), _BATCH_PARAMS):
            client.log_batch(run_id, params=params[i:i + _BATCH_PARAMS])
        for i in range(0, len(metrics), _BATCH_METRICS):
            client.log_batch(run_id, metrics=metrics[i:i + _BATCH_METRICS])
        client.log_batch(run_id, tags=[RunTag("agenteval.source", str(rd.path))])
        for name in ARTIFACTS:
            if (rd.path / name).is_file():
                client.log_artifact(run_id, str(rd.path / name))
    except BaseException:
        client.set_terminated(run_id, status="FAILED")
        raise
    client.set_terminated(run_id, status="FINISHED", end_time=_millis(manifest.finished_at))
    return run_id
