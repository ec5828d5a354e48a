"""Rows from data files (JSONL, JSON, CSV, Parquet) and local Hugging Face datasets.

Each row comes with the line (JSONL line, CSV row's line, Parquet/dataset row index) it came from, so a
bad row is reported as `file:line`. Rows are read one at a time (Parquet a record batch at a time; a
`.json` list is parsed whole), so the loader can compact each sample before the next row is read.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..schema import SampleSource

__all__ = ["iter_rows", "outside_data_allowed", "resolve_data_path"]

Row = tuple[int, dict[str, Any]]
"""(line or 1-based row number, row as a dict)."""


def outside_data_allowed() -> bool:
    """Whether data files may lie outside the suite's folder (`--allow-outside-data` sets this)."""
    return os.environ.get("AGENTEVAL_ALLOW_OUTSIDE_DATA", "") not in ("", "0", "false", "no")


def resolve_data_path(suite_path: Path, ref: str, *, line: int | None) -> Path:
    """A data path relative to the suite file's folder; it must exist and, unless allowed explicitly,
    stay inside that folder (a suite from elsewhere cannot make agenteval read arbitrary files)."""
    p = Path(ref)
    if not p.is_absolute():
        p = suite_path.parent / p
    base = suite_path.resolve().parent
    if not p.resolve().is_relative_to(base) and not outside_data_allowed():
        raise ConfigError(f"data path {ref} leads outside the suite's folder ({base})", file=str(suite_path),
                          line=line, field="samples.file",
                          hint="move the data next to the suite, or pass --allow-outside-data "
                               "(AGENTEVAL_ALLOW_OUTSIDE_DATA=1) if you trust this suite")
    if not p.exists():
        raise ConfigError(f"data file not found: {ref} (looked at {p})", file=str(suite_path), line=line,
                          field="samples.file", hint="paths are relative to the suite file")
    return p


def _jsonl(path: Path) -> Iterator[Row]:
    with path.open("r", encoding="utf-8") as fh:
        for lineno, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                row = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise ConfigError(f"bad JSON line: {exc.msg} (column {exc.colno})", file=str(path),
                                  line=lineno, hint="each line must be one JSON object") from None
            if not isinstance(row, dict):
                raise ConfigError(f"each line must be a JSON object, got {type(row).__name__}",
                                  file=str(path), line=lineno)
            yield lineno, row


def _json(path: Path) -> Iterator[Row]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"bad JSON: {exc.msg}", file=str(path), line=exc.lineno) from None
    if isinstance(data, dict) and isinstance(data.get("samples"), list):
        data = data["samples"]
    if not isinstance(data, list):
        raise ConfigError("a JSON data file must hold a list of objects", file=str(path), line=1)
    for i, row in enumerate(data, start=1):
        if not isinstance(row, dict):
            raise ConfigError(f"item {i} is not an object", file=str(path))
        yield i, row


def _csv(path: Path) -> Iterator[Row]:
    with path.open("r", encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames is None:
            return
        for row in reader:
            if None in row:
                raise ConfigError(f"row has more cells than the header's {len(reader.fieldnames)}",
                                  file=str(path), line=reader.line_num)
            yield reader.line_num, {k: v for k, v in row.items()}


def _parquet(path: Path, batch_size: int = 1024) -> Iterator[Row]:
    """Rows in record batches, so a large file is never converted to Python objects whole."""
    import pyarrow.parquet as pq

    def corrupt(exc: Exception) -> ConfigError:
        return ConfigError(f"cannot read Parquet file: {exc}", file=str(path))

    pf: Any = None
    try:
        if path.is_dir():  # a partitioned dataset: read as one table, converted batch by batch
            batches: Iterator[Any] = iter(pq.read_table(path).to_batches(max_chunksize=batch_size))
        else:
            pf = pq.ParquetFile(path)
            batches = pf.iter_batches(batch_size=batch_size)
    except Exception as exc:  # pyarrow raises several types for corrupt files
        raise corrupt(exc) from None
    i = 0
    try:
        while True:
            try:
                batch = next(batches, None)
            except Exception as exc:
                raise corrupt(exc) from None
            if batch is None:
                return
            for row in batch.to_pylist():
                i += 1
                yield i, row
    finally:
        if pf is not None:
            pf.close()


def _hf_dataset(path: Path, split: str | None, where: str) -> Iterator[Row]:
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        import datasets
    except ImportError:
        raise ConfigError("reading a Hugging Face dataset needs the `datasets` package",
                          file=where, hint="pip install datasets") from None
    try:
        if path.is_dir() and ((path / "dataset_info.json").exists() or (path / "dataset_dict.json").exists()):
            ds: Any = datasets.load_from_disk(str(path))
        else:
            builder = {".jsonl": "json", ".json": "json", ".csv": "csv", ".parquet": "parquet"}.get(
                path.suffix.lower())
            if builder is None:
                raise ConfigError(f"cannot tell the format of dataset {path}", file=where,
                                  hint="use a folder made by save_to_disk, or a .jsonl/.csv/.parquet file")
            ds = datasets.load_dataset(builder, data_files=str(path))
    except ConfigError:
        raise
    except Exception as exc:
        raise ConfigError(f"cannot load dataset {path}: {exc}", file=where) from None
    if isinstance(ds, datasets.DatasetDict):
        names = list(ds.keys())
        chosen = split or (names[0] if len(names) == 1 else "train")
        if chosen not in ds:
            raise ConfigError(f"dataset has no split {chosen!r}", file=where, field="split",
                              hint="splits: " + ", ".join(names))
        ds = ds[chosen]
    for i, row in enumerate(ds, start=1):
        yield i, dict(row)


def iter_rows(suite_path: Path, source: SampleSource, *, line: int | None) -> tuple[Path, Iterator[Row]]:
    """The resolved data path and an iterator over its rows."""
    where = f"{suite_path}"
    if source.dataset is not None:
        path = resolve_data_path(suite_path, source.dataset, line=line)
        return path, _hf_dataset(path, source.split, where)
    assert source.file is not None  # guaranteed by SampleSource's validator
    path = resolve_data_path(suite_path, source.file, line=line)
    suffix = path.suffix.lower()
    readers = {".jsonl": _jsonl, ".ndjson": _jsonl, ".json": _json, ".csv": _csv, ".parquet": _parquet}
    reader = readers.get(suffix)
    if reader is None:
        raise ConfigError(f"unsupported data file type {suffix!r}", file=str(suite_path), line=line,
                          field="samples.file", hint="use .jsonl, .json, .csv or .parquet, or `dataset:`")
    return path, reader(path)
