"""The pytest plugin, exercised with pytester as a user would run it."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

# pytester's in-process runs restore sys.modules afterwards; numpy refuses to be imported twice in a
# process, so the statistics stack is imported here, before any inline run.
import scipy.stats  # noqa: F401

SUITE = """
name: mini
metrics: [exact_match]
thresholds: {exact_match: 0.5}
samples:
  - {id: capital, input: "Capital of France?", expected: Paris}
  - {id: water, input: "Formula of water?", expected: H2O}
  - {id: planet, input: "Largest planet?", expected: Jupiter}
"""

AGENT = """
import itertools
_n = itertools.count()

def two_right(messages, sample):
    return sample.expected if sample.id != "planet" else "Saturn"

def flaky(messages, sample):
    if sample.id == "planet":
        return "Jupiter" if next(_n) % 2 == 0 else "Saturn"
    return sample.expected
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makefile(".yaml", mini=SUITE)
    pytester.makepyfile(my_agent=AGENT)
    pytester.syspathinsert()
    return pytester


def out(p: pytest.Pytester) -> str:
    return f"--agenteval-out={p.path / 'results'}"


def run_lines(p: pytest.Pytester) -> list[dict[str, object]]:
    files = sorted((p.path / "results" / "runs").glob("*/samples.jsonl"))
    return [json.loads(x) for f in files for x in f.read_text().splitlines()]


def test_suite_named_on_the_command_line_becomes_items(project: pytest.Pytester) -> None:
    r = project.runpytest("mini.yaml", "--agenteval-backend=stub:golden", out(project), "-v")
    r.assert_outcomes(passed=4)
    r.stdout.fnmatch_lines(["*mini.yaml::capital PASSED*", "*mini.yaml::water PASSED*",
                            "*mini.yaml::planet PASSED*", "*mini.yaml::[[]thresholds[]] PASSED*",
                            "*agenteval*", "suite mini", "*exact_match*1.000*3*"])
    assert len(run_lines(project)) == 3  # one runner call for the whole suite


def test_yaml_files_are_not_collected_unless_asked(project: pytest.Pytester) -> None:
    r = project.runpytest(out(project))
    assert r.ret == pytest.ExitCode.NO_TESTS_COLLECTED
    project.makeini("[pytest]\nagenteval_suites = *.yaml\nagenteval_backend = stub:golden\n")
    r = project.runpytest(out(project))
    r.assert_outcomes(passed=4)


def test_failures_explain_themselves(project: pytest.Pytester) -> None:
    r = project.runpytest("mini.yaml", "--agenteval-backend=python:my_agent:two_right", out(project))
    r.assert_outcomes(passed=3, failed=1)
    r.stdout.fnmatch_lines(["*sample 'planet' of suite 'mini': pass rate 0.00 < required 1.00*",
                            "*answer:   'Saturn'*", "*expected: 'Jupiter'*",
                            "*exact_match = 0.000 failed*expected 'Jupiter', got 'Saturn'*"])


def test_k_selects_samples_and_only_those_run(project: pytest.Pytester) -> None:
    r = project.runpytest("mini.yaml", "--agenteval-backend=stub:golden", out(project), "-k", "water")
    r.assert_outcomes(passed=1)
    assert [x["sample_id"] for x in run_lines(project)] == ["water"]


def test_failing_threshold_item_and_x(project: pytest.Pytester) -> None:
    r = project.runpytest("mini.yaml", "--agenteval-backend=stub:echo", out(project))
    r.assert_outcomes(failed=4)
    r.stdout.fnmatch_lines(["*thresholds failed*", "*exact_match: mean 0.000 (95% CI*n=3) < 0.5*"])
    r = project.runpytest("mini.yaml", "--agenteval-backend=stub:echo", out(project), "-x")
    r.assert_outcomes(failed=1)


def test_repeat_pass_rate_and_flaky_label(project: pytest.Pytester) -> None:
    project.makefile(".yaml", flaky=SUITE.replace("name: mini", "name: flaky\npass_if: {min_pass_rate: 0.5}")
                     .replace("thresholds: {exact_match: 0.5}\n", ""))
    r = project.runpytest("flaky.yaml", "--agenteval-backend=python:my_agent:flaky", out(project),
                          "--agenteval-repeat=2", "--agenteval-no-cache", "-p", "no:randomly")
    r.assert_outcomes(passed=3)
    r.stdout.fnmatch_lines(["*flaky (pass in some repeats, fail in others): flaky.yaml::planet*"])
    assert len(run_lines(project)) == 6


def test_junit_xml_carries_scores(project: pytest.Pytester) -> None:
    xml = project.path / "junit.xml"
    project.runpytest("mini.yaml", "--agenteval-backend=stub:golden", out(project), f"--junitxml={xml}")
    cases = {c.get("name"): c for c in ET.parse(xml).getroot().iter("testcase")}
    props = {p.get("name"): p.get("value") for p in cases["capital"].iter("property")}
    assert props["agenteval:exact_match"] == "1.0" and props["agenteval:pass_rate"] == "1.0"


def test_fixture_api_and_assertion_messages(project: pytest.Pytester) -> None:
    project.makepyfile(test_api="""
from agenteval.pytest_plugin import assert_score
import pytest

def test_pass(agenteval):
    result = agenteval.run_sample("Capital of France?", expected="Paris", backend="stub:golden",
                                  metrics=["exact_match", {"fuzzy_match": {"threshold": 0.9}}])
    assert_score(result, "exact_match", min=1.0)
    assert_score(result, "fuzzy_match", min=0.9)

def test_fail(agenteval):
    result = agenteval.run_sample("Capital of France?", expected="Paris", backend="stub:echo")
    assert_score(result, "exact_match", min=1.0)

@pytest.mark.agenteval(suite="mini.yaml", backend="stub:golden")
def test_marker(eval_run):
    assert eval_run.summary.metrics["exact_match"].mean == 1.0
""")
    r = project.runpytest("test_api.py", out(project))
    r.assert_outcomes(passed=2, failed=1)
    r.stdout.fnmatch_lines(["*sample 'sample': exact_match = 0.0000 < min 1*",
                            "*answer:   'Capital of France?'*", "*expected: 'Paris'*"])


def _baseline(project: pytest.Pytester, agent: str) -> None:
    project.runpytest("mini.yaml", f"--agenteval-backend={agent}", out(project))
    run = sorted((project.path / "results" / "runs").iterdir())[-1]
    from agenteval.store import load_run, save_baseline

    save_baseline("main", load_run(str(run), project.path / "results", project.path / "baselines"),
                  project.path / "baselines")


def test_baseline_gate_passes_and_fails(project: pytest.Pytester) -> None:
    project.makefile(".yaml", mini=SUITE.replace("samples:", "gates: {max_drop: {exact_match: 0.1}}\nsamples:"))
    _baseline(project, "stub:golden")
    base = f"--agenteval-baselines={project.path / 'baselines'}"
    r = project.runpytest("mini.yaml", "--agenteval-backend=stub:golden", out(project), base,
                          "--agenteval-baseline=main")
    r.assert_outcomes(passed=5)
    r = project.runpytest("mini.yaml", "--agenteval-backend=python:my_agent:two_right", out(project), base,
                          "--agenteval-baseline=main")
    r.assert_outcomes(passed=3, failed=2)
    r.stdout.fnmatch_lines(["*[[]regression-gate[]]*", "*gate max_drop exact_match=0.1: FAIL*",
                            "*newly failing: planet (exact_match)*"])


def test_xdist_runs_each_suite_once(project: pytest.Pytester) -> None:
    project.makefile(".yaml", other=SUITE.replace("name: mini", "name: other"))
    r = project.runpytest_subprocess("mini.yaml", "other.yaml", "--agenteval-backend=stub:golden", out(project),
                                     "-n", "2", "-p", "no:cacheprovider")
    r.assert_outcomes(passed=8)
    lines = run_lines(project)
    assert sorted(x["sample_id"] for x in lines) == sorted(["capital", "water", "planet"] * 2)
    assert len(list((project.path / "results" / "runs").iterdir())) == 2
    r.stdout.fnmatch_lines(["*suite mini*", "*suite other*"])
