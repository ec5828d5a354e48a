"""The suite cache: a loaded and checked suite, saved so that running it again skips loading it.

Loading a suite parses its YAML, reads and validates every data row, hashes every sample and compacts
it; checking renders every sample's templates. For a 10,000-sample suite that is about 0.3 s, which a
cached re-run (every answer from the response cache) would otherwise spend before its first lookup.

`load_suite_cached(path, cache_dir)` keys an entry on the suite file's bytes, the path as given, the
working folder, the settings that change how data paths resolve, and the code that loads and checks
suites (the sizes and modification times of agenteval's modules and of pydantic's and jinja2's). The
entry lists every file the suite read (the suite file and its data files, by the path the suite gives
and the path that resolves to) with its sha256, and is used only when each path still resolves the
same way and each file still has that hash; otherwise the suite is loaded as usual and the entry
replaced. So an entry is never stale: a changed data file, suite file, retargeted symlink or loader
means a miss. A file written to while it was being loaded (its stat differs between before reading it
and after hashing it) leaves no entry. Each entry carries a checksum of its own bytes (a torn or
damaged entry is a miss too). At most 64 entries are kept per folder, those used last.

An entry holds the suite's settings as JSON and its `SampleList` columns (ids, JSON payloads, hashes,
origins); suites whose samples need pickles (NaN, lone surrogates), that read a Hugging Face dataset, or
whose settings hold a secret (a backend `api_key` written in the suite file: results folders get shared,
and an entry would copy it there) are not cached. Nothing in an entry is executed or unpickled.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import struct
from pathlib import Path

from ..atomicfile import atomic_write_chunks
from ..errors import ConfigError
from ..redaction import holds_secret
from ..schema import ResolvedSample, Suite
from ..schema.sample_list import SampleList
from .check import check_samples, mark_checked, samples_checked
from .datafiles import outside_data_allowed
from .loader import Dep, load_suite_with_deps

__all__ = ["load_suite_cached", "CACHE_FOLDER"]

CACHE_FOLDER = "suite_cache"
"""The entries' folder under a results root."""
_MAGIC = b"agenteval suite cache 1\n"
_KEEP = 64
"""Entries kept per folder (the oldest beyond these are removed when one is written)."""
_CODE = ("schema", "suite", "presets")
"""agenteval's subpackages whose code decides what a loaded and checked suite is..."""
_CODE_FILES = ("slicing.py",)
"""... and its modules that do."""
_LIBRARIES = ("pydantic", "jinja2")
"""Libraries that validate samples and render their templates."""


def _code_fingerprint() -> str:
    """Sizes and modification times of the code that loads and checks suites (agenteval's, and the
    installed pydantic and jinja2): any edit or reinstall changes it."""
    root = Path(__file__).resolve().parent.parent
    files = [Path(e.path) for sub in _CODE for e in os.scandir(root / sub) if e.name.endswith(".py")]
    files += [root / name for name in _CODE_FILES]
    for lib in _LIBRARIES:
        spec = importlib.util.find_spec(lib)
        if spec is not None and spec.origin:
            files.append(Path(spec.origin))
    h = hashlib.sha256()
    for f in sorted(files):
        try:
            st = f.stat()
        except OSError:
            h.update(f"{f}:missing\n".encode())
        else:
            h.update(f"{f}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def _file_digest(path: Path) -> str | None:
    try:
        with path.open("rb") as fh:
            return hashlib.file_digest(fh, "sha256").hexdigest()
    except OSError:
        return None


def _entry_key(path: Path, suite_bytes: bytes) -> str:
    h = hashlib.sha256(_MAGIC)
    for part in (str(path), os.getcwd(), str(outside_data_allowed()), _code_fingerprint()):
        h.update(part.encode("utf-8", "surrogatepass") + b"\0")
    h.update(suite_bytes)
    return h.hexdigest()


def _same_file(a: os.stat_result, b: os.stat_result) -> bool:
    """Whether two stats are of the same, unchanged file (ctime changes on every write and cannot be
    set back, unlike mtime)."""
    return (a.st_ino, a.st_dev, a.st_size, a.st_mtime_ns, a.st_ctime_ns) == (
        b.st_ino, b.st_dev, b.st_size, b.st_mtime_ns, b.st_ctime_ns)


def load_suite_cached(path: str | Path, cache_dir: Path) -> Suite:
    """`load_suite(path)` (and its samples checked, see `check_samples`), from `cache_dir` when an entry
    there is current; otherwise loaded as usual and saved there. Errors are `load_suite`'s."""
    p = Path(path)
    try:
        before = os.stat(p)
        suite_bytes = p.read_bytes()
    except OSError:  # let the loader report it
        return load_suite_with_deps(p)[0]
    key = _entry_key(p, suite_bytes)
    entry = cache_dir / f"{key}.bin"
    cached = _read_entry(entry)
    if cached is not None:
        return cached
    suite, deps = load_suite_with_deps(p)
    try:
        check_samples(suite)
    except ConfigError:
        return suite  # not saved; checking the suite again reports it
    if deps is not None:
        _write_entry(cache_dir, entry, suite, [(p.absolute(), before), *deps])
    return suite


def _read_entry(entry: Path) -> Suite | None:
    try:
        data = entry.read_bytes()
    except OSError:
        return None
    try:
        if not data.startswith(_MAGIC):
            return None
        pos = len(_MAGIC)
        digest, pos = data[pos:pos + 32], pos + 32
        if hashlib.sha256(data[pos:]).digest() != digest:
            return None
        (size,) = struct.unpack_from("<I", data, pos)
        header = json.loads(data[pos + 4:pos + 4 + size])
        for given, resolved, want in header["deps"]:
            # the same file by the same way (a retargeted symlink is a different file), with its content
            if str(Path(given).resolve()) != resolved or _file_digest(Path(given)) != want:
                return None
        samples = SampleList.from_bytes(data[pos + 4 + size:], ResolvedSample)
        suite = Suite.model_validate({**header["suite"], "samples": samples})
    except (ValueError, KeyError, TypeError, struct.error, OSError):
        return None  # damaged or from elsewhere: load the suite again
    mark_checked(suite)
    with contextlib.suppress(OSError):
        os.utime(entry)  # pruning keeps the entries used last
    return suite


def _write_entry(cache_dir: Path, entry: Path, suite: Suite, deps: list[Dep]) -> None:
    """Save `suite` (loaded from `deps`, checked) as `entry`; a suite that cannot be saved exactly, a
    file that changed since it was read, or a folder that cannot be written, leaves no entry (the cache
    is an optimisation, never an error)."""
    assert samples_checked(suite)
    samples = suite.samples
    body = samples.to_bytes() if isinstance(samples, SampleList) else None
    if body is None:
        return
    recorded: list[list[str]] = []
    for path, before in deps:
        digest = _file_digest(path)
        try:
            unchanged = _same_file(os.stat(path), before)
        except OSError:
            return
        if digest is None or not unchanged:  # written to while it was read or hashed: the hash may not be
            return  # of what was read, so save nothing (the next run loads it again)
        recorded.append([str(path), str(path.resolve()), digest])
    settings = suite.model_dump(mode="json", exclude={"samples"})
    if holds_secret(settings):  # e.g. a backend api_key written in the suite: not copied into results/
        return
    try:
        header = json.dumps({"deps": recorded, "suite": settings}, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return
    payload = struct.pack("<I", len(header)) + header + body
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_chunks(entry, [_MAGIC, hashlib.sha256(payload).digest(), payload], fsync=False)
        _prune(cache_dir)
    except OSError:
        return


def _prune(cache_dir: Path) -> None:
    entries = sorted((e for e in os.scandir(cache_dir) if e.name.endswith(".bin")),
                     key=lambda e: e.stat().st_mtime_ns, reverse=True)
    for e in entries[_KEEP:]:
        Path(e.path).unlink(missing_ok=True)
