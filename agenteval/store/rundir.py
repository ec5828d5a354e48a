"""Run folders: `<results>/runs/<run_id>/{manifest.json, samples.jsonl, summary.json}`.

`samples.jsonl` is appended and flushed one whole line per finished sample, so a killed run loses at
most the line being written. Reading repairs a torn last line (a kill mid-write) by cutting it off, so
`--resume` redoes that sample. When a run finishes, the file is rewritten in task order (atomically).
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO, TypeVar

from pydantic import BaseModel, ValidationError

from ..errors import ConfigError
from ..schema import RunManifest, RunSummary, SampleResult

M = TypeVar("M", bound=BaseModel)

__all__ = ["RunDir", "atomic_write", "new_run_id", "results_root", "utc_now"]

MANIFEST = "manifest.json"
SAMPLES = "samples.jsonl"
SUMMARY = "summary.json"


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def results_root(option: str | os.PathLike[str] | None) -> Path:
    """The results root: the option, else $AGENTEVAL_RESULTS, else ./results."""
    return Path(option or os.environ.get("AGENTEVAL_RESULTS") or "results")


def new_run_id(suite_name: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in suite_name)[:40].strip("-") or "run"
    return f"{stamp}-{safe}-{secrets.token_hex(3)}"


def atomic_write(path: Path, text: str) -> None:
    """Write `text` to `path` via a temporary file and rename, so readers never see half a file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _dump(model: BaseModel) -> str:
    return model.model_dump_json(indent=2) + "\n"


class RunDir:
    """One run's folder."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.run_id = path.name
        self._fh: TextIO | None = None

    @classmethod
    def create(cls, root: Path, run_id: str) -> RunDir:
        path = root / "runs" / run_id
        path.mkdir(parents=True, exist_ok=False)
        return cls(path)

    @classmethod
    def open(cls, root: Path, run: str) -> RunDir:
        """A run by id (under root/runs) or by folder path."""
        candidates = [root / "runs" / run, Path(run)]
        for c in candidates:
            if (c / MANIFEST).is_file():
                return cls(c)
        raise ConfigError(f"no run {run!r} under {root / 'runs'}", field="run",
                          hint="see `agenteval list runs`, or pass the run folder")

    # -- manifest / summary ------------------------------------------------------------------
    def write_manifest(self, manifest: RunManifest) -> None:
        atomic_write(self.path / MANIFEST, _dump(manifest))

    def read_manifest(self) -> RunManifest:
        return self._read_model(MANIFEST, RunManifest)

    def write_summary(self, summary: RunSummary) -> None:
        atomic_write(self.path / SUMMARY, _dump(summary))

    def read_summary(self) -> RunSummary | None:
        if not (self.path / SUMMARY).exists():
            return None
        return self._read_model(SUMMARY, RunSummary)

    def _read_model(self, name: str, model: type[M]) -> M:
        p = self.path / name
        try:
            return model.model_validate_json(p.read_bytes())
        except (OSError, ValidationError) as exc:
            raise ConfigError(f"cannot read {name}: {exc}", file=str(p)) from None

    # -- samples.jsonl -------------------------------------------------------------------------
    @property
    def samples_path(self) -> Path:
        return self.path / SAMPLES

    def repair(self) -> int:
        """Cut off a torn last line (a kill mid-write). Returns the bytes removed."""
        p = self.samples_path
        if not p.exists():
            return 0
        with p.open("rb+") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            if size == 0:
                return 0
            fh.seek(size - 1)
            if fh.read(1) == b"\n":
                return 0
            # find the last newline
            pos = size - 1
            block = 65536
            while pos > 0:
                start = max(0, pos - block)
                fh.seek(start)
                chunk = fh.read(pos - start)
                idx = chunk.rfind(b"\n")
                if idx >= 0:
                    keep = start + idx + 1
                    break
                pos = start
            else:
                keep = 0
            fh.truncate(keep)
            return size - keep

    def iter_results(self) -> Iterator[SampleResult]:
        """Every complete result line. A corrupt line other than a torn last one is a ConfigError."""
        p = self.samples_path
        if not p.exists():
            return
        with p.open("r", encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, start=1):
                if not line.endswith("\n"):
                    return  # torn last line: not a result
                try:
                    yield SampleResult.model_validate_json(line)
                except ValidationError as exc:
                    raise ConfigError(f"corrupt result line: {exc.errors()[0]['msg']}", file=str(p),
                                      line=lineno) from None

    def open_for_append(self) -> None:
        self._fh = self.samples_path.open("a", encoding="utf-8")

    def append(self, result: SampleResult) -> None:
        """Append one result as one line, flushed (one write call per line)."""
        fh = self._fh
        assert fh is not None, "open_for_append() first"
        fh.write(result.model_dump_json() + "\n")
        fh.flush()

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def rewrite_in_order(self, order: Iterable[tuple[str, int]]) -> None:
        """Rewrite samples.jsonl in task order (keeps the last line per key; drops none)."""
        lines: dict[tuple[str, int], str] = {}
        extra: list[str] = []
        with self.samples_path.open("r", encoding="utf-8") as fh:
            for line in fh:
                if not line.endswith("\n"):
                    continue
                head = json.loads(line)
                lines[(head["sample_id"], head["repeat"])] = line
        out: list[str] = []
        for key in order:
            if key in lines:
                out.append(lines.pop(key))
        extra.extend(lines.values())  # results of tasks outside the order (never expected)
        atomic_write(self.samples_path, "".join(out + extra))
