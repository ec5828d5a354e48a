"""An SQLite index over the run folders of a results root (`<results>/index.sqlite`).

The folders stay the source of truth: every query first refreshes the index from them (a run whose
manifest or summary changed since it was indexed is read again, a deleted folder is dropped), so a
missing, stale or corrupt index is rebuilt rather than trusted.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .rundir import RunDir

__all__ = ["RunIndex", "IndexedRun"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
  run_id TEXT PRIMARY KEY, folder TEXT NOT NULL, suite TEXT, suite_version TEXT, backend TEXT,
  started_at TEXT, finished_at TEXT, status TEXT, n_samples INTEGER, labels TEXT, tags TEXT,
  metrics TEXT, stamp TEXT NOT NULL
)"""


@dataclass
class IndexedRun:
    run_id: str
    folder: str
    suite: str
    suite_version: str
    backend: str
    started_at: str
    finished_at: str | None
    status: str
    """passed, failed, unfinished or unreadable."""
    n_samples: int | None
    labels: dict[str, str]
    tags: list[str]
    metrics: dict[str, float | None]


def _stamp(folder: Path) -> str:
    parts = []
    for name in ("manifest.json", "summary.json", "samples.jsonl"):
        p = folder / name
        parts.append(f"{p.stat().st_mtime_ns}:{p.stat().st_size}" if p.exists() else "-")
    return "|".join(parts)


class RunIndex:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.path = root / "index.sqlite"

    def _connect(self) -> sqlite3.Connection:
        self.root.mkdir(parents=True, exist_ok=True)
        try:
            db = sqlite3.connect(self.path, timeout=30)
            db.execute(_SCHEMA)
        except sqlite3.DatabaseError:  # a corrupt index is rebuilt from the folders
            self.path.unlink(missing_ok=True)
            db = sqlite3.connect(self.path, timeout=30)
            db.execute(_SCHEMA)
        return db

    @staticmethod
    def _row(rd: RunDir, stamp: str) -> tuple[Any, ...]:
        try:
            man = rd.read_manifest()
        except Exception:
            return (rd.run_id, str(rd.path), "", "", "", "", None, "unreadable", None, "{}", "[]", "{}", stamp)
        try:
            summ = rd.read_summary()
        except Exception:
            summ = None
        tags: set[str] = set()
        try:
            for r in rd.iter_results():
                tags.update(r.tags)
        except Exception:
            pass
        status = "unfinished" if summ is None or man.finished_at is None else ("passed" if summ.passed else "failed")
        metrics = {k: m.mean for k, m in summ.metrics.items()} if summ else {}
        return (man.run_id, str(rd.path), man.suite.name, man.suite.version, man.backend.spec, man.started_at,
                man.finished_at, status, summ.n_samples if summ else None, json.dumps(man.labels),
                json.dumps(sorted(tags)), json.dumps(metrics), stamp)

    def refresh(self) -> None:
        """Bring the index up to date with the run folders."""
        runs_dir = self.root / "runs"
        folders = {p.parent.name: p.parent for p in runs_dir.glob("*/manifest.json")} if runs_dir.is_dir() else {}
        with self._connect() as db:
            known = dict(db.execute("SELECT run_id, stamp FROM runs").fetchall())
            for gone in set(known) - set(folders):
                db.execute("DELETE FROM runs WHERE run_id = ?", (gone,))
            for run_id, folder in folders.items():
                stamp = _stamp(folder)
                if known.get(run_id) != stamp:
                    row = self._row(RunDir(folder), stamp)
                    db.execute("INSERT OR REPLACE INTO runs VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                               (run_id, *row[1:]))
        db.close()

    def query(self, *, suite: str | None = None, backend: str | None = None, tag: str | None = None,
              label: dict[str, str] | None = None, since: str | None = None, until: str | None = None,
              status: str | None = None) -> list[IndexedRun]:
        """Runs matching every given filter, oldest first. `since`/`until` compare ISO dates as text."""
        self.refresh()
        sql = "SELECT * FROM runs WHERE 1=1"
        args: list[Any] = []
        for col, val in (("suite", suite), ("backend", backend), ("status", status)):
            if val is not None:
                sql += f" AND {col} = ?"
                args.append(val)
        if since:
            sql += " AND started_at >= ?"
            args.append(since)
        if until:
            sql += " AND started_at < ?"
            args.append(until)
        with self._connect() as db:
            rows = db.execute(sql + " ORDER BY started_at, run_id", args).fetchall()
        db.close()
        out: list[IndexedRun] = []
        for r in rows:
            run = IndexedRun(run_id=r[0], folder=r[1], suite=r[2], suite_version=r[3], backend=r[4],
                             started_at=r[5], finished_at=r[6], status=r[7], n_samples=r[8],
                             labels=json.loads(r[9]), tags=json.loads(r[10]), metrics=json.loads(r[11]))
            if tag is not None and tag not in run.tags:
                continue
            if label and any(run.labels.get(k) != v for k, v in label.items()):
                continue
            out.append(run)
        return out
