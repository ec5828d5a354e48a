"""Hostile and broken input: fuzzed loaders, sandboxed templates, data paths that escape the suite."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agenteval.errors import ConfigError
from agenteval.suite import check_suite, load_suite

REPO = Path(__file__).resolve().parents[2]
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _load_or_config_error(path: Path) -> None:
    try:
        check_suite(load_suite(path))
    except ConfigError as exc:
        assert str(exc)  # a message, never an empty error


@FUZZ
@given(st.text(max_size=400))
def test_random_yaml_text_never_crashes(tmp_path: Path, text: str) -> None:
    p = tmp_path / "s.yaml"
    p.write_text(text, encoding="utf-8")
    _load_or_config_error(p)


@FUZZ
@given(st.data())
def test_mutated_suite_never_crashes(tmp_path: Path, data: st.DataObject) -> None:
    base = (REPO / "suites" / "qa.yaml").read_text().splitlines()
    lines = list(base)
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(lines) - 1))
        op = data.draw(st.sampled_from(["drop", "dup", "garble", "indent"]))
        if op == "drop":
            lines.pop(i)
        elif op == "dup":
            lines.insert(i, lines[i])
        elif op == "garble":
            lines[i] = data.draw(st.text(max_size=40))
        else:
            lines[i] = " " * data.draw(st.integers(0, 6)) + lines[i].lstrip()
        if not lines:
            lines = ["x"]
    (tmp_path / "data").mkdir(exist_ok=True)
    (tmp_path / "data" / "qa_more.jsonl").write_text((REPO / "suites/data/qa_more.jsonl").read_text())
    p = tmp_path / "qa.yaml"
    p.write_text("\n".join(lines), encoding="utf-8")
    _load_or_config_error(p)


@FUZZ
@given(st.lists(st.one_of(st.text(max_size=60), st.dictionaries(st.text(max_size=8), st.one_of(
    st.text(max_size=20), st.integers(), st.none(), st.lists(st.text(max_size=5), max_size=3)), max_size=4)),
    max_size=8))
def test_random_jsonl_rows_never_crash(tmp_path: Path, rows: list[object]) -> None:
    (tmp_path / "rows.jsonl").write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows),
                                         encoding="utf-8")
    (tmp_path / "s.yaml").write_text("name: fuzz\nsamples:\n  - {file: rows.jsonl, expected_field: e}\n")
    _load_or_config_error(tmp_path / "s.yaml")


@FUZZ
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=300))
def test_random_csv_never_crashes(tmp_path: Path, text: str) -> None:
    (tmp_path / "rows.csv").write_text("input,expected\n" + text, encoding="utf-8")
    (tmp_path / "s.yaml").write_text("name: fuzz\nsamples:\n  - {file: rows.csv}\n")
    _load_or_config_error(tmp_path / "s.yaml")


@pytest.mark.parametrize("template", [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ self.__init__.__globals__ }}",
    "{% for c in [].__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
    "{{ lipsum.__globals__['os'].system('true') }}",
])
def test_template_escapes_fail_with_a_clear_error(tmp_path: Path, template: str) -> None:
    (tmp_path / "s.yaml").write_text(f"name: t\nprompt: {json.dumps(template)}\nsamples:\n  - {{id: a, vars: {{}}}}\n")
    with pytest.raises(ConfigError) as ei:
        check_suite(load_suite(tmp_path / "s.yaml"))
    assert "template" in str(ei.value) and ei.value.line == 4


def test_yaml_is_loaded_safely(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text("name: !!python/object/apply:os.system ['touch pwned']\nsamples: []\n")
    with pytest.raises(ConfigError, match="bad YAML"):
        load_suite(tmp_path / "s.yaml")
    assert not (tmp_path / "pwned").exists() and not Path("pwned").exists()


def test_data_paths_outside_the_suite_need_a_flag(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "secret.jsonl").write_text('{"input": "x"}\n')
    (tmp_path / "suite").mkdir()
    (tmp_path / "suite" / "s.yaml").write_text("name: t\nsamples:\n  - file: ../secret.jsonl\n")
    monkeypatch.delenv("AGENTEVAL_ALLOW_OUTSIDE_DATA", raising=False)
    with pytest.raises(ConfigError, match="outside the suite's folder") as ei:
        load_suite(tmp_path / "suite" / "s.yaml")
    assert ei.value.line == 3 and "--allow-outside-data" in (ei.value.hint or "")
    monkeypatch.setenv("AGENTEVAL_ALLOW_OUTSIDE_DATA", "1")
    assert load_suite(tmp_path / "suite" / "s.yaml").samples[0].input == "x"


def test_no_eval_or_exec_of_suite_content() -> None:
    import re

    offenders = []
    for path in (REPO / "agenteval").rglob("*.py"):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"(?<![\w.])(eval|exec)\(", line) and not line.lstrip().startswith("#"):
                offenders.append(f"{path.relative_to(REPO)}:{n}: {line.strip()}")
    assert offenders == []


@FUZZ
@given(st.one_of(
    st.text(max_size=300),
    st.builds(lambda d: json.dumps(d), st.dictionaries(st.sampled_from(["reasoning", "score", "label", "winner",
                                                                        "rating", "verdict"]),
                                                         st.one_of(st.text(max_size=20), st.integers(-10, 20),
                                                                   st.floats(allow_nan=True), st.none()))),
    st.builds(lambda a, b: f"{a}```json\n{b}\n```", st.text(max_size=50), st.text(max_size=80)),
), st.sampled_from(["correctness", "safety", "pairwise_preference"]), st.sampled_from([None, "stop", "length"]))
def test_judge_output_parser_never_crashes(text: str, rubric_name: str, finish: str | None) -> None:
    import math

    from agenteval.judging.parse import ParseFailure, Verdict, parse_verdict
    from agenteval.judging.rubrics import load_rubric

    rubric, _ = load_rubric(rubric_name)
    result = parse_verdict(text, rubric, finish)
    assert isinstance(result, (Verdict, ParseFailure))
    if isinstance(result, Verdict):
        assert 0.0 <= result.value <= 1.0 and not math.isnan(result.value)
    else:
        assert result.reason
