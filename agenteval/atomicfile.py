"""Writing a file atomically: a temporary file beside it, then a rename, so readers never see half a file
(a kill mid-write leaves the old file, or none, and at most a stray `.NAME.*.tmp`)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

__all__ = ["atomic_write", "atomic_write_chunks"]


def atomic_write_chunks(path: Path, chunks: Iterable[bytes], *, fsync: bool = True) -> None:
    """Write `chunks` to `path` atomically; `fsync=False` for files that may be lost (caches)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            for chunk in chunks:
                fh.write(chunk)
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write(path: Path, text: str) -> None:
    """Write `text` to `path` as UTF-8, atomically and synced."""
    atomic_write_chunks(path, [text.encode("utf-8")])
