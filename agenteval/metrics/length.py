"""Length budget: is the answer within a word or character budget (summaries, short answers)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, model_validator

from ..schema import Score
from .base import MetricBase, ScoreContext

__all__ = ["LengthBudget"]


class LengthBudget(MetricBase):
    """The answer's length is within the budget: at most `max_words` words and `max_chars` characters.

    Words are runs of non-whitespace characters (`str.split`; a text without spaces, such as Chinese,
    is one word: use `max_chars` for it); characters are Unicode code points of the stripped answer.
    Give at least one of `max_words`, `max_chars`, `min_words`. Value 1.0 and passed when every given
    bound holds, else 0.0; the reason states the measured length. Details: `words`, `chars`.
    """

    name: ClassVar[str] = "length_budget"
    version: ClassVar[str] = "1"

    max_words: int | None = Field(default=None, ge=1)
    """Most words allowed."""
    max_chars: int | None = Field(default=None, ge=1)
    """Most characters allowed."""
    min_words: int | None = Field(default=None, ge=0)
    """Fewest words allowed (catches empty or truncated answers)."""

    @model_validator(mode="after")
    def _some_bound(self) -> LengthBudget:
        if self.max_words is None and self.max_chars is None and self.min_words is None:
            raise ValueError("give at least one of max_words, max_chars, min_words")
        if self.min_words is not None and self.max_words is not None and self.min_words > self.max_words:
            raise ValueError(f"min_words {self.min_words} is above max_words {self.max_words}")
        return self

    def score(self, ctx: ScoreContext) -> Score:
        text = ctx.output.strip()
        words, chars = len(text.split()), len(text)
        broken = []
        if self.max_words is not None and words > self.max_words:
            broken.append(f"{words} words > {self.max_words}")
        if self.min_words is not None and words < self.min_words:
            broken.append(f"{words} words < {self.min_words}")
        if self.max_chars is not None and chars > self.max_chars:
            broken.append(f"{chars} characters > {self.max_chars}")
        reason = "; ".join(broken) if broken else f"{words} words, {chars} characters: within budget"
        ok = not broken
        return Score(value=1.0 if ok else 0.0, passed=ok, reason=reason, details={"words": words, "chars": chars})
