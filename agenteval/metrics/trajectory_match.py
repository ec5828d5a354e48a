"""The trajectory algebra: when a predicted tool call matches an expected step, and how sequences match.

This module is the reference for the trajectory metrics (`agenteval.metrics.trajectory`); every
function is pure. Indices in reasons are 1-based ("step 2", "call 3"); in return values, 0-based.

**One argument.** An expected step (`ExpectedToolCall`) compares each argument it names with the
matcher `args_match[name]` (default `"exact"`):

- `"exact"`: the predicted value equals `args[name]` (see `values_equal`).
- `"any"`: the value is ignored; the argument may also be absent.
- `{one_of: [...]}`: the value equals one of the listed values; `""` or null in the list means the
  argument may be absent (BFCL's convention).
- `{fuzzy: t}`: a string whose rapidfuzz `ratio` with `args[name]`, divided by 100, is >= t (both
  normalised first when the step's `normalize` is on); a non-string never matches.
- `{regex: p}`: the value fully matches `p` (`re.fullmatch`); a non-string value is matched as its
  JSON text, so `{regex: "\\\\d+"}` accepts 42. `normalize` does not apply: write `(?i)` yourself.
- `{numeric: {tol, rel}}`: a number (not a bool) with |got - expected| <= max(tol, rel * |expected|).

Every other matcher needs the argument present.

**Values** (`values_equal`): strings are equal after `normalize_string` when the step's `normalize`
is on (the default), else exactly; numbers by value, so an int matches the same float both ways
(5 == 5.0); a bool only equals a bool (True is not 1); lists element-wise with the same length;
dicts with the same keys, value by value; null only equals null. Nested strings are normalised too.

**One call** (`step_matches`): a call matches a step when it names the same tool (exactly, case
sensitive), has no parse `error`, and its arguments match: every argument the step names that is
present matches its matcher, every argument that must be present is, and the call has no argument
the step does not name (unless `ignore_extra_args`). The argument F1 grades the pair: a named
argument that is present counts in recall's denominator (an absent one only when it is required);
every predicted argument counts in precision's denominator, extra ones too, even under
`ignore_extra_args` (which only decides the match); a present argument is correct when it matches.
No expected and no predicted arguments is F1 1.0.

**Sequences** (`exact_match`, `in_order_match`) are aligned by dynamic programming. A step is
consumed by one matching call; a `repeat` step by one or more consecutive matching calls (in
in-order, calls between them are allowed, as everywhere); an `optional` step may be skipped
(`optional` + `repeat` is zero or more). Exact: every call is consumed and every required step
matched. In-order: every required step matched in order; unconsumed calls are allowed. Among
alignments the DP prefers the fewest problems (missing required steps, plus unconsumed calls for
exact), then the most pairs, then the highest total argument F1; problems are what the reason shows.

**Any order** (`any_order_match`): an optimal assignment (`scipy.optimize.linear_sum_assignment`)
between steps and distinct calls; a `repeat` step may take several calls, any other step at most one,
a call goes to at most one step. It maximises, in this order: the pairs, the required steps covered,
the optional steps covered, the total argument F1. (A maximum matching can always also cover a
largest coverable set of steps -- Mendelsohn-Dulmage -- so precision and recall are both optimal.)
The result never depends on the order calls are listed in. The match succeeds when every required
step is covered; extra calls are allowed.

- precision = pairs / calls: each call a `repeat` step takes counts as matched; a duplicate call a
  non-repeat step cannot take does not ([a, a] against [a]: 0.5).
- recall = covered steps / (required steps + covered optional steps): a `repeat` step counts once;
  an optional step counts only when matched ([a] against [a, b]: 0.5).

**Empty cases.** With no calls, precision is 1.0 when the reference has no required step, else 0.0;
recall with a zero denominator is 1.0. So: both empty -> everything 1.0; calls but no reference ->
exact 0.0, in-order 1.0, any-order 1.0, precision 0.0, recall 1.0; a reference but no calls -> all
0.0. A reference of only optional steps behaves like an empty one when none of them is matched.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from pydantic import JsonValue

from ..schema import ExpectedToolCall, ToolCall
from ..schema.trajectory import ArgMatcher, FuzzyMatcher, NumericMatcher, OneOfMatcher, RegexMatcher

__all__ = [
    "ArgComparison", "Alignment", "Assignment", "Pair", "StepMatch", "any_order_match", "assign",
    "compare_args", "exact_match", "in_order_match", "name_assignment", "name_matches",
    "normalize_string", "step_matches", "value_matches", "values_equal",
]

_BFCL_REMOVED = re.compile(r"[\s,./\-_*^]")


def normalize_string(text: str) -> str:
    """`text` as BFCL's `standardize_string` compares it.

    Removes whitespace and the characters `, . / - _ * ^`, case-folds, and turns `'` into `"`:
    "April 1, 2024" == "april 1 2024" == "April-1-2024". BFCL removes only the space character and
    lower-cases; this removes every whitespace character and case-folds (Unicode-aware lower case).
    Beware: "-5" == "5" and "1.5" == "15" as strings (BFCL's behaviour too).
    """
    return _BFCL_REMOVED.sub("", text).casefold().replace("'", '"')


def _show(value: JsonValue, limit: int = 40) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def values_equal(expected: JsonValue, got: JsonValue, normalize: bool = True) -> bool:
    """Whether a predicted value equals an expected one (the rules are in the module docstring)."""
    if isinstance(expected, bool) or isinstance(got, bool):
        return isinstance(expected, bool) and isinstance(got, bool) and expected == got
    if isinstance(expected, (int, float)) and isinstance(got, (int, float)):
        return expected == got
    if isinstance(expected, str) and isinstance(got, str):
        return normalize_string(expected) == normalize_string(got) if normalize else expected == got
    if isinstance(expected, list) and isinstance(got, list):
        return len(expected) == len(got) and all(
            values_equal(e, g, normalize) for e, g in zip(expected, got, strict=True))
    if isinstance(expected, dict) and isinstance(got, dict):
        return expected.keys() == got.keys() and all(
            values_equal(v, got[k], normalize) for k, v in expected.items())
    return expected is None and got is None


def _may_be_absent(matcher: ArgMatcher) -> bool:
    return matcher == "any" or (isinstance(matcher, OneOfMatcher) and matcher.allows_absent)


def value_matches(matcher: ArgMatcher, expected: JsonValue, got: JsonValue,
                  normalize: bool = True) -> tuple[bool, str]:
    """Whether a present predicted value `got` satisfies `matcher`, and why not.

    `expected` is the step's `args[name]` (None when it has none); `normalize` is the step's option.
    """
    from rapidfuzz import fuzz

    if matcher == "any":
        return True, ""
    if matcher == "exact":
        if values_equal(expected, got, normalize):
            return True, ""
        return False, f"expected {_show(expected)}, got {_show(got)}"
    if isinstance(matcher, OneOfMatcher):
        if any(values_equal(v, got, normalize) for v in matcher.one_of):
            return True, ""
        return False, f"{_show(got)} is not one of {_show(matcher.one_of, 60)}"
    if isinstance(matcher, FuzzyMatcher):
        if not isinstance(got, str) or not isinstance(expected, str):
            return False, f"expected a string like {_show(expected)}, got {_show(got)}"
        a, b = (normalize_string(expected), normalize_string(got)) if normalize else (expected, got)
        ratio = float(fuzz.ratio(a, b)) / 100.0
        if ratio >= matcher.fuzzy:
            return True, ""
        return False, f"{_show(got)} is {ratio:.2f} similar to {_show(expected)} (< {matcher.fuzzy:g})"
    if isinstance(matcher, RegexMatcher):
        text = got if isinstance(got, str) else json.dumps(got, ensure_ascii=False)
        if re.fullmatch(matcher.regex, text) is not None:
            return True, ""
        return False, f"{_show(got)} does not fully match /{matcher.regex}/"
    return _numeric_matches(matcher, expected, got)


def _numeric_matches(matcher: NumericMatcher, expected: JsonValue, got: JsonValue) -> tuple[bool, str]:
    if isinstance(got, bool) or not isinstance(got, (int, float)):
        return False, f"expected a number, got {_show(got)}"
    if isinstance(expected, bool) or not isinstance(expected, (int, float)):
        return False, f"the step has no expected number (args has {_show(expected)})"
    allowed = max(matcher.numeric.tol, matcher.numeric.rel * abs(expected))
    if abs(got - expected) <= allowed:
        return True, ""
    return False, f"{got:g} is {abs(got - expected):g} from {expected:g} (> {allowed:g})"


@dataclass(frozen=True)
class ArgComparison:
    """How a call's arguments compare with a step's: the match verdict and the argument F1."""

    ok: bool
    """All named arguments present match, required ones are present, no disallowed extras."""
    precision: float
    """Correct arguments / predicted arguments (1.0 when the call has none)."""
    recall: float
    """Correct arguments / counted expected arguments (1.0 when there are none)."""
    f1: float
    """Harmonic mean of precision and recall (0.0 when both are 0)."""
    reason: str
    """The first problems, or "" when none."""


def compare_args(step: ExpectedToolCall, args: dict[str, JsonValue]) -> ArgComparison:
    """Compare predicted `args` with `step`'s arguments (see "One call" in the module docstring)."""
    named = list(dict.fromkeys([*step.args, *step.args_match]))
    correct, expected_count = 0, 0
    problems: list[str] = []
    for name in named:
        matcher: ArgMatcher = step.args_match.get(name, "exact")
        if name not in args:
            if not _may_be_absent(matcher):
                expected_count += 1
                problems.append(f"missing argument {name!r}")
            continue
        expected_count += 1
        ok, why = value_matches(matcher, step.args.get(name), args[name], step.normalize)
        if ok:
            correct += 1
        else:
            problems.append(f"argument {name!r}: {why}")
    extras = [name for name in args if name not in step.args and name not in step.args_match]
    if extras and not step.ignore_extra_args:
        problems.extend(f"unexpected argument {name!r}" for name in extras)
    precision = correct / len(args) if args else 1.0
    recall = correct / expected_count if expected_count else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    reason = "; ".join(problems[:3]) + (f" (+{len(problems) - 3} more)" if len(problems) > 3 else "")
    return ArgComparison(ok=not problems, precision=precision, recall=recall, f1=f1, reason=reason)


class StepMatch(NamedTuple):
    """The verdict on one (step, call) pair."""

    ok: bool
    """The call matches the step."""
    arg_f1: float
    """Argument F1 of the pair (0.0 for another tool or a call with a parse error)."""
    reason: str
    """Why it does not match ("" when it does)."""


def step_matches(step: ExpectedToolCall, call: ToolCall) -> StepMatch:
    """Whether `call` matches `step`: same tool, no parse error, arguments match (`compare_args`)."""
    if call.tool != step.tool:
        return StepMatch(False, 0.0, f"expected tool {step.tool!r}, got {call.tool!r}")
    if call.error is not None:
        return StepMatch(False, 0.0, f"its arguments could not be parsed ({call.error})")
    cmp = compare_args(step, call.args)
    return StepMatch(cmp.ok, cmp.f1, cmp.reason)


def name_matches(step: ExpectedToolCall, call: ToolCall) -> StepMatch:
    """Like `step_matches` on the tool name only: ok for the same tool without a parse error.

    The argument F1 is still computed, so `assign` prefers pairs whose arguments agree.
    """
    if call.tool != step.tool or call.error is not None:
        return step_matches(step, call)
    return StepMatch(True, compare_args(step, call.args).f1, "")


class Pair(NamedTuple):
    """A step matched with a call (0-based indices) and the pair's argument F1."""

    step: int
    call: int
    arg_f1: float


PairRule = Callable[[ExpectedToolCall, ToolCall], StepMatch]
"""Decides whether a step and a call may be paired (`step_matches` or `name_matches`)."""


def _explain_missing(i: int, steps: Sequence[ExpectedToolCall], calls: Sequence[ToolCall],
                     table: list[list[StepMatch]], why_taken: str) -> tuple[str, int | None]:
    """Why step `i` is unmatched, and the call the explanation is about (if any)."""
    step = steps[i]
    label = f"step {i + 1} `{step.tool}`"
    matching = [j for j, m in enumerate(table[i]) if m.ok]
    if matching:
        return f"{label} matches only call {', '.join(str(j + 1) for j in matching[:3])}, {why_taken}", None
    same_tool = [j for j, c in enumerate(calls) if c.tool == step.tool]
    if same_tool:
        j = same_tool[0]
        return f"{label}: call {j + 1} {table[i][j].reason}", j
    return f"{label} was not called", None


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' * (count != 1)}"


def _join(problems: list[str]) -> str:
    return "; ".join(problems[:3]) + (f" (+{len(problems) - 3} more)" if len(problems) > 3 else "")


@dataclass(frozen=True)
class Alignment:
    """The best alignment of the steps with the calls in order (`exact_match`, `in_order_match`)."""

    ok: bool
    """The trajectory matches under this matcher's rule."""
    pairs: tuple[Pair, ...]
    """Matched (step, call) pairs, in order."""
    missing: tuple[int, ...]
    """Required steps left unmatched."""
    extra: tuple[int, ...]
    """Calls consumed by no step (a problem for exact, allowed for in-order)."""
    reason: str


_Score = tuple[int, int, float]  # (-problems, pairs, total arg F1): larger is better
_State = tuple[int, int, int]  # (steps done, calls done, inside a repeat step that has a call)


def _align(steps: Sequence[ExpectedToolCall], calls: Sequence[ToolCall], *, exact: bool) -> Alignment:
    k, n = len(steps), len(calls)
    table = [[step_matches(s, c) for c in calls] for s in steps]
    best: dict[_State, _Score] = {(0, 0, 0): (0, 0, 0.0)}
    back: dict[_State, tuple[_State, str]] = {}

    def relax(src: _State, dst: _State, action: str, problems: int, f1: float | None) -> None:
        p, pairs, total = best[src]
        score = (p - problems, pairs + (f1 is not None), total + (f1 or 0.0))
        if dst not in best or score > best[dst]:
            best[dst], back[dst] = score, (src, action)

    for i in range(k + 1):
        for j in range(n + 1):
            for inside in (0, 1):
                state = (i, j, inside)
                if state not in best:
                    continue
                if i < k:
                    step = steps[i]
                    if inside:
                        relax(state, (i + 1, j, 0), "done", 0, None)
                    else:
                        relax(state, (i + 1, j, 0), "skip" if step.optional else "miss",
                              0 if step.optional else 1, None)
                    if j < n and table[i][j].ok:
                        dst = (i, j + 1, 1) if step.repeat else (i + 1, j + 1, 0)
                        relax(state, dst, "pair", 0, table[i][j].arg_f1)
                if j < n:
                    relax(state, (i, j + 1, inside), "extra", 1 if exact else 0, None)
    pairs: list[Pair] = []
    missing: list[int] = []
    extra: list[int] = []
    cur: _State = (k, n, 0)
    while cur != (0, 0, 0):
        prev, action = back[cur]
        if action == "pair":
            pairs.append(Pair(prev[0], prev[1], table[prev[0]][prev[1]].arg_f1))
        elif action == "miss":
            missing.append(prev[0])
        elif action == "extra":
            extra.append(prev[1])
        cur = prev
    pairs.reverse()
    missing.reverse()
    extra.reverse()
    ok = not missing and (not exact or not extra)
    if ok:
        reason = (f"{_plural(n, 'call')} match {_plural(k, 'step')} exactly" if exact else
                  f"every required step appears in order ({_plural(len(pairs), 'pair')}, "
                  f"{_plural(len(extra), 'extra call')})")
    else:
        explained = [_explain_missing(i, steps, calls, table, "out of order or taken by another step")
                     for i in missing]
        problems = [text for text, _ in explained]
        if exact:
            cited = {j for _, j in explained}
            problems += [f"unexpected call {j + 1} `{calls[j].tool}`" for j in extra if j not in cited]
        reason = _join(problems)
    return Alignment(ok=ok, pairs=tuple(pairs), missing=tuple(missing), extra=tuple(extra), reason=reason)


def exact_match(steps: Sequence[ExpectedToolCall], calls: Sequence[ToolCall]) -> Alignment:
    """The calls are exactly the steps, in order (optional steps skippable, repeat steps repeatable)."""
    return _align(steps, calls, exact=True)


def in_order_match(steps: Sequence[ExpectedToolCall], calls: Sequence[ToolCall]) -> Alignment:
    """The required steps appear among the calls in order, with any other calls around them."""
    return _align(steps, calls, exact=False)


@dataclass(frozen=True)
class Assignment:
    """An optimal order-free assignment of calls to steps (`assign`, `any_order_match`)."""

    pairs: tuple[Pair, ...]
    """Matched (step, call) pairs, sorted by call."""
    n_calls: int
    required: tuple[bool, ...]
    """Per step: whether it is required (not optional)."""
    reason: str

    @property
    def covered(self) -> frozenset[int]:
        """Steps matched by at least one call."""
        return frozenset(p.step for p in self.pairs)

    @property
    def missing(self) -> tuple[int, ...]:
        """Required steps no call matches."""
        return tuple(i for i, req in enumerate(self.required) if req and i not in self.covered)

    @property
    def extra(self) -> tuple[int, ...]:
        """Calls no step takes."""
        taken = {p.call for p in self.pairs}
        return tuple(j for j in range(self.n_calls) if j not in taken)

    @property
    def ok(self) -> bool:
        """Every required step is matched (extra calls allowed)."""
        return not self.missing

    @property
    def precision(self) -> float:
        """Matched calls / calls; with no calls, 1.0 when no step is required, else 0.0."""
        if self.n_calls == 0:
            return 0.0 if any(self.required) else 1.0
        return len(self.pairs) / self.n_calls

    @property
    def recall(self) -> float:
        """Covered steps / (required steps + covered optional steps); 1.0 when that is 0."""
        covered = self.covered
        denominator = sum(1 for i, req in enumerate(self.required) if req or i in covered)
        return len(covered) / denominator if denominator else 1.0


def assign(steps: Sequence[ExpectedToolCall], calls: Sequence[ToolCall], rule: PairRule) -> Assignment:
    """The optimal assignment of distinct calls to steps under `rule` (see "Any order" above).

    Solved as one weighted assignment problem: each non-repeat step is a row, each repeat step n rows
    (its first row covers the step, the others only add pairs); lexicographic weights make one more
    pair outweigh any coverage, and coverage any F1.
    """
    k, n = len(steps), len(calls)
    table = [[rule(s, c) for c in calls] for s in steps]
    required = tuple(not s.optional for s in steps)
    pairs: list[Pair] = []
    if k and n:
        import numpy as np
        from scipy.optimize import linear_sum_assignment

        rows = [(i, r == 0) for i, s in enumerate(steps) for r in range(n if s.repeat else 1)]
        w_optional = n + 1.0
        w_required = w_optional * (k + 1)
        w_pair = w_required * (k + 1)
        weights = np.zeros((len(rows), n))
        for r, (i, first) in enumerate(rows):
            bonus = (w_required if required[i] else w_optional) if first else 0.0
            for j in range(n):
                if table[i][j].ok:
                    weights[r, j] = w_pair + bonus + table[i][j].arg_f1
        for r, j in zip(*linear_sum_assignment(weights, maximize=True), strict=True):
            i = rows[int(r)][0]
            if table[i][int(j)].ok:
                pairs.append(Pair(i, int(j), table[i][int(j)].arg_f1))
    pairs.sort(key=lambda p: p.call)
    result = Assignment(pairs=tuple(pairs), n_calls=n, required=required, reason="")
    if result.ok:
        reason = f"{len(result.covered)} of {_plural(k, 'step')} matched by {len(pairs)} of {_plural(n, 'call')}"
        if result.extra:
            reason += "; unmatched: " + ", ".join(f"call {j + 1} `{calls[j].tool}`" for j in result.extra[:3])
    else:
        reason = _join([_explain_missing(i, steps, calls, table, "which another step takes")[0]
                        for i in result.missing])
    return Assignment(pairs=result.pairs, n_calls=n, required=required, reason=reason)


def any_order_match(steps: Sequence[ExpectedToolCall], calls: Sequence[ToolCall]) -> Assignment:
    """Every required step is matched by a distinct call, in any order (`assign` with `step_matches`)."""
    return assign(steps, calls, step_matches)


def name_assignment(steps: Sequence[ExpectedToolCall], calls: Sequence[ToolCall]) -> Assignment:
    """The optimal assignment on tool names only, ties broken by argument F1 (`name_matches`)."""
    return assign(steps, calls, name_matches)
