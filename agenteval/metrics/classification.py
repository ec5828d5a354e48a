"""Classification: the answer parsed to one label of a closed set, and the corpus-level scores.

`label_match` scores one answer (1 when the parsed label is the gold label). Accuracy is its mean;
macro/micro F1, per-class precision/recall, the confusion matrix and the expected calibration error
are corpus-level numbers that `LabelMatch.aggregate` computes from the per-sample `Score.details`.
"""

from __future__ import annotations

import math
import re
import string
import unicodedata
import warnings
from typing import ClassVar

from pydantic import Field, JsonValue, field_validator

from ..schema import Score, Trace
from .base import MetricBase, ScoreContext, unmeasured

__all__ = ["UNPARSEABLE", "LabelMatch", "event_confidence", "expected_calibration_error", "normalise_label",
           "parse_label"]

UNPARSEABLE = "unparseable"
"""The predicted label of an answer that names no label, or several."""

_SPACES = re.compile(r"\s+")


def _edge_junk(ch: str) -> bool:
    return ch.isspace() or ch in string.punctuation or unicodedata.category(ch).startswith("P")


def normalise_label(text: str) -> str:
    """`text` as labels are compared: case folded, runs of whitespace collapsed to one space, and
    whitespace, punctuation and ASCII symbols (`*`, `` ` ``, `~`, ...) stripped from both ends
    (`"**Positive.**"` -> `positive`; emoji are kept)."""
    text = _SPACES.sub(" ", text.casefold())
    start, end = 0, len(text)
    while start < end and _edge_junk(text[start]):
        start += 1
    while end > start and _edge_junk(text[end - 1]):
        end -= 1
    return text[start:end]


def _label_pattern(norm: str) -> re.Pattern[str]:
    words = r"\s+".join(re.escape(w) for w in norm.split(" "))
    return re.compile(rf"(?<!\w){words}(?!\w)")


def parse_label(text: str, labels: list[str]) -> str:
    """The label of `labels` that `text` gives, or `UNPARSEABLE`.

    First the whole answer is compared with each label after `normalise_label`. Otherwise the label
    mentioned in the answer as a whole word (or phrase) is taken when exactly one label is mentioned; an
    occurrence inside a longer mentioned label does not count (`not spam` mentions `not spam`, not
    `spam`). No label, or several different ones, is `UNPARSEABLE`.
    """
    by_norm = {normalise_label(label): label for label in labels}
    whole = normalise_label(text)
    if whole in by_norm:
        return by_norm[whole]
    haystack = _SPACES.sub(" ", text.casefold())
    spans: dict[str, list[tuple[int, int]]] = {}
    for norm in by_norm:
        if norm:
            found = [m.span() for m in _label_pattern(norm).finditer(haystack)]
            if found:
                spans[norm] = found

    def inside_longer(norm: str, span: tuple[int, int]) -> bool:
        return any(other != norm and o[0] <= span[0] and span[1] <= o[1] and o[1] - o[0] > span[1] - span[0]
                   for other, others in spans.items() for o in others)

    mentioned = [n for n, found in spans.items() if any(not inside_longer(n, s) for s in found)]
    return by_norm[mentioned[0]] if len(mentioned) == 1 else UNPARSEABLE


def _probability(value: JsonValue) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    p = float(value)
    return p if math.isfinite(p) and 0.0 <= p <= 1.0 else None


def _logprob_tokens(value: JsonValue) -> list[JsonValue] | None:
    """The token list of an OpenAI-style `logprobs` value (`{"content": [...]}` or the list itself)."""
    if isinstance(value, dict):
        value = value.get("content")
    return value if isinstance(value, list) else None


def _from_event(event: dict[str, JsonValue], predicted: str, labels: list[str]) -> float | None:
    probs = event.get("label_probs")
    if isinstance(probs, dict):
        by_label: dict[str, float] = {}
        known = {normalise_label(label): label for label in labels}
        for key, raw in probs.items():
            p = None if isinstance(raw, bool) or not isinstance(raw, (int, float)) else float(raw)
            label = known.get(normalise_label(key))
            if p is None or not math.isfinite(p) or p < 0.0 or label is None:
                return None
            by_label[label] = by_label.get(label, 0.0) + p
        total = sum(by_label.values())
        if predicted == UNPARSEABLE or total <= 0.0:
            return None
        return by_label.get(predicted, 0.0) / total
    if "confidence" in event:
        return _probability(event["confidence"])
    choices = event.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        event = choices[0]
    tokens = _logprob_tokens(event.get("logprobs"))
    if tokens is None:
        return None
    total_logprob = 0.0
    for token in tokens:
        lp = token.get("logprob") if isinstance(token, dict) else None
        if isinstance(lp, bool) or not isinstance(lp, (int, float)) or not lp <= 0.0:
            return None
        total_logprob += float(lp)
    return math.exp(total_logprob) if tokens else None


def _has_confidence(event: dict[str, JsonValue]) -> bool:
    if "label_probs" in event or "confidence" in event or "logprobs" in event:
        return True
    choices = event.get("choices")
    return (isinstance(choices, list) and bool(choices) and isinstance(choices[0], dict)
            and "logprobs" in choices[0])


def event_confidence(trace: Trace, predicted: str, labels: list[str]) -> float | None:
    """The model's confidence in `predicted`, from the last trace event that carries one, or None.

    Accepted event shapes (JSON objects in `trace.events`; the last one with one of these keys counts):
    - `{"label_probs": {"<label>": p, ...}}`: a probability (or any non-negative weight) per label; the
      confidence is the predicted label's share of the total (labels matched as `normalise_label`
      does). None for an unparseable answer or a key that is not a label.
    - `{"confidence": p}`: the confidence itself, in [0, 1].
    - `{"logprobs": {"content": [{"token": ..., "logprob": ...}, ...]}}` (the OpenAI chat completions
      `choices[i].logprobs` shape; the bare token list is accepted too, as is a whole response
      `{"choices": [{"logprobs": ...}]}`): the probability of the answer as generated,
      exp(sum of the token log-probabilities). It is the label's probability when the answer is the
      label alone, so instruct the model to answer with the label only.
    A malformed value (not a number, outside [0, 1], a positive log-probability) gives None, never an error.
    """
    for event in reversed(trace.events):
        if isinstance(event, dict) and _has_confidence(event):
            return _from_event(event, predicted, labels)
    return None


def expected_calibration_error(confidences: list[float], correct: list[bool],
                               n_bins: int = 10) -> tuple[float, list[JsonValue]]:
    """ECE over equal-width confidence bins, and the non-empty bins.

    ECE = sum over bins of (n_bin / n) * |accuracy_bin - mean confidence_bin|; bin i holds the
    confidences in (i/n_bins, (i+1)/n_bins], the first bin also 0.
    """
    n = len(confidences)
    bins: list[JsonValue] = []
    ece = 0.0
    for i in range(n_bins):
        lo, hi = i / n_bins, (i + 1) / n_bins
        members = [j for j, c in enumerate(confidences) if (lo < c <= hi) or (i == 0 and c == 0.0)]
        if not members:
            continue
        acc = sum(correct[j] for j in members) / len(members)
        conf = sum(confidences[j] for j in members) / len(members)
        ece += len(members) / n * abs(acc - conf)
        bins.append({"lo": lo, "hi": hi, "n": len(members), "accuracy": acc, "confidence": conf})
    return ece, bins


class LabelMatch(MetricBase):
    """The answer, parsed to a label of the suite's closed label set, equals the gold label.

    The labels are the metric's `labels`, else the suite's `labels`. The answer is parsed with
    `parse_label`: equal to a label after normalisation (case folded, whitespace collapsed, punctuation
    and ASCII symbols stripped from both ends), else the one label mentioned in it as a whole word; no label
    or several is the `unparseable` bucket (a wrong answer, never unmeasured). The parser does not read
    negations ("not positive" mentions `positive`): ask the model to answer with the label only. The
    gold label is the sample's `expected` (one label; matched to the label set the same way).
    Value 1.0 and passed when the parsed label is the gold label, else 0.0. Unmeasured when there is no
    label set, two labels normalise alike, the sample has no (or several) expected labels, or the
    expected label is not in the set.

    Details: `predicted` (a label or `unparseable`), `gold`, and `confidence` when a trace event gives
    one (see `event_confidence`: label probabilities, a confidence, or OpenAI-style logprobs).

    `aggregate(details)` returns, over the scored answers:
    - `n`: answers; `accuracy`; `n_unparseable`;
    - `macro_f1`: unweighted mean of per-class F1 over the labels that occur as gold or predicted;
    - `micro_f1`: F1 of the pooled counts over those labels (an unparseable answer is a miss for its
      gold class and a false positive for none, so micro F1 equals accuracy when nothing is unparseable);
    - `weighted_f1`: per-class F1 weighted by gold support;
    - `per_class`: `{label: {precision, recall, f1, support}}` (support = gold count);
    - `confusion_matrix`: `{labels, matrix}`, rows gold and columns predicted, in `labels` order
      (`unparseable` last when any answer was unparseable);
    - with confidences: `ece` (expected calibration error over `ece_bins` equal-width bins of the
      answers that have a confidence; an unparseable answer counts as wrong), `n_confidence`, and
      `calibration`, the non-empty bins `{lo, hi, n, accuracy, confidence}`.
    scikit-learn computes the F1 scores and the confusion matrix (zero_division=0).
    """

    name: ClassVar[str] = "label_match"
    version: ClassVar[str] = "1"

    labels: list[str] | None = None
    """The closed label set; None uses the suite's `labels`."""
    ece_bins: int = Field(default=10, ge=1, le=100)
    """Equal-width confidence bins for the expected calibration error in `aggregate`."""

    @field_validator("labels")
    @classmethod
    def _distinct_labels(cls, v: list[str] | None) -> list[str] | None:
        if v is not None:
            problem = _label_set_problem(v)
            if problem is not None:
                raise ValueError(problem)
        return v

    def score(self, ctx: ScoreContext) -> Score:
        labels = self.labels if self.labels is not None else ctx.suite.labels
        if labels is None:
            return unmeasured("no label set: give the suite `labels` or the metric a `labels` argument")
        problem = _label_set_problem(labels)
        if problem is not None:
            return unmeasured(f"suite labels: {problem}")
        acceptable = ctx.acceptable
        if len(acceptable) != 1 or not isinstance(acceptable[0], str):
            return unmeasured("a classification sample needs exactly one expected label (a string)"
                              if acceptable else "sample has no expected label")
        by_norm = {normalise_label(label): label for label in labels}
        gold = by_norm.get(normalise_label(acceptable[0]))
        if gold is None:
            return unmeasured(f"expected label {acceptable[0]!r} is not one of the labels ({', '.join(labels)})")
        predicted = parse_label(ctx.output, labels)
        details: dict[str, JsonValue] = {"predicted": predicted, "gold": gold}
        confidence = event_confidence(ctx.trace, predicted, labels)
        if confidence is not None:
            details["confidence"] = confidence
        ok = predicted == gold
        if ok:
            reason = f"label {gold!r}"
        elif predicted == UNPARSEABLE:
            reason = f"no single label in the answer (expected {gold!r})"
        else:
            reason = f"predicted {predicted!r}, expected {gold!r}"
        return Score(value=1.0 if ok else 0.0, passed=ok, reason=reason, details=details)

    def aggregate(self, details: list[dict[str, JsonValue]]) -> dict[str, JsonValue]:
        """Corpus-level classification scores from the per-answer details (keys: see the class doc)."""
        rows = [(d["gold"], d["predicted"], d.get("confidence")) for d in details
                if isinstance(d.get("gold"), str) and isinstance(d.get("predicted"), str)]
        if not rows:
            return {"n": 0}
        from sklearn.metrics import (
            confusion_matrix,
            f1_score,
            precision_recall_fscore_support,
        )

        gold = [str(g) for g, _, _ in rows]
        pred = [str(p) for _, p, _ in rows]
        seen = (set(gold) | set(pred)) - {UNPARSEABLE}
        order = [label for label in (self.labels or []) if label in seen]
        labels = order + sorted(seen - set(order))
        n_unparseable = pred.count(UNPARSEABLE)
        precision, recall, f1, support = precision_recall_fscore_support(
            gold, pred, labels=labels, zero_division=0)
        matrix_labels = labels + ([UNPARSEABLE] if n_unparseable else [])
        with warnings.catch_warnings():  # "a single label was found": the labels are given, the shape is right
            warnings.simplefilter("ignore", UserWarning)
            matrix = confusion_matrix(gold, pred, labels=matrix_labels)
        out: dict[str, JsonValue] = {
            "n": len(rows),
            "accuracy": sum(g == p for g, p in zip(gold, pred, strict=True)) / len(rows),
            "n_unparseable": n_unparseable,
            "macro_f1": float(f1_score(gold, pred, labels=labels, average="macro", zero_division=0)),
            "micro_f1": float(f1_score(gold, pred, labels=labels, average="micro", zero_division=0)),
            "weighted_f1": float(f1_score(gold, pred, labels=labels, average="weighted", zero_division=0)),
            "per_class": {label: {"precision": float(precision[i]), "recall": float(recall[i]),
                                  "f1": float(f1[i]), "support": int(support[i])}
                          for i, label in enumerate(labels)},
            "confusion_matrix": {"labels": list(matrix_labels),
                                 "matrix": [[int(x) for x in row] for row in matrix]},
        }
        confident = [(float(c), g == p) for g, p, c in rows
                     if isinstance(c, (int, float)) and not isinstance(c, bool)]
        if confident:
            ece, bins = expected_calibration_error([c for c, _ in confident], [ok for _, ok in confident],
                                                   self.ece_bins)
            out.update({"ece": ece, "n_confidence": len(confident), "calibration": bins})
        return out


def _label_set_problem(labels: list[str]) -> str | None:
    """Why `labels` cannot be a label set (empty, a blank label, two labels alike), or None."""
    if not labels:
        return "the label set is empty"
    seen: dict[str, str] = {}
    for label in labels:
        norm = normalise_label(label)
        if not norm:
            return f"label {label!r} is blank after normalisation"
        if norm in seen:
            return f"labels {seen[norm]!r} and {label!r} are the same after normalisation"
        seen[norm] = label
    if UNPARSEABLE in seen:
        return f"{UNPARSEABLE!r} is reserved for answers that name no label"
    return None
