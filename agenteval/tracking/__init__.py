"""Experiment trackers: logging finished runs to MLflow (imported only when used)."""

from .mlflow_log import default_tracking_uri, log_run_to_mlflow, run_metrics, run_params

__all__ = ["default_tracking_uri", "log_run_to_mlflow", "run_metrics", "run_params"]
