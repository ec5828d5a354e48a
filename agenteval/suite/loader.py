"""Loading and validating suite files: YAML/JSON -> SuiteFile -> Suite with every sample resolved."""

from __future__ import annotations

import hashlib
import json
import os
from array import array
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from ..errors import ConfigError
from ..registry import did_you_mean
from ..schema import MetricSpec, ResolvedSample, Sample, SampleSource, Suite, SuiteFile, Threshold
from ..schema.sample_list import SampleListBuilder
from .datafiles import iter_rows
from .yaml_lines import LineMap, read_yaml_file

__all__ = ["load_suite", "load_suite_with_deps", "sample_hash", "canonical_json", "suite_from_data"]

_TAGS = {"sample", "source"}  # discriminator tags pydantic puts into error locations
_SAMPLE_FIELDS = set(Sample.model_fields)
_HASHED_FIELDS = {"vars", "input", "messages", "turns", "expected", "expected_trajectory", "script",
                  "initial_state", "expected_state"}


def canonical_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def sample_hash(sample: Sample) -> str:
    """sha256 of what the sample asks and expects (id, tags and metadata excluded)."""
    content = sample.model_dump(mode="json", include=_HASHED_FIELDS, exclude_none=True)
    return hashlib.sha256(canonical_json(content).encode()).hexdigest()


def _field_name(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for i, p in enumerate(loc):
        if isinstance(p, str) and p in _TAGS and i > 0 and isinstance(loc[i - 1], int):
            continue
        if isinstance(p, int):
            parts.append(f"[{p}]")
        else:
            parts.append(("." if parts else "") + str(p))
    return "".join(parts)


def _hint(err: Any, model: type[BaseModel]) -> str | None:
    kind = err["type"]
    if kind == "missing":
        return "this field is required"
    if kind == "extra_forbidden":
        name = str(err["loc"][-1])
        known = list(model.model_fields)
        loc = [p for p in err["loc"] if not (isinstance(p, str) and p in _TAGS)]
        if len(loc) >= 3 and loc[0] == "samples":
            known = list(Sample.model_fields) + list(SampleSource.model_fields)
        return did_you_mean(name, known)
    return None


def _raise_validation(exc: ValidationError, file: str, lines: LineMap | None, model: type[BaseModel],
                      line: int | None = None, prefix: str = "") -> None:
    errors = exc.errors()
    err = errors[0]
    loc = tuple(err["loc"])
    if lines is not None:
        line = lines.line_for(loc) or line
    more = f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
    msg = err["msg"]
    if err["type"] not in ("missing", "extra_forbidden") and "input" in err:
        got = repr(err["input"])
        msg += f", got {got[:60]}"
    raise ConfigError(msg + more, file=file, line=line, field=prefix + _field_name(loc),
                      hint=_hint(err, model)) from None


Dep = tuple[Path, os.stat_result]
"""A data file a suite read (as the suite names it, not resolved) and its stat from before reading it."""


def _resolve_source(path: Path, source: SampleSource, line: int | None,
                    deps: list[Dep | None] | None = None) -> Iterator[tuple[Sample, str]]:
    """The source's samples with their `file:line`, one row at a time (a data file is never read whole
    when its format allows). The data file read is added to `deps` (None for a dataset)."""
    mapping = source.mapping()
    unknown = [f for f in mapping if f not in _SAMPLE_FIELDS]
    if unknown:
        raise ConfigError(f"unknown sample field {unknown[0]!r} in the field mapping", file=str(path),
                          line=line, field="fields", hint=did_you_mean(unknown[0], sorted(_SAMPLE_FIELDS)))
    column_to_field = {col: f for f, col in mapping.items()}
    data_path, rows = iter_rows(path, source, line=line)
    if deps is not None:
        deps.append(None if source.dataset is not None else (data_path.absolute(), os.stat(data_path)))
    where = f"{data_path}:"
    for rowline, row in rows:
        missing = [col for col in mapping.values() if col not in row]
        if missing:
            raise ConfigError(f"row has no column {missing[0]!r}", file=str(data_path), line=rowline,
                              field=missing[0], hint="columns: " + ", ".join(map(str, row)))
        fields: dict[str, Any] = {}
        variables: dict[str, Any] = {}
        for col, value in row.items():
            target = column_to_field.get(col)
            if target is None and col in _SAMPLE_FIELDS and col not in mapping:
                target = col
            if target is None:
                variables[str(col)] = value
            elif target == "vars" and isinstance(value, dict):
                variables.update(value)
            else:
                fields[target] = value
        if variables:
            fields["vars"] = {**variables, **fields.get("vars", {})}
        if source.tags:
            fields["tags"] = list(fields.get("tags") or []) + source.tags
        try:
            sample = Sample.model_validate(fields)
        except ValidationError as exc:
            _raise_validation(exc, str(data_path), None, Sample, line=rowline)
            raise  # unreachable
        yield sample, f"{where}{rowline}"


class _SeenIds:
    """The sample ids seen so far, as their hashes in an open-addressing table of 8-byte slots: no
    object per id while a data file streams in. `add` says False for an id whose hash was seen, which
    the caller then confirms (a different id with the same 64-bit hash is all but impossible)."""

    def __init__(self) -> None:
        self._slots = array("q", bytes(8 * 1024))  # 0: empty
        self._mask = 1023
        self._n = 0

    def add(self, sample_id: str) -> bool:
        h = hash(sample_id) or 1
        slots, mask = self._slots, self._mask
        i = h & mask
        while slots[i]:
            if slots[i] == h:
                return False
            i = (i + 1) & mask
        slots[i] = h
        self._n += 1
        if 2 * self._n > mask:
            self._grow()
        return True

    def _grow(self) -> None:
        old = self._slots
        self._slots = array("q", bytes(16 * len(old)))
        self._mask = 2 * len(old) - 1
        for h in old:
            if h:
                i = h & self._mask
                while self._slots[i]:
                    i = (i + 1) & self._mask
                self._slots[i] = h


def _metrics_and_thresholds(sf: SuiteFile, file: str, lines: LineMap) -> tuple[list[MetricSpec], dict[str, Threshold]]:
    """The suite's metrics and thresholds: its own `metrics:`, or its task preset's, or `exact_match`;
    then `add_metrics` / `remove_metrics`; the suite's `thresholds` override the preset's."""
    thresholds: dict[str, Threshold] = {}
    if sf.metrics is not None:
        metrics = list(sf.metrics)
    elif sf.task is not None:
        from ..presets import get_preset

        preset = get_preset(sf.task)
        metrics = list(preset.metrics)
        thresholds = dict(preset.thresholds)
    else:
        metrics = [MetricSpec.model_validate("exact_match")]
    metrics += sf.add_metrics
    ids = [m.id for m in metrics]
    for i, mid in enumerate(sf.remove_metrics):
        if mid not in ids:
            raise ConfigError(f"cannot remove metric {mid!r}: it is not among {', '.join(ids)}", file=file,
                              line=lines.line_for(("remove_metrics", i)), field="remove_metrics",
                              hint=did_you_mean(mid, ids))
    metrics = [m for m in metrics if m.id not in sf.remove_metrics]
    kept = {m.id for m in metrics}
    thresholds = {k: v for k, v in thresholds.items() if k in kept}
    thresholds.update(sf.thresholds)
    return metrics, thresholds


def load_suite(path: str | Path, *, cache_dir: Path | None = None) -> Suite:
    """Load, validate and expand a suite file. Every problem is a ConfigError naming file:line.

    With `cache_dir`, through the suite cache there (see `suite.cache`): an unchanged suite is read
    back already loaded and checked."""
    if cache_dir is not None:
        from .cache import load_suite_cached

        return load_suite_cached(path, cache_dir)
    return load_suite_with_deps(path)[0]


def load_suite_with_deps(path: str | Path) -> tuple[Suite, list[Dep] | None]:
    """`load_suite(path)` and the data files it read, each with its stat from before it was read (None
    when it read a dataset, which is a folder or a library's cache rather than one file)."""
    data, lines = read_yaml_file(path, "suite")
    deps: list[Dep | None] = []
    suite = suite_from_data(data, path, lines, deps=deps)
    return suite, (None if any(d is None for d in deps) else [d for d in deps if d is not None])


def suite_from_data(data: Any, path: str | Path, lines: LineMap | None = None, *,
                    deps: list[Dep | None] | None = None) -> Suite:
    """Validate and expand an already parsed suite (e.g. built in Python by the pytest plugin's
    `run_sample`); `path` names it in errors and anchors relative data files. The data files read are
    added to `deps` (see `load_suite_with_deps`)."""
    p = Path(path)
    file = str(p)
    lines = lines or LineMap({})
    if not isinstance(data, dict):
        raise ConfigError("a suite file must be a mapping with at least `name` and `samples`", file=file,
                          line=1)
    try:
        sf = SuiteFile.model_validate(data)
    except ValidationError as exc:
        _raise_validation(exc, file, lines, SuiteFile)
        raise  # unreachable

    # Each sample is validated, hashed and compacted before the next row is read.
    builder = SampleListBuilder(ResolvedSample)
    seen = _SeenIds()
    for i, item in enumerate(sf.samples):
        line = lines.line_for(("samples", i))
        pairs = (_resolve_source(p, item, line, deps) if isinstance(item, SampleSource)
                 else [(item, f"{file}:{line}")])
        for sample, origin in pairs:
            h = sample_hash(sample)
            sid = sample.id if sample.id is not None else h[:12]
            if not seen.add(sid):  # maybe seen: look for it
                first = builder.build()
                k = next((k for k, other in enumerate(first.ids()) if other == sid), None)
                if k is not None:
                    o_file, _, o_line = origin.rpartition(":")
                    raise ConfigError(f"duplicate sample id {sid!r} (first defined at {first.origin(k)})",
                                      file=o_file, line=int(o_line) if o_line.isdigit() else None, field="id",
                                      hint="sample ids must be unique; they pair results across runs")
            builder.append(sample, sid, h, origin)
    del seen
    resolved = builder.build()

    metrics, thresholds = _metrics_and_thresholds(sf, file, lines)
    sf = sf.model_copy(update={"metrics": metrics, "thresholds": thresholds})
    ids = [m.id for m in metrics]
    for i, m in enumerate(metrics):
        if ids.count(m.id) > 1:
            raise ConfigError(f"metric id {m.id!r} is used twice", file=file,
                              line=lines.line_for(("metrics", i)), field="metrics",
                              hint="give one of them `id: <other name>`")
    if sf.gates is not None:
        for key in sf.gates.max_drop:
            if key not in ids:
                raise ConfigError(f"gate for unknown metric {key!r}", file=file,
                                  line=lines.line_for(("gates", "max_drop", key)), field=f"gates.max_drop.{key}",
                                  hint=did_you_mean(key, ids))
    for key in sf.thresholds:
        if key not in ids:
            raise ConfigError(f"threshold for unknown metric {key!r}", file=file,
                              line=lines.line_for(("thresholds", key)), field=f"thresholds.{key}",
                              hint=did_you_mean(key, ids))

    # Policy (thresholds, gates, pass_if) and presentation are not content: changing them keeps the hash.
    policy = {"samples", "description", "backend", "gates", "thresholds", "pass_if", "add_metrics", "remove_metrics",
              "slice_by"}
    settings = sf.model_dump(mode="json", exclude=policy, exclude_none=True)
    digest = hashlib.sha256(canonical_json(settings).encode())
    for sid, h in zip(resolved.ids(), resolved.hashes(), strict=True):
        digest.update(f"\n{sid}={h}".encode())
    return Suite(path=file, name=sf.name, version=sf.version, description=sf.description, task=sf.task,
                 backend=sf.backend, system=sf.system, prompt=sf.prompt, tools=sf.tools,
                 environment=sf.environment, gates=sf.gates, pass_if=sf.pass_if,
                 output_schema=sf.output_schema, labels=sf.labels, metrics=metrics, thresholds=thresholds,
                 slice_by=sf.slice_by, samples=resolved, content_hash=digest.hexdigest())


def metric_line(suite_path: str, index: int) -> int | None:
    """Line of the index-th metric of a suite file (for errors found after loading)."""
    return field_line(suite_path, ("metrics", index))


def field_line(suite_path: str, path: tuple[str | int, ...]) -> int | None:
    """Line of a field of a suite file, e.g. `("slice_by", 0)` (for errors found after loading)."""
    try:
        _, lines = read_yaml_file(suite_path, "suite")
    except ConfigError:
        return None
    return lines.line_for(path)
