"""`agenteval list backends|metrics|runs`."""

from __future__ import annotations

import json
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from .. import registry
from ..errors import ConfigError
from ..store import results_root
from .options import results_option
from .render import fmt

__all__ = ["list_cmd"]

_BACKEND_DOCS = {
    "stub": "stub:echo | stub:golden | stub:scripted — local answers for demos, CI and fault tests "
            "(-B latency_ms=50 -B fault_rate=0.2)",
    "litellm": "litellm:<provider/model> (or bare provider/model) — any litellm model "
               "(-B temperature=0 -B api_base=... -B timeout_s=60)",
    "python": "python:<module>:<function> — your own agent function, sync or async",
}


@click.command("list")
@click.argument("what", type=click.Choice(["backends", "metrics", "runs"]))
@results_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_cmd(what: str, results: str | None, as_json: bool) -> None:
    """List registered backends or metrics, or the runs in the results root."""
    console = Console(highlight=False, soft_wrap=True)
    if what == "backends":
        rows = [(n, _BACKEND_DOCS.get(n, "(plugin)")) for n in registry.backends.names()]
        if as_json:
            click.echo(json.dumps([{"name": n, "doc": d} for n, d in rows], indent=2))
            return
        t = Table("backend", "specs and options")
        for n, d in rows:
            t.add_row(n, d)
        console.print(t)
    elif what == "metrics":
        items = []
        for name in registry.metrics.names():
            try:
                cls = registry.metrics.get(name)
            except ConfigError as exc:  # a broken plugin is listed as such, never a crash
                items.append({"name": name, "version": "?", "summary": f"unavailable: {exc.message}",
                              "args": ""})
                continue
            doc = (getattr(cls, "__doc__", "") or "").strip().splitlines()
            fields = getattr(cls, "model_fields", {})
            args = ", ".join(f"{v.alias or k}={v.default!r}" if not v.is_required() else (v.alias or k)
                             for k, v in fields.items())
            items.append({"name": name, "version": str(getattr(cls, "version", "1")),
                          "summary": doc[0] if doc else "", "args": args})
        if as_json:
            click.echo(json.dumps(items, indent=2))
            return
        t = Table("metric", "version", "what it measures", "arguments")
        for it in items:
            t.add_row(it["name"], it["version"], it["summary"], it["args"])
        console.print(t)
    else:
        from ..store.rundir import RunDir

        root = results_root(results)
        runs = sorted((root / "runs").glob("*/manifest.json")) if (root / "runs").is_dir() else []
        rows2: list[dict[str, Any]] = []
        for mpath in runs:
            rd = RunDir(mpath.parent)
            try:
                man = rd.read_manifest()
                summ = rd.read_summary()
            except Exception:  # an unreadable run is listed as such, never a crash
                rows2.append({"run_id": rd.run_id, "status": "unreadable"})
                continue
            headline = {k: m.mean for k, m in summ.metrics.items()} if summ else {}
            status = ("passed" if summ.passed else "failed") if summ and man.finished_at else "unfinished"
            rows2.append({"run_id": man.run_id, "suite": f"{man.suite.name} v{man.suite.version}",
                          "backend": man.backend.spec, "started_at": man.started_at, "status": status,
                          "samples": summ.n_samples if summ else None, "metrics": headline})
        if as_json:
            click.echo(json.dumps(rows2, indent=2))
            return
        t = Table("run", "suite", "backend", "started", "status", "samples", "metrics")
        for r in rows2:
            metrics: dict[str, float | None] = r.get("metrics") or {}
            t.add_row(str(r["run_id"]), str(r.get("suite", "")), str(r.get("backend", "")),
                      str(r.get("started_at", "")), str(r["status"]), str(r.get("samples") or ""),
                      " ".join(f"{k}={fmt(v)}" for k, v in metrics.items()))
        console.print(t if rows2 else f"no runs under {root / 'runs'}")
