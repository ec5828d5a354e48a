"""`Suite.samples`: a read-only sequence of resolved samples, stored compactly.

A loaded suite may hold 100,000 samples; as pydantic models they take about 2 KB each. `SampleList`
keeps each sample in about 50 bytes instead: its id, its content as JSON without defaults and its
origin line, compressed 64 samples at a time (about 15 bytes a sample for short samples), its hash
(32 bytes) in a flat array and its origin's file name once per run of samples from one file, and builds
the `ResolvedSample` again whenever one is read (a few microseconds). To
every reader it is a `Sequence[ResolvedSample]`: `len`, indexing, slicing (a `SampleList` again),
iteration, `==` with another sequence of samples; pydantic validates it from a list and serialises it
as one. The samples it returns are fresh objects: changing one does not change the suite.

`ids()` and `hashes()` read ids and content hashes without building samples (for run manifests);
`sample_ids` / `sample_hashes` do the same for any sequence of samples.
"""

from __future__ import annotations

import json
import pickle
import struct
import zlib
from array import array
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, overload

from pydantic import GetCoreSchemaHandler
from pydantic_core import PydanticSerializationError, core_schema

if TYPE_CHECKING:
    from pydantic import BaseModel

    from .suite import ResolvedSample

__all__ = ["CompactSamples", "SampleList", "SampleListBuilder", "sample_hashes", "sample_ids"]

_OWN = {"id", "hash", "origin"}
"""Kept in their own columns, not in the content payload."""
_PICKLED = 0x80
"""First byte of a pickle (protocol >= 2); a JSON payload starts with `{`."""
_NO_LINE = 0xFFFFFFFF
"""The line of an origin without a line number."""
_BLOCK = 64
"""Samples compressed together: larger blocks compress better, smaller ones are quicker to read one
sample from (64: about 25 us to decompress and split a block; reading in order does it once a block)."""

_json_string = json.encoder.encode_basestring_ascii  # what json.dumps writes for a str

_Record = tuple[bytes, bytes, int]
"""A sample's id (UTF-8, surrogates passed through), payload (see `_payload`) and origin line."""


def _is_utf8(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates (e.g. undecodable file names)
        return False
    return True


def _payload(sample: BaseModel, as_json: bool) -> bytes:
    """The sample's content without defaults and without id/hash/origin: JSON when that round-trips
    exactly, else a pickle of its Python dump (NaN and infinities, which JSON would turn into null, and
    text with lone surrogates)."""
    if as_json:
        try:
            data = sample.__pydantic_serializer__.to_json(sample, exclude_defaults=True, exclude=_OWN)
        except PydanticSerializationError:
            pass
        else:
            # JSON writes NaN and infinities as null: keep those exact (a null from None is fine)
            if b"null" not in data or not _has_non_finite(sample.model_dump(exclude_defaults=True, exclude=_OWN)):
                return data
    return pickle.dumps(sample.model_dump(exclude_defaults=True, exclude=_OWN), protocol=pickle.HIGHEST_PROTOCOL)


def _has_non_finite(value: Any) -> bool:
    """Whether a dumped value holds a float NaN or infinity anywhere."""
    if isinstance(value, float):
        return value != value or value in (float("inf"), float("-inf"))
    if isinstance(value, dict):
        return any(_has_non_finite(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_has_non_finite(v) for v in value)
    return False


def _pack(records: list[_Record]) -> bytes:
    """A block: each record's id length, payload length and line (uint32), then the ids and payloads,
    compressed."""
    header = array("I")
    for sid, data, line in records:
        header.extend((len(sid), len(data), line))
    return zlib.compress(header.tobytes() + b"".join(part for sid, data, _ in records for part in (sid, data)))


def _unpack(block: bytes) -> list[_Record]:
    raw = zlib.decompress(block)
    header = array("I")
    header.frombytes(raw[:12 * _BLOCK])
    out: list[_Record] = []
    pos = 12 * _BLOCK
    for j in range(0, 3 * _BLOCK, 3):
        mid = pos + header[j]
        end = mid + header[j + 1]
        out.append((raw[pos:mid], raw[mid:end], header[j + 2]))
        pos = end
    return out


class SampleList(Sequence["ResolvedSample"]):
    """An immutable sequence of `ResolvedSample`s; build a compact one with `SampleListBuilder`, or wrap
    existing models with `from_models` (they are kept as they are)."""

    __slots__ = (
        "_blocks",
        "_cache",
        "_cls",
        "_digests",
        "_models",
        "_n",
        "_odd_hashes",
        "_pending",
        "_prefix_index",
        "_prefix_json",
        "_prefixes",
        "_run_prefix",
        "_run_start",
    )

    def __init__(self, model: type[ResolvedSample] | None = None) -> None:
        self._cls = model
        self._models: tuple[ResolvedSample, ...] | None = None
        self._n = 0
        self._blocks: list[bytes] = []
        """Every `_BLOCK` samples' ids, payloads and origin lines (see `_pack`), compressed together."""
        self._pending: list[_Record] = []
        """The samples after the last full block, not compressed."""
        self._cache: tuple[int, list[_Record]] | None = None
        """The last block read (reading in order decompresses each block once)."""
        self._digests = bytearray()
        """32 bytes per sample: its sha256 hash (zeros for a hash that is not 64 lowercase hex digits)."""
        self._odd_hashes: dict[int, str] = {}
        self._prefixes: list[str] = []
        """Distinct origin prefixes (`path:` of `path:line`, or a whole origin without a line)."""
        self._prefix_json: list[bytes | None] = []
        """Each prefix as the start of a JSON string; None when it is not valid UTF-8."""
        self._prefix_index: dict[str, int] = {}
        self._run_start = array("Q")
        """Origin prefixes by runs: the first sample of each run of samples with the same prefix..."""
        self._run_prefix = array("I")
        """... and that prefix's index."""

    @classmethod
    def from_models(cls, models: Iterable[ResolvedSample]) -> SampleList:
        """A SampleList of these very models (not compacted): for small suites built in Python."""
        out = cls()
        out._models = tuple(models)
        return out

    # -- reading --------------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._models) if self._models is not None else self._n

    @overload
    def __getitem__(self, index: int) -> ResolvedSample: ...

    @overload
    def __getitem__(self, index: slice) -> SampleList: ...

    def __getitem__(self, index: int | slice) -> ResolvedSample | SampleList:
        if isinstance(index, slice):
            return self._subset(range(len(self))[index])
        n = len(self)
        i = index.__index__()
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("sample index out of range")
        return self._item(i)

    def __iter__(self) -> Iterator[ResolvedSample]:
        if self._models is not None:
            yield from self._models
            return
        for i in range(self._n):
            yield self._item(i)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, SampleList):
            if len(self) != len(other):
                return False
            if self._same_columns(other):
                return True
        elif not isinstance(other, list):
            return NotImplemented
        elif len(self) != len(other):
            return False
        return all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]  # mutable-looking like the list it replaces

    def __repr__(self) -> str:
        return repr(list(self))

    def ids(self) -> Iterator[str]:
        """Every sample's id, in order, without building the samples."""
        if self._models is not None:
            yield from (s.id for s in self._models)
            return
        for b in range(len(self._blocks)):
            for sid, _, _ in _unpack(self._blocks[b]):
                yield sid.decode("utf-8", "surrogatepass")
        for sid, _, _ in list(self._pending):
            yield sid.decode("utf-8", "surrogatepass")

    def hashes(self) -> Iterator[str]:
        """Every sample's content hash, in order, without building the samples."""
        if self._models is not None:
            yield from (s.hash for s in self._models)
            return
        step = 64 * 1024  # hex digits of 1,024 hashes at a time
        for start in range(0, 64 * self._n, step):
            text = self._digests[start // 2:(start + step) // 2].hex()
            for k in range(0, len(text), 64):
                i = (start + k) // 64
                odd = self._odd_hashes.get(i) if self._odd_hashes else None
                yield odd if odd is not None else text[k:k + 64]

    # -- persisting (the suite cache) ---------------------------------------------------------------

    def to_bytes(self) -> bytes | None:
        """The compact columns as bytes for `from_bytes`; None when this list cannot be persisted safely:
        it wraps models, or a payload is a pickle (reading one back from a file could run code)."""
        if self._models is not None or self._odd_hashes or any(prefix is None for prefix in self._prefix_json):
            return None
        if any(data[0] == _PICKLED for _, data, _ in self._pending) or any(
                data[0] == _PICKLED for b in self._blocks for _, data, _ in _unpack(b)):
            return None
        meta = json.dumps({"n": self._n, "prefixes": self._prefixes, "blocks": [len(b) for b in self._blocks],
                           "pending": len(self._pending)}, ensure_ascii=False).encode()
        parts = [struct.pack("<I", len(meta)), meta, *self._blocks]
        pending = _pack(self._pending + [(b"", b"", 0)] * (_BLOCK - len(self._pending)))
        for column in (pending, bytes(self._digests), self._run_start.tobytes(), self._run_prefix.tobytes()):
            parts += [struct.pack("<Q", len(column)), column]
        return b"".join(parts)

    @classmethod
    def from_bytes(cls, data: bytes, model: type[ResolvedSample]) -> SampleList:
        """The list `to_bytes` wrote; ValueError for bytes it did not write."""
        try:
            (size,) = struct.unpack_from("<I", data, 0)
            meta = json.loads(data[4:4 + size])
            pos = 4 + size
            out = cls(model)
            for length in meta["blocks"]:
                out._blocks.append(data[pos:pos + length])
                pos += length
            columns: list[bytes] = []
            for _ in range(4):
                (length,) = struct.unpack_from("<Q", data, pos)
                columns.append(data[pos + 8:pos + 8 + length])
                pos += 8 + length
            if pos != len(data):
                raise ValueError("trailing bytes")
            pending, digests, run_start, run_prefix = columns
            out._pending = _unpack(pending)[:meta["pending"]]
            out._n = meta["n"]
            out._digests = bytearray(digests)
            out._run_start.frombytes(run_start)
            out._run_prefix.frombytes(run_prefix)
            for k, prefix in enumerate(meta["prefixes"]):
                out._prefixes.append(prefix)
                out._prefix_index[prefix] = k
                out._prefix_json.append(json.dumps(prefix, ensure_ascii=False)[:-1].encode())
        except (struct.error, zlib.error, KeyError, TypeError, IndexError, OverflowError, MemoryError,
                UnicodeDecodeError) as exc:
            raise ValueError(f"not a saved sample list: {exc}") from None
        if (len(out._digests) != 32 * out._n or len(out._blocks) * _BLOCK + len(out._pending) != out._n
                or len(out._run_start) != len(out._run_prefix)
                or any(k >= len(out._prefixes) for k in out._run_prefix)):
            raise ValueError("not a saved sample list: inconsistent columns")
        return out

    def origin(self, index: int) -> str:
        """Where the index-th sample was defined (`file:line`), without building it."""
        if self._models is not None:
            return self._models[index].origin
        return self._origin(index, self._record(index)[2])

    # -- internals ------------------------------------------------------------------------------------

    def _origin(self, i: int, line: int) -> str:
        prefix = self._prefixes[self._run_prefix[bisect_right(self._run_start, i) - 1]]
        return prefix if line == _NO_LINE else f"{prefix}{line}"

    def _record(self, i: int) -> _Record:
        b, j = divmod(i, _BLOCK)
        if b == len(self._blocks):
            return self._pending[j]
        cache = self._cache
        if cache is None or cache[0] != b:
            cache = self._cache = (b, _unpack(self._blocks[b]))
        return cache[1][j]

    def _hash(self, i: int) -> str:
        odd = self._odd_hashes.get(i) if self._odd_hashes else None
        return odd if odd is not None else self._digests[32 * i:32 * i + 32].hex()

    def _item(self, i: int) -> ResolvedSample:
        if self._models is not None:
            return self._models[i]
        assert self._cls is not None  # a compact list is made by a builder, which knows the model
        raw_id, data, line = self._record(i)
        sid = raw_id.decode("utf-8", "surrogatepass")
        if data[0] == _PICKLED:
            fields = pickle.loads(data)
            fields.update(id=sid, hash=self._hash(i), origin=self._origin(i, line))
            return self._cls.model_validate(fields)
        # A JSON payload: its id, hash and origin are valid UTF-8 too (see `_append`).
        prefix = self._prefix_json[self._run_prefix[bisect_right(self._run_start, i) - 1]]
        assert prefix is not None
        origin = prefix + b'"' if line == _NO_LINE else b'%s%d"' % (prefix, line)
        odd = self._odd_hashes.get(i) if self._odd_hashes else None
        digest = (json.dumps(odd).encode() if odd is not None
                  else b'"%s"' % self._digests[32 * i:32 * i + 32].hex().encode())
        head = b'{"id":%s,"hash":%s,"origin":%s' % (_json_string(sid).encode(), digest, origin)
        body = data[1:]
        return self._cls.model_validate_json(head + body if body == b"}" else head + b"," + body)

    def _append(self, sample_id: str, sample_hash: str, origin: str, payload: bytes | None,
                sample: BaseModel | None = None) -> None:
        """Add one sample: its columns, and its payload (or `sample`, to be encoded here)."""
        i = self._n
        digest = bytes.fromhex(sample_hash) if len(sample_hash) == 64 and sample_hash.isascii() else None
        if digest is not None and digest.hex() == sample_hash:
            self._digests += digest
        else:
            self._digests += bytes(32)
            self._odd_hashes[i] = sample_hash
        head, sep, tail = origin.rpartition(":")
        if sep and tail.isascii() and tail.isdigit() and (tail == "0" or tail[0] != "0") and len(tail) < 10:
            prefix, line = head + sep, int(tail)
        else:
            prefix, line = origin, _NO_LINE
        k = self._prefix_index.get(prefix)
        if k is None:
            k = self._prefix_index[prefix] = len(self._prefixes)
            self._prefixes.append(prefix)
            self._prefix_json.append(json.dumps(prefix, ensure_ascii=False)[:-1].encode() if _is_utf8(prefix)
                                     else None)
        if not self._run_prefix or self._run_prefix[-1] != k:
            self._run_start.append(i)
            self._run_prefix.append(k)
        if payload is None:
            assert sample is not None
            as_json = self._prefix_json[k] is not None and _is_utf8(sample_id) and _is_utf8(sample_hash)
            payload = _payload(sample, as_json)
        self._pending.append((sample_id.encode("utf-8", "surrogatepass"), payload, line))
        self._n += 1
        if len(self._pending) == _BLOCK:
            self._blocks.append(_pack(self._pending))
            self._pending = []

    def _subset(self, indices: range) -> SampleList:
        if self._models is not None:
            return SampleList.from_models(self._models[k] for k in indices)
        out = SampleList(self._cls)
        for k in indices:
            raw_id, data, line = self._record(k)
            out._append(raw_id.decode("utf-8", "surrogatepass"), self._hash(k), self._origin(k, line), data)
        return out

    def _same_columns(self, other: SampleList) -> bool:
        """Whether both hold the same compact bytes (then their samples are equal)."""
        if self._models is not None or other._models is not None:
            return False
        return (self._blocks == other._blocks and self._pending == other._pending
                and self._digests == other._digests and self._odd_hashes == other._odd_hashes
                and self._run_start == other._run_start
                and [self._prefixes[k] for k in self._run_prefix]
                == [other._prefixes[k] for k in other._run_prefix])

    # -- pydantic -------------------------------------------------------------------------------------

    @classmethod
    def _validate(cls, value: Any, handler: core_schema.ValidatorFunctionWrapHandler) -> SampleList:
        if isinstance(value, SampleList):
            return value
        return cls.from_models(handler(value))


class CompactSamples:
    """Pydantic metadata for `Annotated[Sequence[ResolvedSample], CompactSamples()]`: validated from a
    list (or taken as it is when already a SampleList), serialised as a list."""

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        (item,) = getattr(source, "__args__", (Any,))
        items = handler.generate_schema(list[item])  # type: ignore[valid-type]
        return core_schema.no_info_wrap_validator_function(
            SampleList._validate, items,
            serialization=core_schema.plain_serializer_function_ser_schema(list, return_schema=items))


class SampleListBuilder:
    """Builds a compact SampleList one sample at a time, so a data file is never held whole."""

    def __init__(self, model: type[ResolvedSample]) -> None:
        self._out = SampleList(model)

    def __len__(self) -> int:
        return len(self._out)

    def append(self, sample: BaseModel, sample_id: str, sample_hash: str, origin: str) -> None:
        """Add `sample` (a Sample or ResolvedSample; its own id, hash and origin are ignored)."""
        self._out._append(sample_id, sample_hash, origin, None, sample)

    def build(self) -> SampleList:
        return self._out


def sample_ids(samples: Sequence[ResolvedSample]) -> Iterator[str]:
    """The samples' ids, without building samples when `samples` is a SampleList."""
    return samples.ids() if isinstance(samples, SampleList) else (s.id for s in samples)


def sample_hashes(samples: Sequence[ResolvedSample]) -> Iterator[str]:
    """The samples' content hashes, without building samples when `samples` is a SampleList."""
    return samples.hashes() if isinstance(samples, SampleList) else (s.hash for s in samples)
