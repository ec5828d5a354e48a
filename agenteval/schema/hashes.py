"""`SuiteRef.sample_hashes`: sample id -> content hash, without a dict of every sample in memory.

A manifest read from disk holds its hashes as a plain dict. A manifest the runner builds holds a view
of the suite's samples instead: ids and hashes are read from the (compact) samples when iterated, and
a dict is built only if someone looks a key up. At 100,000 samples the dict would be about 25 MB, held
by every `RunOutcome` until the process ends.

To readers it is a `Mapping[str, str]` in suite order; pydantic validates it from a dict, serialises it
as one, and describes it as one in JSON Schema.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

if TYPE_CHECKING:
    from .suite import ResolvedSample

__all__ = ["SampleHashes"]


class SampleHashes(Mapping[str, str]):
    """Sample id -> content hash: a dict, or a lazy view of a suite's samples."""

    __slots__ = ("_dict", "_samples")

    def __init__(self, data: Mapping[str, str] | None = None) -> None:
        self._dict: dict[str, str] | None = dict(data) if data is not None else {}
        self._samples: Sequence[ResolvedSample] | None = None

    @classmethod
    def of_samples(cls, samples: Sequence[ResolvedSample]) -> SampleHashes:
        """A view of `samples` (kept by reference; a loaded suite's samples never change)."""
        out = cls()
        out._dict = None
        out._samples = samples
        return out

    def items(self) -> Iterator[tuple[str, str]]:  # type: ignore[override]
        """(id, hash) pairs in order, read from the samples when this is a view (no dict built)."""
        if self._dict is not None:
            return iter(self._dict.items())
        from .sample_list import sample_hashes, sample_ids

        assert self._samples is not None
        return zip(sample_ids(self._samples), sample_hashes(self._samples), strict=True)

    def _materialized(self) -> dict[str, str]:
        if self._dict is None:
            self._dict = dict(self.items())
            self._samples = None
        return self._dict

    def __getitem__(self, key: str) -> str:
        return self._materialized()[key]

    def __iter__(self) -> Iterator[str]:
        return (k for k, _ in self.items())

    def __len__(self) -> int:
        if self._dict is not None:
            return len(self._dict)
        assert self._samples is not None
        return len(self._samples)

    def __contains__(self, key: object) -> bool:
        return key in self._materialized()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Mapping):
            return NotImplemented
        if len(self) != len(other):
            return False
        return all(other.get(k, None) == v for k, v in self.items())

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        kind = "dict" if self._dict is not None else "view"
        return f"SampleHashes({len(self)} samples, {kind})"

    def to_dict(self) -> dict[str, str]:
        """A new dict of every pair."""
        return dict(self.items())

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        from_dict = core_schema.no_info_after_validator_function(
            cls, core_schema.dict_schema(core_schema.str_schema(), core_schema.str_schema()))
        return core_schema.json_or_python_schema(
            json_schema=from_dict,
            python_schema=core_schema.union_schema([core_schema.is_instance_schema(cls), from_dict]),
            serialization=core_schema.plain_serializer_function_ser_schema(
                lambda v: dict(v.items()), return_schema=core_schema.dict_schema(
                    core_schema.str_schema(), core_schema.str_schema())),
        )

    @classmethod
    def __get_pydantic_json_schema__(cls, schema: core_schema.CoreSchema,
                                     handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        return handler(core_schema.dict_schema(core_schema.str_schema(), core_schema.str_schema()))
