"""Run folders: `<results>/runs/<run_id>/{manifest.json, samples.jsonl, summary.json}`.

`samples.jsonl` is appended one whole line per finished sample, with one `write` call, so a killed run
loses at most the line being written. Reading repairs a torn last line (a kill mid-write) by cutting it
off, so `--resume` redoes that sample. When a run finishes, the file is put in task order: left alone
when it already is, else rewritten (atomically) by copying lines from an index of byte offsets, never
holding the lines themselves in memory.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import BinaryIO, TypeVar

from pydantic import BaseModel, ValidationError

from ..atomicfile import atomic_write, atomic_write_chunks
from ..errors import ConfigError
from ..schema import ResolvedSample, RunManifest, RunSummary, SampleResult
from ..schema.sample_list import sample_hashes, sample_ids

M = TypeVar("M", bound=BaseModel)

__all__ = ["RunDir", "atomic_write", "atomic_write_chunks", "line_key", "new_run_id", "results_root", "utc_now"]

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


def _dump(model: BaseModel) -> str:
    return model.model_dump_json(indent=2) + "\n"


_HASHES_KEY = '\n    "sample_hashes": {}'
"""The suite's sample hashes in a manifest dumped with `_dump` and emptied."""
_STREAM_FROM = 1000
"""Manifests with at least this many sample hashes are written in pieces."""


def _manifest_chunks(manifest: RunManifest, pairs: Iterable[tuple[str, str]]) -> Iterator[bytes]:
    """`_dump(manifest)` with `pairs` as its suite's sample hashes, as UTF-8, byte for byte, without
    ever holding it whole: the hashes (one line each) go a block at a time into the dump of the rest."""
    slim = manifest.model_copy(update={"suite": manifest.suite.model_copy(update={"sample_hashes": {}})})
    head, key, tail = _dump(slim).partition(_HASHES_KEY)
    if not key:  # not the layout this expects: no streaming
        full = {**manifest.suite.sample_hashes, **dict(pairs)}
        yield _dump(manifest.model_copy(update={"suite": manifest.suite.model_copy(
            update={"sample_hashes": full})})).encode()
        return
    yield (head + key[:-1]).encode()
    string = json.encoder.encode_basestring  # what JSONEncoder(ensure_ascii=False) writes for a str
    it = iter(pairs)
    first = next(it, None)
    if first is None:
        yield ("}" + tail).encode()
        return
    yield f"\n      {string(first[0])}: {string(first[1])}".encode()
    while block := list(islice(it, 4096)):
        yield "".join([f",\n      {string(sid)}: {string(digest)}" for sid, digest in block]).encode()
    yield ("\n    }" + tail).encode()


def _id_hash_pairs(samples: Sequence[ResolvedSample]) -> Iterator[tuple[str, str]]:
    return zip(sample_ids(samples), sample_hashes(samples), strict=True)


# A result line as SampleResult.model_dump_json writes it starts with its key.
_KEY = re.compile(rb'\{"sample_id":("(?:[^"\\]|\\.)*"),"repeat":(-?\d+)[,}]')
_LOW32 = (1 << 32) - 1


def line_key(line: bytes) -> tuple[str, int]:
    """(sample_id, repeat) of a result line, read from its start without parsing the rest."""
    m = _KEY.match(line)
    if m is not None:
        sid = json.loads(m[1])
        if isinstance(sid, str):
            return sid, int(m[2])
    head = json.loads(line)  # written by something else: parse it whole
    return head["sample_id"], head["repeat"]


HOLD_LINES = 256
"""Held result lines (cached answers) written together (see `RunDir.append`)."""


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _copy_range(src: BinaryIO, dst: BinaryIO, start: int, length: int, block: int = 1 << 20) -> None:
    src.seek(start)
    while length > 0:
        chunk = src.read(min(block, length))
        if not chunk:
            raise OSError("samples.jsonl shrank while it was being rewritten")
        dst.write(chunk)
        length -= len(chunk)


class RunDir:
    """One run's folder."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.run_id = path.name
        self._fd: int | None = None
        self._held: list[bytes] = []

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
    def write_manifest(self, manifest: RunManifest, samples: Sequence[ResolvedSample] | None = None) -> None:
        """Write manifest.json. With `samples` (the suite's), their ids and hashes are written as the
        suite's sample hashes, which `manifest` then leaves empty: read from the samples as written,
        never all held in a dict."""
        hashes = manifest.suite.sample_hashes
        if samples is None and len(hashes) < _STREAM_FROM:
            atomic_write(self.path / MANIFEST, _dump(manifest))
            return
        if samples is not None and hashes:
            raise ValueError("give the sample hashes either in the manifest or as samples, not both")
        try:
            atomic_write_chunks(self.path / MANIFEST, _manifest_chunks(manifest, hashes.items() if samples is None
                                                                       else _id_hash_pairs(samples)))
        except UnicodeEncodeError:  # lone surrogates: let pydantic say what it says about them
            if samples is not None:
                manifest = manifest.model_copy(update={"suite": manifest.suite.model_copy(
                    update={"sample_hashes": dict(_id_hash_pairs(samples))})})
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
        self._fd = os.open(self.samples_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        self._held = []

    def append(self, result: SampleResult, *, hold: bool = False) -> None:
        """Append one result as one line, with one write call.

        `hold=True` (a result that cost nothing to make again: its answer came from the cache) may keep
        the line in memory until `HOLD_LINES` lines wait, the next result that is not held, `flush` or
        `close`, and writes them in one call: a kill can lose only results that a resume makes again
        from the cache. Lines are written in the order they were appended either way."""
        fd = self._fd
        assert fd is not None, "open_for_append() first"
        line = result.__pydantic_serializer__.to_json(result) + b"\n"
        if hold:
            self._held.append(line)
            if len(self._held) >= HOLD_LINES:
                self.flush()
            return
        if self._held:
            self._held.append(line)
            self.flush()
            return
        _write_all(fd, line)

    def flush(self) -> None:
        """Write the held lines."""
        if self._fd is not None and self._held:
            data, self._held = b"".join(self._held), []
            _write_all(self._fd, data)

    def close(self) -> None:
        if self._fd is not None:
            try:
                self.flush()
            finally:
                os.close(self._fd)
                self._fd = None

    def rewrite_in_order(self, order: Iterable[tuple[str, int]]) -> None:
        """Put samples.jsonl in task order (keeps the last line per key; drops none but a torn last one).

        One pass indexes the lines by key (byte offset and length, not the lines). Walking `order`, the
        file is left as it is while it already matches; from the first line out of place on, lines are
        copied into a temporary file that replaces samples.jsonl atomically. Results of keys outside
        `order` (never expected) follow in file order.
        """
        p = self.samples_path
        if not p.exists():
            return
        index: dict[tuple[str, int], int] = {}  # key -> offset << 32 | length of its last line
        size = 0  # bytes of complete lines
        with p.open("rb") as fh:
            for line in fh:
                if not line.endswith(b"\n"):
                    break  # a torn last line
                index[line_key(line)] = size << 32 | len(line)
                size += len(line)
        with p.open("rb") as src:
            out: BinaryIO | None = None
            tmp = ""
            try:
                expected = 0  # while in order: the offset the next line must have
                for key in order:
                    found = index.pop(key, None)
                    if found is None:
                        continue
                    offset, length = found >> 32, found & _LOW32
                    if out is None:
                        if offset == expected:
                            expected += length
                            continue
                        fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.", suffix=".tmp")
                        out = os.fdopen(fd, "wb")
                        _copy_range(src, out, 0, expected)
                    _copy_range(src, out, offset, length)
                if out is None:
                    if not index and expected == size:
                        if p.stat().st_size != size:
                            with p.open("rb+") as fh:
                                fh.truncate(size)  # only a torn last line was out of place
                        return
                    fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.", suffix=".tmp")
                    out = os.fdopen(fd, "wb")
                    _copy_range(src, out, 0, expected)
                for found in sorted(index.values()):
                    _copy_range(src, out, found >> 32, found & _LOW32)
                out.flush()
                os.fsync(out.fileno())
                out.close()
                os.replace(tmp, p)
            except BaseException:
                if out is not None:
                    out.close()
                    Path(tmp).unlink(missing_ok=True)
                raise
