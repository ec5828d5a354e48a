"""Response caches: content-addressed traces in SQLite (used by the runner and by judges).

`cache_key` covers everything that changes a backend's answer: spec, options (secrets excluded), the
rendered messages, tools, seed, repeat index and turn (judges add their rubric hash and version). Only
successful traces are stored. One file per results root and use (`<results>/cache.sqlite`,
`<results>/judge_cache.sqlite`), shared by runs; WAL mode lets concurrent runs read and write it.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from pathlib import Path

from pydantic import JsonValue

from .backends.base import SECRET_MARKERS, BackendRequest
from .schema import Trace

__all__ = ["ResponseCache", "cache_key"]


def cache_key(spec: str, options: dict[str, JsonValue], request: BackendRequest,
              extra: dict[str, JsonValue] | None = None) -> str:
    opts = {k: v for k, v in options.items() if not any(m in k.lower() for m in SECRET_MARKERS)}
    payload: dict[str, JsonValue] = {
        "extra": extra or {},
        "spec": spec,
        "options": opts,
        "messages": [m.model_dump(mode="json", exclude_none=True) for m in request.messages],
        "tools": [t.model_dump(mode="json") for t in request.tools],
        "seed": request.seed,
        "repeat": request.repeat,
        "turn": request.turn,
    }
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def _set_wal(db: sqlite3.Connection, attempts: int = 50) -> None:
    """Switch to WAL (persistent once any process did it). Switching needs a moment alone with the file,
    so when another process holds it, retry briefly; the busy timeout covers every later statement."""
    for _ in range(attempts):
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            time.sleep(0.05)


class ResponseCache:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, timeout=30, isolation_level=None)
        _set_wal(self._db)
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, trace TEXT NOT NULL,"
                         " created_at INTEGER DEFAULT (strftime('%s','now')))")

    def get(self, key: str) -> Trace | None:
        row = self._db.execute("SELECT trace FROM responses WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        try:
            return Trace.model_validate_json(row[0])
        except ValueError:
            return None  # an entry from an incompatible version: treat as a miss

    def put(self, key: str, trace: Trace) -> None:
        self._db.execute("INSERT OR REPLACE INTO responses (key, trace) VALUES (?, ?)",
                         (key, trace.model_dump_json()))

    def close(self) -> None:
        self._db.close()
