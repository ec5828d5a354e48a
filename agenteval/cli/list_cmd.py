"""`agenteval list backends|metrics|runs`."""

from __future__ import annotations

import json

import click
from rich.table import Table

from .. import registry
from ..errors import ConfigError
from ..store import results_root
from .options import results_option
from .render import fmt, wide_console

__all__ = ["list_cmd"]

_BACKEND_DOCS = {
    "stub": "stub:echo | stub:golden | stub:scripted — local answers for demos, CI and fault tests "
            "(-B latency_ms=50 -B fault_rate=0.2)",
    "litellm": "litellm:<provider/model> (or bare provider/model) — any litellm model "
               "(-B temperature=0 -B api_base=... -B timeout_s=60)",
    "python": "python:<module>:<function> — your own agent function, sync or async",
    "openai": "openai:<model> — native OpenAI-compatible client on one pooled HTTP connection pool, for "
              "high volume (vLLM, llama.cpp, TGI, Ollama, OpenAI) (-B api_base=... -B api_key=...)",
    "replay": "replay:<traces.jsonl> — score recorded answers without calling a model",
    "vertex-agent": "vertex-agent:<reasoningEngine resource> — a Vertex AI Agent Engine agent",
}


@click.command("list")
@click.argument("what", type=click.Choice(["backends", "metrics", "presets", "runs"]))
@results_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--suite", default=None, help="runs: only this suite.")
@click.option("--backend", default=None, help="runs: only this backend spec.")
@click.option("--tag", default=None, help="runs: only runs with a sample of this tag.")
@click.option("--label", multiple=True, metavar="K=V", help="runs: only runs with this label (repeatable).")
@click.option("--since", default=None, metavar="DATE", help="runs: started on/after (ISO date, e.g. 2026-12-01).")
@click.option("--until", default=None, metavar="DATE", help="runs: started before (ISO date).")
@click.option("--status", type=click.Choice(["passed", "failed", "unfinished", "unreadable"]), default=None)
def list_cmd(what: str, results: str | None, as_json: bool, suite: str | None, backend: str | None,
             tag: str | None, label: tuple[str, ...], since: str | None, until: str | None,
             status: str | None) -> None:
    """List registered backends, metrics or task presets, or the runs in the results root."""
    console = wide_console()
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
    elif what == "presets":
        from ..presets import all_presets, presets_table
        from ..presets.model import threshold_text

        if as_json:
            click.echo(json.dumps(presets_table(), indent=2))
            return
        t = Table("task", "aliases", "metrics (default threshold)", "aggregation")
        for p in all_presets():
            lines = []
            for m in p.metrics:
                th = p.thresholds.get(m.id)
                lines.append(f"{m.id}{' ' + threshold_text(th) if th else ''}"
                             f"{'' if m.name in registry.metrics else ' (not installed)'}")
            t.add_row(p.name, ", ".join(p.aliases), "\n".join(lines),
                      "\n".join(f"{k}: {v}" for k, v in p.aggregation.items()))
        console.print(t)
    else:
        from dataclasses import asdict

        from ..store.index import RunIndex

        label_map: dict[str, str] = {}
        for item in label:
            k, sep, v = item.partition("=")
            if not sep:
                raise ConfigError(f"label {item!r} is not K=V", field="--label")
            label_map[k] = v
        root = results_root(results)
        found = RunIndex(root).query(suite=suite, backend=backend, tag=tag, label=label_map or None,
                                     since=since, until=until, status=status)
        if as_json:
            click.echo(json.dumps([asdict(r) for r in found], indent=2))
            return
        t = Table("run", "suite", "backend", "started", "status", "samples", "labels", "metrics")
        for r in found:
            t.add_row(r.run_id, f"{r.suite} v{r.suite_version}", r.backend, r.started_at, r.status,
                      str(r.n_samples or ""), " ".join(f"{k}={v}" for k, v in r.labels.items()),
                      " ".join(f"{k}={fmt(v)}" for k, v in r.metrics.items()))
        console.print(t if found else f"no runs under {root / 'runs'} match")
