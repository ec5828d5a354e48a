"""Overlap metrics: rouge_l and bleu."""

from __future__ import annotations

import subprocess
import sys

import pytest
from pydantic import JsonValue, ValidationError

from agenteval.metrics.overlap import Bleu, RougeL

from .conftest import MakeCtx

# --- rouge_l -----------------------------------------------------------------------------------


def test_rouge_l_hand_computed(make_ctx: MakeCtx) -> None:
    # LCS = 3 words; P = 3/3, R = 3/4; F = 2PR/(P+R) = 1.5/1.75 = 6/7
    s = RougeL().score(make_ctx("the cat sat", "the cat sat down"))
    assert s.value == pytest.approx(6 / 7)
    assert s.passed is None  # no threshold, no pass rule
    assert s.error is None


def test_rouge_l_counts_subsequence_not_bag_of_words(make_ctx: MakeCtx) -> None:
    # LCS("sat cat the", "the cat sat") = 1 word -> P = R = 1/3
    assert RougeL().score(make_ctx("sat cat the", "the cat sat")).value == pytest.approx(1 / 3)


def test_rouge_l_stems_and_lowercases(make_ctx: MakeCtx) -> None:
    assert RougeL().score(make_ctx("Cats RUNNING", "cat runs")).value == pytest.approx(1.0)


def test_rouge_l_best_acceptable_answer_and_disjoint(make_ctx: MakeCtx) -> None:
    assert RougeL().score(make_ctx("the cat sat", ["dog barks", "the cat sat"])).value == pytest.approx(1.0)
    assert RougeL().score(make_ctx("dog barks", "the cat sat")).value == 0.0


def test_rouge_l_threshold(make_ctx: MakeCtx) -> None:
    ctx = make_ctx("the cat sat", "the cat sat down")
    assert RougeL(threshold=0.9).score(ctx).passed is False
    assert RougeL(threshold=0.85).score(ctx).passed is True


def test_rouge_l_unmeasured_cases(make_ctx: MakeCtx) -> None:
    assert RougeL().score(make_ctx("x", None)).error == "sample has no expected answer"
    s = RougeL().score(make_ctx("北京", "北京"))  # rouge_score's tokenizer drops non-ASCII text
    assert s.value is None and s.error is not None and "tokenize" in s.error


def test_rouge_l_invalid_config() -> None:
    with pytest.raises(ValidationError):
        RougeL(threshold=1.5)
    with pytest.raises(ValidationError):
        RougeL.model_validate({"stemmer": False})


# --- bleu --------------------------------------------------------------------------------------


def test_bleu_perfect_and_disjoint(make_ctx: MakeCtx) -> None:
    assert Bleu().score(make_ctx("the cat sat on the mat", "the cat sat on the mat")).value == 1.0
    assert Bleu().score(make_ctx("dogs bark loudly", "the cat sat")).value == 0.0


def test_bleu_hand_computed(make_ctx: MakeCtx) -> None:
    # clipped n-gram precisions 5/6, 3/5, 2/4, 1/3; equal lengths so no brevity penalty
    s = Bleu().score(make_ctx("the cat sat on the mat", "the cat sat on a mat"))
    assert s.value == pytest.approx((5 / 6 * 3 / 5 * 2 / 4 * 1 / 3) ** 0.25)
    assert s.passed is None


def test_bleu_uses_every_acceptable_answer_as_reference(make_ctx: MakeCtx) -> None:
    # with both references the 2-, 3- and 4-gram precisions become 1; unigrams stay 5/6
    refs: JsonValue = ["the cat sat on a mat", "a cat sat on the mat"]
    s = Bleu().score(make_ctx("the cat sat on the mat", refs))
    assert s.value == pytest.approx((5 / 6) ** 0.25)


def test_bleu_threshold_and_tokenizer(make_ctx: MakeCtx) -> None:
    ctx = make_ctx("the cat sat on the mat", "the cat sat on a mat")
    assert Bleu(threshold=0.5).score(ctx).passed is True
    assert Bleu(threshold=0.6).score(ctx).passed is False
    zh = make_ctx("我爱北京", "我爱北京天安门")
    assert Bleu().score(zh).value == 0.0  # 13a sees one word each, and they differ
    assert (Bleu(tokenize="zh").score(zh).value or 0.0) > 0.3


def test_bleu_unmeasured_cases(make_ctx: MakeCtx) -> None:
    assert Bleu().score(make_ctx("x", None)).value is None
    assert Bleu().score(make_ctx("x", "   ")).error == "expected answer is empty"


def test_bleu_invalid_config() -> None:
    with pytest.raises(ValidationError):
        Bleu(threshold=-0.1)
    with pytest.raises(ValidationError):
        Bleu.model_validate({"tokenize": "spacy"})


def test_overlap_libraries_load_lazily() -> None:
    code = (
        "import sys, agenteval.metrics.overlap\n"
        "assert 'rouge_score' not in sys.modules and 'sacrebleu' not in sys.modules, 'eager import'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
