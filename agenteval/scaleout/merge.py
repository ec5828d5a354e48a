"""Merge shard runs (`agenteval run --shard I/N`) into one run whose summary equals the unsharded one.

The parts must come from the same suite content (hash), backend (spec and options), metrics and judges,
with the same `repeat` and `limit`; concurrency and cache may differ. No (sample_id, repeat) may appear
twice, and by default every case of the suite must be covered (a missing shard is an error, not a
quietly smaller run). Results are written in suite order, streamed: only (key, offset) pairs are kept
in memory. The summary is recomputed from the merged file with `summarize`, exactly as a plain run does.

The merged manifest records its parts in `labels`: `merged_from` (the part run ids, comma-separated)
and `merged_shards` (their `--shard` values, in the same order).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..analysis.summary import summarize
from ..errors import ConfigError
from ..runner.engine import RunOutcome
from ..schema import RunManifest, RunSummary, Threshold
from ..store.rundir import RunDir, new_run_id, utc_now

__all__ = ["merge_runs", "thresholds_from_summary", "MERGED_FROM", "MERGED_SHARDS"]

MERGED_FROM = "merged_from"
MERGED_SHARDS = "merged_shards"
_SHOWN = 5


@dataclass
class _Part:
    run_dir: RunDir
    manifest: RunManifest
    summary: RunSummary


def _load_part(run_dir: RunDir) -> _Part:
    manifest = run_dir.read_manifest()
    summary = run_dir.read_summary()
    if manifest.finished_at is None or summary is None:
        raise ConfigError(f"run {manifest.run_id} is unfinished", file=str(run_dir.path),
                          hint=f"finish it with `agenteval run {manifest.suite.path} --resume {manifest.run_id}`")
    return _Part(run_dir, manifest, summary)


def _check_compatible(parts: Sequence[_Part]) -> None:
    """Refuse parts that did not run the same thing the same way (ConfigError naming the difference)."""
    first = parts[0].manifest
    checks: list[tuple[str, object, str]] = [
        ("suite content hash", first.suite.content_hash, "the suite file changed between the shards"),
        ("suite name", first.suite.name, ""),
        ("backend", first.backend.spec, ""),
        ("backend options", first.backend.options, ""),
        ("metrics", [m.model_dump() for m in first.metrics], "metric versions or arguments differ"),
        ("judges", [m.model_dump() for m in first.judges], "judge rubrics or models differ"),
        ("repeat", first.settings.repeat, ""),
        ("limit", first.settings.limit, ""),
        ("metric ids", list(parts[0].summary.metrics), ""),
    ]
    for p in parts[1:]:
        m = p.manifest
        theirs: list[object] = [
            m.suite.content_hash, m.suite.name, m.backend.spec, m.backend.options,
            [x.model_dump() for x in m.metrics], [x.model_dump() for x in m.judges], m.settings.repeat,
            m.settings.limit, list(p.summary.metrics),
        ]
        for (what, mine, why), other in zip(checks, theirs, strict=True):
            if mine != other:
                raise ConfigError(
                    f"runs {first.run_id} and {m.run_id} differ in {what}: {_short(mine)} vs {_short(other)}",
                    field="RUN", hint=(why + "; " if why else "") + "merge only shards of one run configuration")
    seen: dict[str, str] = {}
    for p in parts:
        shard = p.manifest.settings.shard
        if shard is None:
            if len(parts) > 1:
                raise ConfigError(f"run {p.manifest.run_id} is not a shard (made without --shard)", field="RUN",
                                  hint="merge runs made with `agenteval run --shard I/N`")
            continue
        if shard in seen:
            raise ConfigError(f"shard {shard} given twice: runs {seen[shard]} and {p.manifest.run_id}",
                              field="RUN", hint="give each shard once")
        seen[shard] = p.manifest.run_id


def _short(x: object) -> str:
    text = json.dumps(x, sort_keys=True, default=str) if not isinstance(x, str) else x
    return text if len(text) <= 80 else text[:77] + "..."


def _index(parts: Sequence[_Part], position: dict[str, int]) -> list[tuple[int, int, int, int]]:
    """(suite position, repeat, part, byte offset) of every result line, refusing duplicates and strangers."""
    owner: dict[tuple[str, int], str] = {}
    rows: list[tuple[int, int, int, int]] = []
    repeat = parts[0].manifest.settings.repeat
    for k, p in enumerate(parts):
        path = p.run_dir.samples_path
        if not path.exists():
            continue
        with path.open("rb") as fh:
            offset = 0
            for lineno, raw in enumerate(fh, start=1):
                here, offset = offset, offset + len(raw)
                if not raw.strip():
                    continue
                try:
                    head = json.loads(raw)
                    key = (str(head["sample_id"]), int(head["repeat"]))
                except (ValueError, KeyError, TypeError) as exc:
                    raise ConfigError(f"corrupt result line: {exc}", file=str(path), line=lineno) from None
                if key[0] not in position or not 0 <= key[1] < repeat:
                    raise ConfigError(f"result for {key[0]!r} repeat {key[1]} is not a case of the suite",
                                      file=str(path), line=lineno)
                if key in owner:
                    raise ConfigError(f"duplicate result for sample {key[0]!r} repeat {key[1]} "
                                      f"(in runs {owner[key]} and {p.manifest.run_id})", file=str(path),
                                      line=lineno, hint="each (sample, repeat) must come from one shard only")
                owner[key] = p.manifest.run_id
                rows.append((position[key[0]], key[1], k, here))
    rows.sort()
    return rows


def _check_coverage(parts: Sequence[_Part], ids: list[str], rows: list[tuple[int, int, int, int]]) -> None:
    first = parts[0].manifest
    if first.settings.limit is not None:
        return  # --limit applies per shard: there is no "whole suite" to cover
    have = {(pos, r) for pos, r, _, _ in rows}
    missing = [(ids[pos], r) for pos in range(len(ids)) for r in range(first.settings.repeat) if (pos, r) not in have]
    if not missing:
        return
    shards = [p.manifest.settings.shard for p in parts]
    hint = "run the missing shard(s) and merge them all, or pass --allow-partial"
    ns = {s.partition("/")[2] for s in shards if s}
    if len(ns) == 1 and None not in shards:
        n = int(ns.pop())
        absent = [f"{i}/{n}" for i in range(1, n + 1) if f"{i}/{n}" not in shards]
        if absent:
            hint = f"shard(s) {', '.join(absent)} missing: run them and merge them all, or pass --allow-partial"
    shown = ", ".join(f"{sid}#{r}" for sid, r in missing[:_SHOWN]) + (" ..." if len(missing) > _SHOWN else "")
    raise ConfigError(f"{len(missing)} case(s) of suite {first.suite.name} have no result: {shown}", field="RUN",
                      hint=hint)


def thresholds_from_summary(summary: RunSummary) -> dict[str, Threshold]:
    """The suite's thresholds as a summary recorded them (key `m` for min, `m:max` beside a min)."""
    out: dict[str, Threshold] = {}
    for key, tr in summary.thresholds.items():
        base = key
        if tr.kind == "max" and key.endswith(":max"):
            stem = key.removesuffix(":max")
            stem_tr = summary.thresholds.get(stem)
            if stem_tr is not None and stem_tr.kind == "min":
                base = stem
        th = out.get(base, Threshold())
        out[base] = th.model_copy(update={"min": tr.threshold} if tr.kind == "min" else {"max": tr.threshold})
    return out


def _common_labels(parts: Sequence[_Part]) -> dict[str, str]:
    labels = dict(parts[0].manifest.labels)
    for p in parts[1:]:
        labels = {k: v for k, v in labels.items() if p.manifest.labels.get(k) == v}
    return labels


def merge_runs(run_dirs: Sequence[RunDir], results_root: Path, *, allow_partial: bool = False,
               thresholds: dict[str, Threshold] | None = None, labels: dict[str, str] | None = None,
               run_id: str | None = None) -> RunOutcome:
    """Merge finished shard runs into a new run under `results_root`; returns its outcome.

    `thresholds` defaults to those recorded in the parts' summaries (the suite's). `labels` are added
    to the labels the parts share. Raises ConfigError for parts that differ, duplicates, unknown cases
    and, unless `allow_partial`, cases no part covers.
    """
    if not run_dirs:
        raise ConfigError("nothing to merge", field="RUN", hint="agenteval merge RUN1 RUN2 ...")
    parts = [_load_part(rd) for rd in run_dirs]
    _check_compatible(parts)
    first = parts[0].manifest
    ids = list(first.suite.sample_hashes)  # suite order (JSON objects keep their order)
    position = {sid: k for k, sid in enumerate(ids)}
    rows = _index(parts, position)
    if not allow_partial:
        _check_coverage(parts, ids, rows)

    out = RunDir.create(results_root, run_id or new_run_id(first.suite.name))
    _write_in_order(out, parts, rows)

    merged_labels = _common_labels(parts)
    merged_labels.update(labels or {})
    merged_labels[MERGED_FROM] = ",".join(p.manifest.run_id for p in parts)
    merged_labels[MERGED_SHARDS] = ",".join(p.manifest.settings.shard or "-" for p in parts)
    shas = {p.manifest.git_sha for p in parts}
    settings = first.settings.model_copy(update={
        "shard": None,
        "concurrency": max(p.manifest.settings.concurrency for p in parts),
        "cache": all(p.manifest.settings.cache for p in parts),
    })
    manifest = first.model_copy(update={
        "run_id": out.run_id, "settings": settings, "labels": merged_labels,
        "git_sha": shas.pop() if len(shas) == 1 else None,
        "started_at": min(p.manifest.started_at for p in parts), "finished_at": None,
    })
    out.write_manifest(manifest)
    th = thresholds if thresholds is not None else thresholds_from_summary(parts[0].summary)
    summary = summarize(out.run_id, out.iter_results(), list(parts[0].summary.metrics), th,
                        slice_by=settings.slice_by, grouped=True)  # merged in suite order
    out.write_summary(summary)
    manifest = manifest.model_copy(update={"finished_at": utc_now()})
    out.write_manifest(manifest)
    return RunOutcome(run_dir=out, manifest=manifest, summary=summary, n_new=len(rows))


def _write_in_order(out: RunDir, parts: Sequence[_Part], rows: list[tuple[int, int, int, int]]) -> None:
    """Write samples.jsonl from the parts' lines in `rows` order (atomic: a temp file, then rename)."""
    handles = [p.run_dir.samples_path.open("rb") if p.run_dir.samples_path.exists() else None for p in parts]
    fd, tmp = tempfile.mkstemp(dir=out.path, prefix=".samples.jsonl.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as dst:
            for _, _, k, offset in rows:
                src = handles[k]
                assert src is not None  # rows only point into parts that have a samples file
                src.seek(offset)
                line = src.readline()
                dst.write(line if line.endswith(b"\n") else line + b"\n")
            dst.flush()
            os.fsync(dst.fileno())
        os.replace(tmp, out.samples_path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    finally:
        for h in handles:
            if h is not None:
                h.close()
