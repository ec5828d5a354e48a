"""Response caches: content-addressed traces in SQLite (used by the runner and by judges).

`cache_key` covers everything that changes a backend's answer: spec, options (secrets excluded), the
rendered messages, tools, seed, repeat index and turn (judges add their rubric hash and version). Only
successful traces are stored. One file per results root and use (`<results>/cache.sqlite`,
`<results>/judge_cache.sqlite`), shared by runs; WAL mode lets concurrent runs read and write it.

Writes are batched: `put` keeps the entry in memory (where `get` sees it at once) and writes the
pending entries in one transaction when `FLUSH_EVERY` of them are waiting or `FLUSH_AFTER_S` have
passed since the last write, and at `close`. A killed process loses at most that window of cache
entries, never a result (results go to the run folder, which `--resume` reads).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from pydantic import JsonValue

from .backends.base import SECRET_MARKERS, BackendRequest
from .schema import Message, ToolSpec, Trace

__all__ = ["ResponseCache", "cache_key", "request_key"]

FLUSH_EVERY = 512
FLUSH_AFTER_S = 1.0


@lru_cache(maxsize=256)
def _is_secret(option: str) -> bool:
    return any(m in option.lower() for m in SECRET_MARKERS)


_dumps = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode
"""`json.dumps(..., sort_keys=True, ensure_ascii=False, separators=(",", ":"))` without building an encoder
per call."""
_string = json.encoder.encode_basestring  # what `_dumps` writes for a str


def _int(value: int) -> str:
    """What `_dumps` writes for an int (a bool, an int subclass, keeps its JSON spelling)."""
    return _dumps(value) if type(value) is not int else int.__repr__(value)


def _message_json(m: Message) -> str:
    """`_dumps` of a message dumped as JSON without its None fields; a plain role-and-text message (the
    usual one) is written directly."""
    if m.name is None and m.tool_call_id is None and m.tool_calls is None and isinstance(m.content, str):
        return f'{{"content":{_string(m.content)},"role":{_string(m.role)}}}'
    return _dumps(m.model_dump(mode="json", exclude_none=True))


def cache_key(spec: str, options: dict[str, JsonValue], request: BackendRequest,
              extra: dict[str, JsonValue] | None = None) -> str:
    """sha256 of the request's canonical JSON: `extra`, spec, options without secrets, the messages
    (without None fields), tools, seed, repeat index and turn, keys sorted."""
    return request_key(spec, options, request.messages, request.tools, seed=request.seed, repeat=request.repeat,
                       turn=request.turn, extra=extra)


def request_key(spec: str, options: dict[str, JsonValue], messages: Sequence[Message], tools: Sequence[ToolSpec],
                *, seed: int | None, repeat: int, turn: int, extra: dict[str, JsonValue] | None = None) -> str:
    """`cache_key` of a request with these parts (without building the request)."""
    opts = {k: v for k, v in options.items() if not _is_secret(k)}
    text = ",".join(_message_json(m) for m in messages)
    tools_json = _dumps([t.model_dump(mode="json") for t in tools]) if tools else "[]"
    blob = (f'{{"extra":{_dumps(extra) if extra else "{}"},"messages":[{text}],'
            f'"options":{_dumps(opts) if opts else "{}"},"repeat":{_int(repeat)},'
            f'"seed":{"null" if seed is None else _int(seed)},"spec":{_string(spec)},'
            f'"tools":{tools_json},"turn":{_int(turn)}}}')
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


_SHARED = '{"_shared":'
"""A stored trace whose first N messages are its request's starts `{"_shared":N,` (Trace forbids extra
fields, so an older agenteval reads such an entry as a miss, never as a trace without its prompt)."""


def _pack(trace: Trace, shared: Sequence[Message] | None) -> str:
    """The stored text of a trace: JSON without fields at their defaults (mostly nulls: a third shorter,
    read back to the same trace), and without the request's messages when it starts with them."""
    n = len(shared) if shared else 0
    if n == 0 or len(trace.messages) < n or trace.messages[:n] != list(shared or ()):
        return trace.model_dump_json(exclude_defaults=True)
    rest = trace.model_copy(update={"messages": trace.messages[n:]}).model_dump_json(exclude_defaults=True)
    return f"{_SHARED}{n}" + ("}" if rest == "{}" else "," + rest[1:])


def _unpack(text: str, shared: Sequence[Message] | None) -> Trace | None:
    """The trace `_pack` stored; None for an entry that cannot be read (from an incompatible version, or
    sharing more messages than `shared` has): a miss."""
    try:
        if not text.startswith(_SHARED):
            return Trace.model_validate_json(text)
        cut = len(_SHARED)
        end = cut
        while end < len(text) and text[end].isdigit():
            end += 1
        n = int(text[cut:end])
        if shared is None or len(shared) < n or end == len(text) or text[end] not in ",}":
            return None
        trace = Trace.model_validate_json("{" + text[end + 1:] if text[end] == "," else "{}")
    except ValueError:
        return None
    trace.messages = [*shared[:n], *trace.messages]
    return trace


class ResponseCache:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, timeout=30, isolation_level=None)
        _set_wal(self._db)
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, trace TEXT NOT NULL,"
                         " created_at INTEGER DEFAULT (strftime('%s','now')))")
        self._pending: dict[str, str] = {}
        self._last_flush = time.monotonic()

    def get(self, key: str, shared: Sequence[Message] | None = None) -> Trace | None:
        """The stored trace, or None. `shared`: the request's messages (see `put`)."""
        text = self._pending.get(key)
        if text is None:
            row = self._db.execute("SELECT trace FROM responses WHERE key = ?", (key,)).fetchone()
            if row is None:
                return None
            text = row[0]
        return _unpack(text, shared)

    def get_many(self, keys: list[str], shared: list[Sequence[Message]] | None = None) -> dict[str, Trace]:
        """The stored traces of those of `keys` that have one, in one query per 500 keys; `shared[i]` is
        the messages of the request of `keys[i]` (see `put`)."""
        texts: dict[str, str] = {}
        for k in keys:
            text = self._pending.get(k)
            if text is not None:
                texts[k] = text
        wanted = [k for k in dict.fromkeys(keys) if k not in texts]
        for i in range(0, len(wanted), 500):
            chunk = wanted[i:i + 500]
            texts.update(self._db.execute(
                f"SELECT key, trace FROM responses WHERE key IN ({','.join('?' * len(chunk))})", chunk))
        by_key = dict(zip(keys, shared, strict=True)) if shared is not None else {}
        out: dict[str, Trace] = {}
        for k, text in texts.items():
            trace = _unpack(text, by_key.get(k))
            if trace is not None:
                out[k] = trace
        return out

    def put(self, key: str, trace: Trace, shared: Sequence[Message] | None = None) -> None:
        """Store `trace` under `key`. `shared`: the messages of the request it answers, which the key
        covers; when the trace's messages start with them, they are not stored again (`get` puts the
        request's messages back), so a long prompt is kept once, in the key's request, not per trace."""
        self._pending[key] = _pack(trace, shared)
        if len(self._pending) >= FLUSH_EVERY or time.monotonic() - self._last_flush >= FLUSH_AFTER_S:
            self.flush()

    def flush(self) -> None:
        """Write the pending entries in one transaction."""
        self._last_flush = time.monotonic()
        if not self._pending:
            return
        rows = list(self._pending.items())
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.executemany("INSERT OR REPLACE INTO responses (key, trace) VALUES (?, ?)", rows)
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")
        self._pending.clear()

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self._db.close()
