"""length_budget: word and character budgets."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from agenteval.metrics.length import LengthBudget

from .conftest import task_ctx


def test_within_and_over_the_budget() -> None:
    ok = LengthBudget(max_words=5).score(task_ctx("  one two three four five \n"))
    assert (ok.value, ok.passed) == (1.0, True) and ok.details == {"words": 5, "chars": 23}
    over = LengthBudget(max_words=4, max_chars=10).score(task_ctx("one two three four five"))
    assert (over.value, over.passed) == (0.0, False)
    assert over.reason == "5 words > 4; 23 characters > 10"


def test_min_words_catches_empty_answers() -> None:
    assert LengthBudget(min_words=1).score(task_ctx("   ")).passed is False
    assert LengthBudget(max_chars=4).score(task_ctx("日本語です")).passed is False


@pytest.mark.parametrize("args", [{}, {"max_words": 0}, {"min_words": 10, "max_words": 5}, {"max_tokens": 3}])
def test_bad_arguments(args: dict[str, int]) -> None:
    with pytest.raises(ValidationError):
        LengthBudget.model_validate(args)
