"""`summarize(grouped=True)`: the same summary without a dict of sample ids, for results that come
with each sample's repeats together (a finished run's file)."""

from __future__ import annotations

import random

from agenteval.analysis.summary import summarize
from agenteval.schema import SampleResult, Score


def _results(n: int, repeats: int, seed: int = 0) -> list[SampleResult]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        for r in range(repeats):
            v = rng.choice([0.0, 0.25, 1.0, None])
            scores = {"a": Score(value=v, passed=None if v is None else v > 0.5),
                      "b": Score(value=float(rng.random() < 0.5))}
            out.append(SampleResult(sample_id=f"s{i}", repeat=r, sample_hash="h", input="q", output="x",
                                    scores=scores, tags=[f"t{i % 3}"], metadata={"lang": rng.choice(["en", "de"])}))
    return out


def test_grouped_input_gives_the_same_summary_either_way() -> None:
    for repeats in (1, 3):
        rows = _results(60, repeats)
        plain = summarize("r", rows, ["a", "b"], {}, slice_by=["tags", "lang"])
        grouped = summarize("r", rows, ["a", "b"], {}, slice_by=["tags", "lang"], grouped=True)
        assert grouped == plain
        assert plain.metrics["b"].n == 60  # cases, not results


def test_without_grouped_scattered_repeats_still_pair_up() -> None:
    rows = _results(20, 2)
    scattered = rows[0::2] + rows[1::2]  # every repeat 0, then every repeat 1
    assert summarize("r", scattered, ["a", "b"], {}).metrics["b"].n == 20
    assert summarize("r", scattered, ["a", "b"], {}).metrics["b"].mean == \
        summarize("r", rows, ["a", "b"], {}).metrics["b"].mean
