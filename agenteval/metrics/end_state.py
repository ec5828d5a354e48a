"""`end_state_match`: after an agent run, is the environment in the expected state? (tau-bench style)"""

from __future__ import annotations

import math
from typing import ClassVar, Literal

from pydantic import JsonValue

from ..schema import Score
from .base import MetricBase, ScoreContext, check, unmeasured

__all__ = ["EndStateMatch", "state_differences"]


def _equal(a: JsonValue, b: JsonValue) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b if isinstance(a, bool) and isinstance(b, bool) else False
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def state_differences(expected: JsonValue, actual: JsonValue, *, exact: bool, path: str = "") -> list[str]:
    """Paths where `actual` differs from `expected`.

    In subset mode every key of an expected mapping must be present and equal in the actual one (extra
    actual keys are fine, recursively); in exact mode mappings must have the same keys. Lists and
    scalars are compared whole (numbers with a 1e-9 relative tolerance; booleans are not numbers).
    """
    where = path or "(root)"
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{where}: expected a mapping, got {type(actual).__name__}"]
        diffs: list[str] = []
        for key, value in expected.items():
            sub = f"{path}.{key}" if path else str(key)
            if key not in actual:
                diffs.append(f"{sub}: missing")
            else:
                diffs.extend(state_differences(value, actual[key], exact=exact, path=sub))
        if exact:
            diffs.extend(f"{path}.{k}: unexpected" if path else f"{k}: unexpected"
                         for k in actual if k not in expected)
        return diffs
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [f"{where}: expected {expected!r:.80}, got {actual!r:.80}"]
        out: list[str] = []
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            out.extend(state_differences(e, a, exact=exact, path=f"{path}[{i}]"))
        return out
    return [] if _equal(expected, actual) else [f"{where}: expected {expected!r:.80}, got {actual!r:.80}"]


class EndStateMatch(MetricBase):
    """The environment's state after the run matches the sample's `expected_state`.

    `mode: subset` (default) checks only the keys the sample names, at any depth; `exact` also
    forbids keys it does not name. Value 1.0/0.0; the reason names the first differing paths.
    Unmeasured when the sample has no `expected_state` or the run recorded no state (no environment).
    """

    name: ClassVar[str] = "end_state_match"
    version: ClassVar[str] = "1"

    mode: Literal["subset", "exact"] = "subset"

    def score(self, ctx: ScoreContext) -> Score:
        expected = ctx.sample.expected_state
        if expected is None:
            return unmeasured("sample has no expected_state")
        if ctx.trace.state is None:
            return unmeasured("the run recorded no environment state (does the suite have an environment?)")
        diffs = state_differences(expected, ctx.trace.state, exact=self.mode == "exact")
        if not diffs:
            return check(True, "end state matches")
        more = f" (and {len(diffs) - 3} more)" if len(diffs) > 3 else ""
        return check(False, "; ".join(diffs[:3]) + more)
