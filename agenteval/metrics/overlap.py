"""N-gram overlap metrics (ROUGE-L, BLEU) between the answer and the acceptable answers.

`rouge_score` and `sacrebleu` are imported on first use, never when this module is imported.
"""

from __future__ import annotations

import functools
from typing import Any, ClassVar, Literal

from pydantic import Field

from ..schema import Score
from .base import MetricBase, ScoreContext, expected_texts, unmeasured

__all__ = ["Bleu", "RougeL"]


@functools.cache
def _rouge_scorer() -> Any:
    """The ROUGE-L scorer (with Porter stemming), built once."""
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)


@functools.cache
def _rouge_tokenizer() -> Any:
    """rouge_score's default tokenizer: lowercase ASCII letters and digits only."""
    from rouge_score import tokenizers

    return tokenizers.DefaultTokenizer(use_stemmer=False)


def _graded(value: float, threshold: float | None, reason: str) -> Score:
    """A score in [0, 1], passed only when a threshold is set."""
    value = min(max(value, 0.0), 1.0)
    if threshold is None:
        return Score(value=value, passed=None, reason=reason)
    passed = value >= threshold
    return Score(value=value, passed=passed, reason=f"{reason} {'>=' if passed else '<'} {threshold:g}")


class RougeL(MetricBase):
    """ROUGE-L F-measure against the closest acceptable answer.

    Longest-common-subsequence overlap of words, as computed by Google's `rouge_score` package
    (lowercased, Porter-stemmed; its tokenizer keeps only ASCII letters and digits, so text in other
    scripts is not scored). F = 2PR / (P + R), where P = LCS / answer words and R = LCS / reference
    words. The value is the best F over the acceptable answers. With `threshold`, passed when the
    value >= threshold; without, the metric has no pass rule. Unmeasured when no acceptable answer
    has a word the tokenizer keeps.
    """

    warmup_imports: ClassVar[tuple[str, ...]] = ('rouge_score.rouge_scorer',)

    name: ClassVar[str] = "rouge_l"
    version: ClassVar[str] = "1"

    threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    """Minimum value to pass, in [0, 1]; None gives no pass rule."""

    def score(self, ctx: ScoreContext) -> Score:
        answers = expected_texts(ctx)
        if not answers:
            return unmeasured("sample has no expected answer")
        tokenize = _rouge_tokenizer().tokenize
        references = [a for a in answers if tokenize(a)]
        if not references:
            return unmeasured("expected answer has no words rouge_l can tokenize (ASCII letters, digits)")
        scorer = _rouge_scorer()
        best = max(float(scorer.score(ref, ctx.output)["rougeL"].fmeasure) for ref in references)
        return _graded(best, self.threshold, f"rouge_l F {best:.3f}")


BleuTokenizer = Literal["13a", "intl", "zh", "char", "none"]


class Bleu(MetricBase):
    """Sentence BLEU of the answer against all acceptable answers, scaled to [0, 1].

    `sacrebleu.sentence_bleu(answer, acceptable answers)` with its defaults (exponential smoothing,
    effective n-gram order for short answers, `13a` tokenization unless `tokenize` says otherwise;
    use `zh` or `char` for Chinese or Japanese), divided by 100. Every acceptable answer is a
    reference. An identical answer scores 1.0 and one sharing no word 0.0. With `threshold`, passed
    when the value >= threshold; without, the metric has no pass rule. Unmeasured when every
    acceptable answer is empty.
    """

    warmup_imports: ClassVar[tuple[str, ...]] = ('sacrebleu',)

    name: ClassVar[str] = "bleu"
    version: ClassVar[str] = "1"

    threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    """Minimum value to pass, in [0, 1]; None gives no pass rule."""
    tokenize: BleuTokenizer = "13a"
    """sacrebleu tokenizer."""

    def score(self, ctx: ScoreContext) -> Score:
        answers = expected_texts(ctx)
        if not answers:
            return unmeasured("sample has no expected answer")
        references = [a for a in answers if a.strip()]
        if not references:
            return unmeasured("expected answer is empty")
        import sacrebleu

        result = sacrebleu.sentence_bleu(ctx.output, references, tokenize=self.tokenize)
        value = float(result.score) / 100.0
        return _graded(value, self.threshold, f"BLEU {min(max(value, 0.0), 1.0):.3f}")
