"""Comparing a candidate run with a baseline: paired statistics per metric, per-case changes, gates.

Cases are paired by sample id, over the cases present in both runs; with repeats, each case's measured
repeats are averaged first, so every test is over independent cases. Per metric:

- delta = mean(candidate) - mean(baseline) with a 95 % paired bootstrap CI (2,000 resamples of cases,
  fixed seed);
- significance: the exact McNemar test (`scipy.stats.binomtest` on the discordant pairs) when the metric
  is pass/fail with one repeat per case; otherwise the Wilcoxon signed-rank test (`scipy.stats.wilcoxon`)
  on the paired differences;
- the minimum detectable effect at this n: (z_0.975 + z_0.8) x sd(differences) / sqrt(n) (for a
  pass/fail metric with no discordant pairs, sd is taken as sqrt(p_b(1-p_b) + p_c(1-p_c)));
- the verdict: improved / regressed when p < alpha (0.05), else no significant change.

Higher is better for every built-in metric.
"""

from __future__ import annotations

import difflib
import math
from collections import defaultdict
from dataclasses import dataclass, field

from ..schema import SampleResult
from ..schema.compare import CaseChange, CaseStatus, Comparison, GateResult, MetricComparison, RunRef
from ..store.loaded import LoadedRun
from .stats import bootstrap_interval

__all__ = ["Gates", "compare_runs", "apply_gates", "pass_at_k", "pass_hat_k"]

Z_ALPHA = 1.959963984540054
Z_POWER = 0.8416212335729143


@dataclass
class Gates:
    """What makes a comparison fail: any significant regression, and/or a maximum drop per metric."""

    fail_on_regression: bool = False
    max_drop: dict[str, float] = field(default_factory=dict)

    def merged(self, other: Gates) -> Gates:
        return Gates(self.fail_on_regression or other.fail_on_regression, {**self.max_drop, **other.max_drop})


def pass_at_k(n: int, c: int, k: int) -> float:
    """Chance that at least one of k repeats drawn from n (c passing) passes (unbiased estimator)."""
    if n - c < k:
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def pass_hat_k(n: int, c: int, k: int) -> float:
    """pass^k (tau-bench): chance that k repeats drawn from n (c passing) all pass."""
    return math.comb(c, k) / math.comb(n, k)


def _ref(run: LoadedRun) -> RunRef:
    m = run.manifest
    return RunRef(run_id=m.run_id, source=run.source, backend=m.backend.spec, suite=m.suite.name,
                  suite_version=m.suite.version, labels=m.labels)


def _by_case(results: list[SampleResult]) -> dict[str, list[SampleResult]]:
    out: dict[str, list[SampleResult]] = defaultdict(list)
    for r in results:
        out[r.sample_id].append(r)
    for rs in out.values():
        rs.sort(key=lambda r: r.repeat)
    return out


def _status(rs: list[SampleResult], metric: str) -> CaseStatus:
    flags = [r.scores[metric].passed for r in rs if metric in r.scores and r.scores[metric].passed is not None]
    if not flags:
        return "unmeasured"
    if all(flags):
        return "pass"
    if not any(flags):
        return "fail"
    return "flaky"


def _mean_value(rs: list[SampleResult], metric: str) -> float | None:
    vals = [r.scores[metric].value for r in rs if metric in r.scores and r.scores[metric].value is not None]
    vals_f = [v for v in vals if v is not None]
    return sum(vals_f) / len(vals_f) if vals_f else None


def _short_diff(a: str | None, b: str | None, limit: int = 300) -> str:
    if a is None or b is None or a == b:
        return ""
    parts: list[str] = []
    for tok in difflib.ndiff(a.split(), b.split()):
        if tok.startswith(("- ", "+ ")):
            parts.append(tok[0] + tok[2:])
    text = " ".join(parts)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _problems(base: LoadedRun, cand: LoadedRun, paired: list[str]) -> tuple[list[str], list[str]]:
    problems: list[str] = []
    warnings: list[str] = []
    bh, ch = base.manifest.suite.sample_hashes, cand.manifest.suite.sample_hashes
    changed = [sid for sid in paired if sid in bh and sid in ch and bh[sid] != ch[sid]]
    if changed:
        shown = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
        problems.append(f"{len(changed)} paired case(s) changed content (sample hash differs): {shown}")
    bm = {m.id: m for m in base.manifest.metrics + base.manifest.judges}
    cm = {m.id: m for m in cand.manifest.metrics + cand.manifest.judges}
    for mid in sorted(set(bm) & set(cm)):
        b, c = bm[mid], cm[mid]
        if (b.name, b.version) != (c.name, c.version):
            problems.append(f"metric {mid}: {b.name} v{b.version} in the baseline, {c.name} v{c.version} "
                            "in the candidate")
        elif b.args != c.args:
            problems.append(f"metric {mid}: arguments changed ({b.args} -> {c.args})")
    for mid in sorted(set(bm) - set(cm)):
        warnings.append(f"metric {mid} is only in the baseline")
    for mid in sorted(set(cm) - set(bm)):
        warnings.append(f"metric {mid} is only in the candidate")
    if base.manifest.suite.name != cand.manifest.suite.name:
        warnings.append(f"different suites: {base.manifest.suite.name} vs {cand.manifest.suite.name}")
    elif base.manifest.suite.version != cand.manifest.suite.version:
        warnings.append(f"suite version {base.manifest.suite.version} -> {cand.manifest.suite.version}")
    bo, co = base.manifest.backend.options, cand.manifest.backend.options
    for key in sorted(set(bo) | set(co)):
        if bo.get(key) != co.get(key):
            warnings.append(f"backend option {key}: {bo.get(key)!r} -> {co.get(key)!r}")
    return problems, warnings


def _metric(metric: str, paired: list[str], b_cases: dict[str, list[SampleResult]],
            c_cases: dict[str, list[SampleResult]], alpha: float) -> MetricComparison:
    from scipy import stats

    bv: list[float] = []
    cv: list[float] = []
    unpaired = 0
    single = True
    binary = True
    for sid in paired:
        b, c = _mean_value(b_cases[sid], metric), _mean_value(c_cases[sid], metric)
        if b is None or c is None:
            unpaired += 1
            continue
        single = single and len(b_cases[sid]) == 1 and len(c_cases[sid]) == 1
        binary = binary and b in (0.0, 1.0) and c in (0.0, 1.0)
        bv.append(b)
        cv.append(c)
    n = len(bv)
    k_stats = _pass_k(metric, paired, b_cases), _pass_k(metric, paired, c_cases)
    if n == 0:
        return MetricComparison(metric=metric, n_pairs=0, n_unpaired=unpaired, baseline_mean=None,
                                candidate_mean=None, delta=None, delta_ci_low=None, delta_ci_high=None,
                                test="none", p_value=None, mde=None, verdict="no significant change",
                                baseline_pass_at_k=k_stats[0][0], candidate_pass_at_k=k_stats[1][0],
                                baseline_pass_hat_k=k_stats[0][1], candidate_pass_hat_k=k_stats[1][1])
    diffs = [c - b for b, c in zip(bv, cv, strict=True)]
    mb, mc = sum(bv) / n, sum(cv) / n
    delta = mc - mb
    if all(d == diffs[0] for d in diffs):
        low = high = delta
    else:
        low, high = bootstrap_interval(diffs)
    if single and binary:
        test = "mcnemar_exact"
        worse = sum(1 for d in diffs if d < 0)
        better = sum(1 for d in diffs if d > 0)
        p = 1.0 if worse + better == 0 else float(stats.binomtest(better, worse + better, 0.5).pvalue)
    else:
        test = "wilcoxon"
        p = 1.0 if all(d == 0 for d in diffs) else float(stats.wilcoxon(diffs).pvalue)
    mde: float | None = None
    if n >= 2:
        mean_d = sum(diffs) / n
        sd = math.sqrt(sum((d - mean_d) ** 2 for d in diffs) / (n - 1))
        if sd == 0 and binary:
            sd = math.sqrt(mb * (1 - mb) + mc * (1 - mc))
        mde = (Z_ALPHA + Z_POWER) * sd / math.sqrt(n) if sd > 0 else None
    verdict = "no significant change"
    if p < alpha and delta != 0:
        verdict = "improved" if delta > 0 else "regressed"
    return MetricComparison(metric=metric, n_pairs=n, n_unpaired=unpaired, baseline_mean=mb, candidate_mean=mc,
                            delta=delta, delta_ci_low=low, delta_ci_high=high, test=test, p_value=p, mde=mde,
                            verdict=verdict,
                            baseline_pass_at_k=k_stats[0][0], candidate_pass_at_k=k_stats[1][0],
                            baseline_pass_hat_k=k_stats[0][1], candidate_pass_hat_k=k_stats[1][1])


def _pass_k(metric: str, paired: list[str],
            cases: dict[str, list[SampleResult]]) -> tuple[dict[int, float], dict[int, float]]:
    counts: list[tuple[int, int]] = []
    for sid in paired:
        flags = [r.scores[metric].passed for r in cases[sid]
                 if metric in r.scores and r.scores[metric].passed is not None]
        if flags:
            counts.append((len(flags), sum(1 for f in flags if f)))
    if not counts or max(n for n, _ in counts) < 2:
        return {}, {}
    kmax = min(n for n, _ in counts)
    at = {k: sum(pass_at_k(n, c, k) for n, c in counts) / len(counts) for k in range(1, kmax + 1)}
    hat = {k: sum(pass_hat_k(n, c, k) for n, c in counts) / len(counts) for k in range(1, kmax + 1)}
    return at, hat


_KIND_ORDER = {"newly failing": 0, "flaky": 1, "still failing": 2, "newly passing": 3}


def _case_changes(metrics: list[str], paired: list[str], b_cases: dict[str, list[SampleResult]],
                  c_cases: dict[str, list[SampleResult]]) -> list[CaseChange]:
    out: list[CaseChange] = []
    for metric in metrics:
        for sid in paired:
            bs, cs = _status(b_cases[sid], metric), _status(c_cases[sid], metric)
            kind: str | None = None
            if "flaky" in (bs, cs):
                kind = "flaky"
            elif bs == "pass" and cs == "fail":
                kind = "newly failing"
            elif bs == "fail" and cs == "pass":
                kind = "newly passing"
            elif bs == "fail" and cs == "fail":
                kind = "still failing"
            if kind is None:
                continue
            bo, co = b_cases[sid][0].output, c_cases[sid][0].output
            out.append(CaseChange(sample_id=sid, metric=metric, kind=kind,
                                  baseline=bs, candidate=cs,
                                  baseline_value=_mean_value(b_cases[sid], metric),
                                  candidate_value=_mean_value(c_cases[sid], metric),
                                  baseline_output=None if bo is None else bo[:300],
                                  candidate_output=None if co is None else co[:300],
                                  diff=_short_diff(bo, co)))
    out.sort(key=lambda c: (_KIND_ORDER[c.kind], c.metric, c.sample_id))
    return out


def apply_gates(comparison: Comparison, gates: Gates) -> Comparison:
    results: list[GateResult] = []
    by_metric = {m.metric: m for m in comparison.metrics}
    if gates.fail_on_regression:
        regressed = [m for m in comparison.metrics if m.verdict == "regressed"]
        for m in regressed:
            results.append(GateResult(gate="fail_on: regression", metric=m.metric, passed=False,
                                      reason=f"{m.metric} dropped by {-(m.delta or 0):.4f} (p={m.p_value:.3g})"))
        if not regressed:
            results.append(GateResult(gate="fail_on: regression", passed=True, reason="no significant drop"))
    for metric, limit in gates.max_drop.items():
        mc = by_metric.get(metric)
        if mc is None or mc.delta is None:
            results.append(GateResult(gate=f"max_drop {metric}={limit:g}", metric=metric, passed=False,
                                      reason=f"{metric} was not measured on both sides"))
            continue
        ok = -mc.delta <= limit + 1e-12
        results.append(GateResult(gate=f"max_drop {metric}={limit:g}", metric=metric, passed=ok,
                                  reason=f"delta {mc.delta:+.4f} (allowed drop {limit:g})"))
    return comparison.model_copy(update={"gates": results, "passed": all(g.passed for g in results)})


def compare_runs(baseline: LoadedRun, candidate: LoadedRun, *, metrics: list[str] | None = None,
                 alpha: float = 0.05) -> Comparison:
    """Compare `candidate` against `baseline` (see the module docstring for the statistics)."""
    b_cases, c_cases = _by_case(baseline.results), _by_case(candidate.results)
    order = [sid for sid in dict.fromkeys(r.sample_id for r in candidate.results)]
    paired = [sid for sid in order if sid in b_cases]
    added = [sid for sid in order if sid not in b_cases]
    removed = [sid for sid in dict.fromkeys(r.sample_id for r in baseline.results) if sid not in c_cases]
    problems, warnings = _problems(baseline, candidate, paired)
    b_ids = [m.id for m in baseline.manifest.metrics + baseline.manifest.judges]
    c_ids = [m.id for m in candidate.manifest.metrics + candidate.manifest.judges]
    common = [m for m in c_ids if m in b_ids and (metrics is None or m in metrics)]
    per_metric = [_metric(m, paired, b_cases, c_cases, alpha) for m in common]
    return Comparison(baseline=_ref(baseline), candidate=_ref(candidate), n_paired_cases=len(paired),
                      cases_added=added, cases_removed=removed, warnings=warnings, problems=problems,
                      metrics=per_metric, cases=_case_changes(common, paired, b_cases, c_cases))
