"""Rubric files: the shipped set, the search order, versions and hashes, and file:line errors."""

from __future__ import annotations

import filecmp
from pathlib import Path

import pytest

from agenteval.errors import ConfigError
from agenteval.judging import JudgeMetric, find_rubric, load_rubric, load_rubric_file, shipped_rubrics

REPO = Path(__file__).resolve().parents[2]
PACKAGE_RUBRICS = REPO / "agenteval" / "judging" / "rubrics"
SHIPPED = ["answer_relevance", "correctness", "faithfulness", "helpfulness", "instruction_following",
           "pairwise_preference", "safety", "tool_use"]

GOOD = """\
name: brevity
version: 2
description: Is the answer short?
criteria:
  brevity: Says it in as few words as possible.
scale:
  1: Rambling.
  2: Wordy.
  3: Short.
pass_score: 2
"""


def write(tmp_path: Path, text: str, name: str = "r.yaml") -> Path:
    p = tmp_path / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)
    return p


def error(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_rubric_file(path)
    return info.value


def test_shipped_rubrics_load_and_match_the_judges_folder() -> None:
    assert shipped_rubrics() == SHIPPED
    for name in SHIPPED:
        rubric = load_rubric_file(PACKAGE_RUBRICS / f"{name}.yaml")
        assert rubric.name == name and rubric.version == "1" and rubric.model == "litellm:openai/gpt-4o-mini"
        assert rubric.pass_threshold is not None
        # judges/ at the repository root is what users read; the package copy is what installs ship.
        assert filecmp.cmp(REPO / "judges" / f"{name}.yaml", PACKAGE_RUBRICS / f"{name}.yaml", shallow=False), name
    assert sorted(p.stem for p in (REPO / "judges").glob("*.yaml")) == SHIPPED


def test_shipped_rubric_semantics() -> None:
    correctness = load_rubric_file(PACKAGE_RUBRICS / "correctness.yaml")
    assert correctness.requires_reference and correctness.scale_range == (1, 5)
    assert correctness.shown_inputs == ["input", "reference", "response"]
    assert correctness.pass_threshold == 0.75  # pass_score 4 on 1..5
    safety = load_rubric_file(PACKAGE_RUBRICS / "safety.yaml")
    assert safety.labels is not None and {k: v.value for k, v in safety.labels.items()} == {
        "safe": 1.0, "over_refusal": 0.5, "unsafe": 0.0}
    assert safety.pass_threshold == 1.0
    pairwise = load_rubric_file(PACKAGE_RUBRICS / "pairwise_preference.yaml")
    assert pairwise.mode == "pairwise" and pairwise.shown_inputs == ["input", "response", "baseline"]
    assert pairwise.pass_threshold == 0.5
    assert "trajectory" in load_rubric_file(PACKAGE_RUBRICS / "tool_use.yaml").shown_inputs
    assert "context" in load_rubric_file(PACKAGE_RUBRICS / "faithfulness.yaml").shown_inputs


def test_search_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert find_rubric("correctness") == PACKAGE_RUBRICS / "correctness.yaml"
    write(tmp_path, GOOD.replace("brevity", "correctness"), "judges/correctness.yaml")
    assert find_rubric("correctness") == Path("judges/correctness.yaml")  # ./judges/ before the package
    suite_dir = tmp_path / "suites"
    write(suite_dir, GOOD.replace("brevity", "correctness"), "judges/correctness.yml")
    assert find_rubric("correctness", suite_dir) == suite_dir / "judges" / "correctness.yml"
    explicit = write(tmp_path, GOOD, "elsewhere/brevity.yaml")
    assert find_rubric("elsewhere/brevity.yaml") == Path("elsewhere/brevity.yaml")
    assert find_rubric(str(explicit)) == explicit
    write(suite_dir, GOOD, "mine/brevity.yaml")
    assert find_rubric("mine/brevity.yaml", suite_dir) == suite_dir / "mine" / "brevity.yaml"


def test_unknown_rubric_names_the_closest() -> None:
    with pytest.raises(ConfigError) as info:
        load_rubric("corectness")
    assert info.value.message == "unknown rubric 'corectness'"
    assert info.value.hint == "did you mean 'correctness'?"
    with pytest.raises(ConfigError, match=r"rubric file 'nope/x\.yaml' not found"):
        load_rubric("nope/x.yaml")
    with pytest.raises(ConfigError, match="unknown rubric 'corectness'"):
        JudgeMetric(rubric="corectness")


def test_version_and_hash(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    rubric = load_rubric_file(path)
    assert rubric.version == "2" and rubric.pass_threshold == 0.5
    metric = JudgeMetric(rubric=str(path), model="stub:echo")
    assert metric.version == f"2+{rubric.content_hash[:12]}"
    assert metric.judge_model_spec == "stub:echo"
    # Any change of content changes the hash, even with the version left alone.
    edited = load_rubric_file(write(tmp_path, GOOD.replace("Rambling.", "Rambles."), "r2.yaml"))
    assert edited.version == rubric.version and edited.content_hash != rubric.content_hash
    # Formatting and key order do not.
    reordered = write(tmp_path, "version: '2'\n" + GOOD.replace("version: 2\n", "").replace("  ", "    "), "r3.yaml")
    assert load_rubric_file(reordered).content_hash == rubric.content_hash


@pytest.mark.parametrize(("text", "line", "field", "message"), [
    (GOOD.replace("criteria:", "critera:"), 4, "critera", "Extra inputs are not permitted (and 1 more problem)"),
    (GOOD.replace("pass_score: 2", "pass_score: 6"), 10, "pass_score", "pass_score 6 is not on the scale 1..3"),
    (GOOD.replace("  3: Short.", "  4: Short."), 6, "scale",
     "the scale needs at least two consecutive integer scores, each with an anchor (got [1, 2, 4])"),
    (GOOD.replace("name: brevity", "name: brevity\nmode: pairwise"), 7, "scale",
     "a pairwise rubric has no `scale` (its verdict is A, B or tie; use pass_value)"),
    (GOOD + "inputs: [input, answer]\n", 11, "inputs[1]",
     "Input should be 'input', 'response', 'reference', 'context', 'trajectory' or 'baseline', got 'answer'"),
    (GOOD + "requires_reference: true\ninputs: [input, response]\n", 12, "inputs",
     "requires_reference is true but `reference` is not shown"),
    (GOOD + "examples:\n  - input: q\n    response: a\n    reasoning: fine\n    score: 2\n"
            "  - input: q\n    response: b\n    reasoning: bad\n    score: 9\n", 19, "examples[1].score",
     "score 9 is not on the scale 1..3"),
    (GOOD.replace("version: 2\n", ""), 1, "version", "Field required"),
])
def test_errors_name_file_line_and_field(tmp_path: Path, text: str, line: int, field: str, message: str) -> None:
    path = write(tmp_path, text)
    err = error(path)
    assert (err.file, err.line, err.field, err.message) == (str(path), line, field, message)
    assert str(err).startswith(f"{path}:{line}: {field}: {message}")


def test_error_hints_and_shapes(tmp_path: Path) -> None:
    err = error(write(tmp_path, GOOD.replace("criteria:", "critera:")))
    assert err.hint == "did you mean 'criteria'?"
    labels = GOOD.split("scale:")[0] + "labels:\n  good: {value: 1}\n  bad: {value: 2}\npass_label: good\n"
    err = error(write(tmp_path, labels))
    assert (err.line, err.field) == (8, "labels.bad.value")
    assert err.message == "Input should be less than or equal to 1, got 2"
    err = error(write(tmp_path, "name: x\nversion: 1\ncriteria: {a: b}\nscale:\n  1: one\n   2: two\n"))
    assert err.line == 6 and err.message.startswith("bad YAML")
    err = error(write(tmp_path, "- just\n- a list\n"))
    assert (err.line, err.message) == (1, "a rubric file must be a mapping with at least name, version and criteria")
