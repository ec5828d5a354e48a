"""`compare`: planted regressions are found, noise is not, and gates/exit codes follow."""

from __future__ import annotations

import asyncio
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from scipy import stats

from agenteval.analysis.compare import Gates, apply_gates, compare_runs, pass_at_k, pass_hat_k
from agenteval.runner import RunOptions, RunOutcome, run_suite
from agenteval.store import load_run
from agenteval.suite import load_suite

REPO = Path(__file__).resolve().parents[2]

AGENT = '''
import itertools
BROKEN = set()
_counter = itertools.count()

def _right(sample):
    return sample.expected

def good(messages, sample):
    return _right(sample)

def planted(messages, sample):
    # a regression in 15 of 40 cases
    return "wrong" if int(sample.id[1:]) < 15 else _right(sample)

def noisy(messages, sample):
    n = int(sample.id[1:])
    if n in (3, 7):
        return "wrong"
    return _right(sample)

def noisy_base(messages, sample):
    n = int(sample.id[1:])
    if n in (11, 12):
        return "wrong"
    return _right(sample)

def flaky(messages, sample):
    # c0: passes 1 of 3 repeats; everything else always passes
    if sample.id == "c00" and next(_counter) % 3 != 0:
        return "wrong"
    return _right(sample)
'''


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "cmp_agent.py").write_text(AGENT)
    rows = "".join(json.dumps({"id": f"c{i:02d}", "input": f"question {i}", "expected": f"answer {i}"}) + "\n"
                   for i in range(40))
    (tmp_path / "rows.jsonl").write_text(rows)
    (tmp_path / "s.yaml").write_text("name: cmp\nmetrics: [exact_match, {fuzzy_match: {threshold: 0.9}}]\n"
                                     "samples:\n  - file: rows.jsonl\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(ws: Path, fn: str, **kw: object) -> RunOutcome:
    suite = load_suite(ws / "s.yaml")
    return asyncio.run(run_suite(suite, RunOptions(results_root=ws / "results", backend_spec=f"python:cmp_agent:{fn}",
                                                   progress=False, use_cache=False, concurrency=1,
                                                   **kw)))  # type: ignore[arg-type]


def loaded(ws: Path, out: RunOutcome):  # type: ignore[no-untyped-def]
    return load_run(out.run_dir.run_id, ws / "results", ws / "baselines")


def test_planted_regression_is_found_with_the_right_cases(workspace: Path) -> None:
    base, cand = run(workspace, "good"), run(workspace, "planted")
    cmp = compare_runs(loaded(workspace, base), loaded(workspace, cand))
    em = next(m for m in cmp.metrics if m.metric == "exact_match")
    assert em.test == "mcnemar_exact" and em.n_pairs == 40
    assert em.baseline_mean == 1.0 and em.candidate_mean == pytest.approx(25 / 40)
    assert em.delta == pytest.approx(-15 / 40)
    assert em.p_value == pytest.approx(stats.binomtest(0, 15, 0.5).pvalue)  # 2 * 0.5**15
    assert em.p_value == pytest.approx(2 * 0.5 ** 15)
    assert em.verdict == "regressed"
    assert em.delta_ci_high is not None and em.delta_ci_high < 0
    failing = sorted(c.sample_id for c in cmp.cases if c.kind == "newly failing" and c.metric == "exact_match")
    assert failing == [f"c{i:02d}" for i in range(15)]
    first = cmp.cases[0]
    assert first.kind == "newly failing" and "-answer" in first.diff and "+wrong" in first.diff
    fz = next(m for m in cmp.metrics if m.metric == "fuzzy_match")
    assert fz.test == "wilcoxon" and fz.verdict == "regressed"
    gated = apply_gates(cmp, Gates(fail_on_regression=True))
    assert not gated.passed and {g.metric for g in gated.gates if not g.passed} == {"exact_match", "fuzzy_match"}


def test_noise_only_is_no_significant_change(workspace: Path) -> None:
    base, cand = run(workspace, "noisy_base"), run(workspace, "noisy")
    cmp = compare_runs(loaded(workspace, base), loaded(workspace, cand))
    em = next(m for m in cmp.metrics if m.metric == "exact_match")
    assert em.delta == 0.0 and em.p_value == pytest.approx(1.0)
    assert em.verdict == "no significant change"
    kinds = sorted((c.sample_id, c.kind) for c in cmp.cases if c.metric == "exact_match")
    assert kinds == [("c03", "newly failing"), ("c07", "newly failing"), ("c11", "newly passing"),
                     ("c12", "newly passing")]
    # minimum detectable effect: (1.96 + 0.84) * sd(d) / sqrt(n), d has four non-zero entries of +-1
    sd = math.sqrt(4 / 39)
    assert em.mde == pytest.approx((1.959963984540054 + 0.8416212335729143) * sd / math.sqrt(40))
    assert apply_gates(cmp, Gates(fail_on_regression=True)).passed
    assert not apply_gates(cmp, Gates(max_drop={"exact_match": -0.01})).passed


def test_pass_at_k_and_flaky_cases(workspace: Path) -> None:
    base, cand = run(workspace, "good", repeat=3), run(workspace, "flaky", repeat=3)
    cmp = compare_runs(loaded(workspace, base), loaded(workspace, cand))
    em = next(m for m in cmp.metrics if m.metric == "exact_match")
    assert em.test == "wilcoxon"  # repeats: per-case means are not pass/fail
    # 39 cases pass 3/3; c00 passes 1/3
    assert em.candidate_pass_at_k[1] == pytest.approx((39 + 1 / 3) / 40)
    assert em.candidate_pass_at_k[2] == pytest.approx((39 + 2 / 3) / 40)
    assert em.candidate_pass_hat_k[2] == pytest.approx(39 / 40)
    assert em.baseline_pass_hat_k[3] == 1.0
    assert [(c.sample_id, c.kind) for c in cmp.cases if c.metric == "exact_match"] == [("c00", "flaky")]


def test_pass_at_k_formulas() -> None:
    assert pass_at_k(5, 2, 1) == pytest.approx(0.4)
    assert pass_at_k(5, 2, 4) == 1.0  # 3 failures cannot fill 4 draws
    assert pass_at_k(5, 0, 3) == 0.0
    assert pass_hat_k(5, 2, 2) == pytest.approx(1 / 10)
    assert pass_hat_k(5, 5, 5) == 1.0


def agenteval(ws: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": f"{ws}{os.pathsep}{REPO}", "AGENTEVAL_RESULTS": str(ws / "results"),
           "AGENTEVAL_BASELINES": str(ws / "baselines")}
    return subprocess.run([sys.executable, "-m", "agenteval", *args], cwd=ws, env=env, capture_output=True,
                          text=True, timeout=120)


def test_cli_baseline_and_compare_exit_codes(workspace: Path) -> None:
    base, cand, same = run(workspace, "good"), run(workspace, "planted"), run(workspace, "good")
    p = agenteval(workspace, "baseline", "set", "main", base.run_dir.run_id)
    assert p.returncode == 0, p.stderr
    assert (workspace / "baselines" / "main.json").is_file()
    p = agenteval(workspace, "compare", "main", cand.run_dir.run_id, "--fail-on", "regression")
    assert p.returncode == 1, p.stdout + p.stderr
    assert "regressed" in p.stdout and "newly failing" in p.stdout
    p = agenteval(workspace, "compare", "main", same.run_dir.run_id, "--fail-on", "regression", "--json")
    assert p.returncode == 0, p.stderr
    data = json.loads(p.stdout)
    assert data["passed"] is True and data["metrics"][0]["verdict"] == "no significant change"
    p = agenteval(workspace, "compare", "main", cand.run_dir.run_id, "--max-drop", "exact_match=0.5")
    assert p.returncode == 0  # dropped 0.375, allowed 0.5
    p = agenteval(workspace, "baseline", "list")
    assert "main: run" in p.stdout


def test_suite_gates_block_and_incomparable_runs(workspace: Path) -> None:
    base = run(workspace, "good")
    (workspace / "s.yaml").write_text((workspace / "s.yaml").read_text().replace(
        "samples:", "gates: {max_drop: {exact_match: 0.1}}\nsamples:"))
    cand = run(workspace, "planted")
    p = agenteval(workspace, "compare", base.run_dir.run_id, cand.run_dir.run_id)
    assert p.returncode == 1 and "max_drop exact_match=0.1" in p.stdout
    rows = (workspace / "rows.jsonl").read_text().replace('"answer 5"', '"answer five"')
    (workspace / "rows.jsonl").write_text(rows)
    changed = run(workspace, "good")
    p = agenteval(workspace, "compare", base.run_dir.run_id, changed.run_dir.run_id)
    assert p.returncode == 2 and "not comparable" in p.stderr and "c05" in p.stderr
    p = agenteval(workspace, "compare", base.run_dir.run_id, changed.run_dir.run_id, "--allow-incomparable")
    assert p.returncode == 0, p.stderr
