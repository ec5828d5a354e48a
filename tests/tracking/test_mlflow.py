"""Logging a real run to a real local MLflow store, read back through MLflow's client API."""

from __future__ import annotations

import asyncio
import json
import socket
import sys
from pathlib import Path
from typing import Any

import pytest

from agenteval.errors import ConfigError
from agenteval.runner import RunOptions, run_suite
from agenteval.schema import RunSummary
from agenteval.suite import load_suite
from agenteval.tracking import log_run_to_mlflow

REPO = Path(__file__).resolve().parents[2]


def _run(root: Path, spec: str) -> Path:
    opts = RunOptions(results_root=root, backend_spec=spec, progress=False, use_cache=False,
                      labels={"model": "v3"}, backend_options={"temperature": 0})
    return asyncio.run(run_suite(load_suite(REPO / "suites" / "qa.yaml"), opts)).run_dir.path


@pytest.fixture(scope="module")
def logged(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, Any]:
    """An echo run of qa.yaml with a report.html, logged to the default store under its results root."""
    pytest.importorskip("mlflow")
    root = tmp_path_factory.mktemp("results")
    run_dir = _run(root, "stub:echo")
    (run_dir / "report.html").write_text("<html>report</html>")
    run_id = log_run_to_mlflow(run_dir)
    from mlflow.tracking import MlflowClient

    return run_dir, run_id, MlflowClient(tracking_uri=f"sqlite:///{root / 'mlflow.db'}")


def test_params_are_suite_backend_labels_and_settings(logged: tuple[Path, str, Any]) -> None:
    run_dir, run_id, client = logged
    manifest = json.loads((run_dir / "manifest.json").read_text())
    params = client.get_run(run_id).data.params
    assert params["suite.name"] == "qa-basics" and params["suite.version"] == "1"
    assert params["suite.content_hash"] == manifest["suite"]["content_hash"]
    assert params["backend.spec"] == "stub:echo" and params["backend.temperature"] == "0"
    assert params["label.model"] == "v3"
    assert params["settings.concurrency"] == "8" and params["settings.repeat"] == "1"
    assert params["metric.exact_match.version"] == "1"


def test_metrics_are_the_summary_numbers(logged: tuple[Path, str, Any]) -> None:
    run_dir, run_id, client = logged
    summary = RunSummary.model_validate_json((run_dir / "summary.json").read_bytes())
    metrics = client.get_run(run_id).data.metrics
    for mid, m in summary.metrics.items():
        assert metrics[f"{mid}.mean"] == pytest.approx(m.mean)
        assert metrics[f"{mid}.ci_low"] == pytest.approx(m.ci_low)
        assert metrics[f"{mid}.ci_high"] == pytest.approx(m.ci_high)
        assert metrics[f"{mid}.n"] == m.n and metrics[f"{mid}.n_unmeasured"] == m.n_unmeasured
    assert metrics["usage.input_tokens"] == summary.usage.input_tokens
    assert metrics["usage.output_tokens"] == summary.usage.output_tokens
    assert metrics["latency.p50_s"] == pytest.approx(summary.latency.p50)
    assert metrics["latency.p95_s"] == pytest.approx(summary.latency.p95)
    assert metrics["threshold.exact_match.passed"] == 0 and metrics["passed"] == 0
    # history holds one point per metric, stamped with the run's finish time
    hist = client.get_metric_history(run_id, "exact_match.mean")
    assert len(hist) == 1 and hist[0].value == pytest.approx(summary.metrics["exact_match"].mean)


def test_artifacts_are_the_run_files(logged: tuple[Path, str, Any], tmp_path: Path) -> None:
    run_dir, run_id, client = logged
    names = {a.path for a in client.list_artifacts(run_id)}
    assert {"summary.json", "manifest.json", "samples.jsonl", "report.html"} <= names
    got = Path(client.download_artifacts(run_id, "samples.jsonl", str(tmp_path)))
    assert got.read_bytes() == (run_dir / "samples.jsonl").read_bytes()
    assert (run_dir.parents[1] / "mlartifacts").is_dir()  # artifacts stay beside the runs


def test_run_is_tagged_finished_in_an_experiment_named_after_the_suite(logged: tuple[Path, str, Any]) -> None:
    run_dir, run_id, client = logged
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    assert run.data.tags["agenteval.run_id"] == run_dir.name and run.info.run_name == run_dir.name
    assert client.get_experiment(run.info.experiment_id).name == "qa-basics"


def test_explicit_uri_and_experiment_and_no_outbound_connection(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("mlflow")
    run_dir = _run(tmp_path / "results", "stub:golden")
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    attempts: list[object] = []
    real_connect = socket.socket.connect

    def connect(self: socket.socket, address: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            attempts.append(address)
            raise OSError("network disabled in this test")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    uri = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    run_id = log_run_to_mlflow(run_dir, tracking_uri=uri, experiment="nightly")
    assert attempts == []
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    run = client.get_run(run_id)
    assert client.get_experiment(run.info.experiment_id).name == "nightly"
    assert run.data.metrics["exact_match.mean"] == 1.0 and run.data.metrics["passed"] == 1
    assert "report.html" not in {a.path for a in client.list_artifacts(run_id)}  # only files that exist
    assert not (tmp_path / "results" / "mlflow.db").exists()
    # artifacts beside the database, nothing in the working folder (MLflow's default would be ./mlruns)
    assert run.info.artifact_uri.startswith((tmp_path / "mlartifacts" / "nightly").as_uri())
    assert list((tmp_path / "cwd").iterdir()) == []


def test_missing_mlflow_is_a_config_error_with_the_install_line(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    run_dir = _run(tmp_path, "stub:golden")
    for mod in [m for m in sys.modules if m == "mlflow" or m.startswith("mlflow.")] + ["mlflow"]:
        monkeypatch.setitem(sys.modules, mod, None)
    with pytest.raises(ConfigError, match="MLflow is not installed") as exc:
        log_run_to_mlflow(run_dir, tracking_uri=f"sqlite:///{tmp_path / 'x.db'}")
    assert exc.value.hint == "pip install 'agenteval[mlflow]'"


def test_unfinished_run_is_refused(tmp_path: Path) -> None:
    run_dir = _run(tmp_path, "stub:golden")
    (run_dir / "summary.json").unlink()
    with pytest.raises(ConfigError, match="unfinished"):
        log_run_to_mlflow(run_dir, tracking_uri=f"sqlite:///{tmp_path / 'x.db'}")


def test_a_file_store_uri_is_a_config_error_pointing_to_sqlite(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("mlflow")
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE", raising=False)
    run_dir = _run(tmp_path, "stub:golden")
    with pytest.raises(ConfigError, match="cannot use file:") as exc:
        log_run_to_mlflow(run_dir, tracking_uri=f"file:{tmp_path / 'mlruns'}")
    assert exc.value.hint is not None and "sqlite:///" in exc.value.hint


def test_run_command_logs_to_mlflow(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[2]
    p = subprocess.run([sys.executable, "-m", "agenteval", "run", "suites/qa.yaml", "--backend", "stub:golden",
                        "--out", str(tmp_path), "--mlflow"], cwd=repo, capture_output=True, text=True,
                       timeout=120, env={**os.environ})
    assert p.returncode == 0, p.stderr
    mlflow_id = p.stdout.strip().splitlines()[-1].split()[-1]
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert client.get_run(mlflow_id).data.metrics["exact_match.mean"] == 1.0
