"""Safe YAML loading that remembers the line of every node, so errors can name file:line."""

from __future__ import annotations

import os
import pathlib
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError

if TYPE_CHECKING:  # imported when a file is parsed: a run of a cached suite parses none
    import yaml

__all__ = ["LineMap", "load_yaml_with_lines", "read_yaml_file"]

Path = tuple[str | int, ...]


class LineMap:
    """Maps a path into a loaded document (keys and indices) to its 1-based line."""

    def __init__(self, lines: dict[Path, int]) -> None:
        self._lines = lines

    def line_for(self, loc: tuple[Any, ...]) -> int | None:
        """The line of the deepest node on `loc` that exists (pydantic's extra loc parts are skipped)."""
        best: int | None = self._lines.get(())
        path: Path = ()
        for part in loc:
            cand = (*path, part)
            if cand in self._lines:
                path = cand
                best = self._lines[cand]
            elif isinstance(part, str) and part.isdigit() and (*path, int(part)) in self._lines:
                path = (*path, int(part))
                best = self._lines[path]
        return best


def _walk(node: yaml.Node, path: Path, out: dict[Path, int]) -> None:
    import yaml

    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node)
            # Point a missing/invalid value at its key's line, then refine by the value node.
            _walk(value_node, (*path, key), out)
            out[(*path, key)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, (*path, i), out)


def load_yaml_with_lines(text: str, file: str) -> tuple[Any, LineMap]:
    """Parse YAML (or JSON) safely; return the data and a LineMap. Syntax errors -> ConfigError."""
    import yaml

    try:
        loader = yaml.SafeLoader(text)
    except yaml.reader.ReaderError as exc:  # control characters the YAML reader refuses
        raise ConfigError(f"bad YAML: {exc.reason} (character {exc.character!r} at position {exc.position})",
                          file=file, hint="remove control characters from the file") from None
    try:
        node = loader.get_single_node()
        if node is None:
            return None, LineMap({})
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        msg = (exc.problem or "invalid YAML") + (f" ({exc.context})" if exc.context else "")
        raise ConfigError(f"bad YAML: {msg}", file=file, line=line,
                          hint="check indentation and quoting near this line") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"bad YAML: {exc}", file=file) from None
    finally:
        loader.dispose()
    lines: dict[Path, int] = {}
    _walk(node, (), lines)
    return data, LineMap(lines)


def read_yaml_file(path: str | os.PathLike[str], what: str) -> tuple[Any, LineMap]:
    """Read and parse a YAML/JSON file (`what` names it in errors: "suite", "rubric")."""
    file = str(path)
    try:
        text = pathlib.Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{what} file not found", file=file) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {what} file: {exc}", file=file) from None
    return load_yaml_with_lines(text, file)
