"""Finding and loading rubric files (`judges/<name>.yaml`), with file:line errors.

A rubric reference is a name (`correctness`) or a path (`judges/strict.yaml`, anything with a `/` or a
YAML/JSON suffix). Names are looked up, in order, in the suite's folder `judges/`, in `./judges/`, then
among the rubrics shipped inside the package (`agenteval/judging/rubrics/`). Paths are taken relative
to the working folder, then to the suite's folder.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..errors import ConfigError
from ..registry import did_you_mean
from ..schema.rubric import FewShotExample, LabelSpec, Rubric, RubricProblem
from ..suite.yaml_lines import LineMap, read_yaml_file

__all__ = ["find_rubric", "load_rubric", "load_rubric_file", "parse_rubric", "shipped_rubrics"]

_SUFFIXES = (".yaml", ".yml", ".json")


def _is_path(ref: str) -> bool:
    return "/" in ref or "\\" in ref or ref.endswith(_SUFFIXES)


def _package_dir() -> Path:
    return Path(str(resources.files("agenteval.judging").joinpath("rubrics")))


def shipped_rubrics() -> list[str]:
    """Names of the rubrics shipped with agenteval."""
    folder = _package_dir()
    return sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []


def _search_dirs(suite_dir: str | Path | None) -> list[Path]:
    dirs: list[Path] = []
    if suite_dir is not None:
        dirs.append(Path(suite_dir) / "judges")
    dirs.append(Path("judges"))
    dirs.append(_package_dir())
    return dirs


def find_rubric(ref: str, suite_dir: str | Path | None = None) -> Path:
    """The file a rubric reference names (see the module docstring); ConfigError when none."""
    if not ref.strip():
        raise ConfigError("the judge needs a rubric", field="metrics.judge.rubric",
                          hint="e.g. `- judge: correctness`; shipped: " + ", ".join(shipped_rubrics()))
    if _is_path(ref):
        tried = [Path(ref)]
        if suite_dir is not None and not Path(ref).is_absolute():
            tried.append(Path(suite_dir) / ref)
        for p in tried:
            if p.is_file():
                return p
        raise ConfigError(f"rubric file {ref!r} not found", field="metrics.judge.rubric",
                          hint="looked at " + ", ".join(str(p) for p in tried))
    dirs = _search_dirs(suite_dir)
    for d in dirs:
        for suffix in _SUFFIXES:
            p = d / f"{ref}{suffix}"
            if p.is_file():
                return p
    known = sorted({p.stem for d in dirs if d.is_dir() for p in d.iterdir() if p.suffix in _SUFFIXES})
    raise ConfigError(f"unknown rubric {ref!r}", field="metrics.judge.rubric",
                      hint=did_you_mean(ref, known) or f"put it in judges/{ref}.yaml")


def load_rubric(ref: str, suite_dir: str | Path | None = None) -> tuple[Rubric, Path]:
    """Find and load a rubric by name or path; returns it and the file it came from."""
    path = find_rubric(ref, suite_dir)
    return load_rubric_file(path), path


def load_rubric_file(path: str | Path) -> Rubric:
    """Load and validate one rubric file. Every problem is a ConfigError naming file:line and field."""
    data, lines = read_yaml_file(path, "rubric")
    return parse_rubric(data, str(path), lines)


def parse_rubric(data: Any, file: str, lines: LineMap | None = None) -> Rubric:
    """Validate already parsed rubric data (`file` names it in errors)."""
    if not isinstance(data, dict):
        raise ConfigError("a rubric file must be a mapping with at least name, version and criteria",
                          file=file, line=1)
    try:
        return Rubric.model_validate(data)
    except ValidationError as exc:
        _raise(exc, file, lines or LineMap({}))
        raise  # unreachable


def _field(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _hint(err: Any, loc: tuple[Any, ...]) -> str | None:
    if err["type"] == "missing":
        return "this field is required"
    if err["type"] == "extra_forbidden":
        known = list(Rubric.model_fields)
        if len(loc) >= 3 and loc[0] == "examples":
            known = list(FewShotExample.model_fields)
        elif len(loc) >= 3 and loc[0] == "labels":
            known = list(LabelSpec.model_fields)
        return did_you_mean(str(loc[-1]), known)
    if loc and loc[0] == "inputs":
        return "inputs are: input, response, reference, context, trajectory, baseline"
    return None


def _raise(exc: ValidationError, file: str, lines: LineMap) -> None:
    errors = exc.errors()
    # A misspelt key also makes its field "missing": report the misspelling, which explains both.
    err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    problem = (err.get("ctx") or {}).get("error")
    if isinstance(problem, RubricProblem):
        loc: tuple[Any, ...] = problem.loc
        msg = problem.message
    else:
        loc = tuple(err["loc"])
        msg = err["msg"]
        if err["type"] not in ("missing", "extra_forbidden") and "input" in err:
            msg += f", got {repr(err['input'])[:60]}"
    more = f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
    raise ConfigError(msg + more, file=file, line=lines.line_for(loc), field=_field(loc) or None,
                      hint=_hint(err, loc)) from None
