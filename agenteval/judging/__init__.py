"""LLM judges: rubric files (`judges/<name>.yaml`), the tolerant verdict parser, pointwise and pairwise
judging with re-asks, self-consistency, position swaps, ensembles, a cache and a budget, and the
`judge` metric that suites use (`- judge: correctness`).

Heavy imports (litellm) happen only when a judge model is called.
"""

from ..schema.rubric import FewShotExample, JudgeInput, LabelSpec, Rubric, RubricMode
from .aggregate import Aggregate, Vote, VoteSummary, combine, swap_inconsistency_rate, swap_outcome
from .inputs import JudgeInputs, gather_inputs
from .judge import Judge, JudgeModel
from .metric import JudgeMetric
from .parse import ParseFailure, Verdict, parse_verdict
from .prompt import build_messages
from .rubrics import find_rubric, load_rubric, load_rubric_file, parse_rubric, shipped_rubrics

__all__ = [
    "Aggregate", "FewShotExample", "Judge", "JudgeInput", "JudgeInputs", "JudgeMetric", "JudgeModel",
    "LabelSpec", "ParseFailure", "Rubric", "RubricMode", "Verdict", "Vote", "VoteSummary", "build_messages",
    "combine", "find_rubric", "gather_inputs", "load_rubric", "load_rubric_file", "parse_rubric",
    "parse_verdict", "shipped_rubrics", "swap_inconsistency_rate", "swap_outcome",
]
