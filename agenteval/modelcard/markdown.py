"""Rendering a `ModelCard` as Markdown (GitHub-flavoured tables). Nothing here computes a number."""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Sequence

from pydantic import JsonValue

from ..schema.compare import Comparison
from .schema import ModelCard, RunCard, SliceMetric

__all__ = ["render_markdown"]

MAX_CASE_CHANGES = 10


def _num(x: float | None, digits: int = 3) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


def _ci(low: float | None, high: float | None) -> str:
    return "—" if low is None or high is None else f"[{low:.3f}, {high:.3f}]"


def _cell(text: object) -> str:
    """Text safe inside a table cell: HTML escaped, pipes escaped, newlines as <br>."""
    s = html.escape(str(text), quote=False).replace("|", "\\|")
    return s.replace("\r\n", "\n").replace("\n", "<br>")


def _code(text: str) -> str:
    return f"`{text.replace('`', 'ˋ')}`"


def _table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return [*out, ""]


def _json(value: JsonValue) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _model_details(rc: RunCard) -> list[str]:
    d = rc.model_details
    models = ", ".join(f"{_code(m)} ({n})" for m, n in d.models.items()) or "not reported by the backend"
    opts = ", ".join(f"{_code(k)}={_code(_json(v))}" for k, v in sorted(d.backend_options.items())) or "none"
    labels = ", ".join(f"{_code(k)}={_code(v)}" for k, v in sorted(d.labels.items())) or "none"
    s = d.settings
    settings = (f"concurrency {s.concurrency}, repeat {s.repeat}, limit {s.limit or 'none'}, "
                f"shard {s.shard or 'none'}, cache {'on' if s.cache else 'off'}")
    return ["### Model details", "",
            f"- **Backend**: {_code(d.backend)}",
            f"- **Backend options** (secrets redacted): {opts}",
            f"- **Model as reported in traces** (answers): {models}",
            f"- **Run**: {_code(d.run_id)} from {_code(d.source)}",
            f"- **Dates**: started {d.started_at}, finished {d.finished_at or 'unfinished'}",
            f"- **agenteval version**: {d.agenteval_version}; **git sha**: {d.git_sha or 'unknown'}",
            f"- **Labels**: {labels}",
            f"- **Settings**: {settings}", ""]


def _intended_use(rc: RunCard) -> list[str]:
    u = rc.intended_use
    out = ["### Intended use", ""]
    if u.description:
        out.append(u.description.strip())
        out.append("")
    out.append(f"- **Task**: {u.task or 'not stated in the suite'}")
    if u.note:
        out.append(f"- **Note**: {u.note}")
    return [*out, ""]


def _evaluation_data(rc: RunCard) -> list[str]:
    e = rc.evaluation_data
    match = {None: "unknown (file not readable)", True: "yes", False: "no: the file changed since the run"}
    out = ["### Evaluation data", "",
           f"- **Suite**: {_code(e.suite)} version {_code(e.version)} ({_code(e.path)})",
           f"- **Content hash**: {_code(e.content_hash)} (suite file on disk matches: "
           f"{match[e.suite_file_matches]})",
           f"- **Size**: {e.n_samples} samples in the suite, {e.n_evaluated} evaluated, "
           f"{e.n_results} results (samples × repeats)"]
    if e.tags:
        out.append("- **Tags** (samples): " + ", ".join(f"{_code(t)} ({n})" for t, n in e.tags.items()))
    out.append("")
    if e.sources:
        out += _table(["sample source", "samples"], [(s.source, s.n_samples) for s in e.sources])
    return out


def _metrics(rc: RunCard) -> list[str]:
    rows = []
    for m in rc.metrics:
        th = ", ".join(f"{'≥' if c.kind == 'min' else '≤'} {c.bound:g}" for c in m.thresholds)
        verdict = "" if m.passed is None else ("pass" if m.passed else "**FAIL**")
        rows.append((m.metric, f"{m.name} v{m.version}", _num(m.mean), _ci(m.ci_low, m.ci_high), m.ci_method,
                     m.n, m.n_unmeasured, _num(m.pass_rate), th or "—", verdict or "—"))
    out = ["#### Metrics", "",
           f"Overall: **{'PASSED' if rc.passed else 'FAILED'}**. Means are over samples (repeats averaged "
           "first); 95 % CI: Wilson for pass/fail metrics, percentile bootstrap otherwise.", ""]
    return out + _table(["metric", "scorer", "mean", "95% CI", "CI method", "n", "unmeasured", "pass rate",
                         "threshold", "verdict"], rows)


def _slice_text(sm: SliceMetric) -> str:
    if sm.mean is None:
        return f"— (n 0, unmeasured {sm.n_unmeasured})"
    ci = "" if sm.ci_low is None else f" {_ci(sm.ci_low, sm.ci_high)}"
    extra = f", unmeasured {sm.n_unmeasured}" if sm.n_unmeasured else ""
    return f"{sm.mean:.3f}{ci} (n {sm.n}{extra})"


def _slices(rc: RunCard) -> list[str]:
    if not rc.slices:
        return ["#### Slices by tag", "", "No results.", ""]
    metrics = [m.metric for m in rc.metrics]
    out: list[str] = []
    for key in dict.fromkeys(s.key for s in rc.slices):
        what = "carrying a tag" if key == "tags" else f"sharing a value of metadata {_code(key)}"
        out += [f"#### Slices by {'tag' if key == 'tags' else _cell(key)}", "",
                f"Each metric's mean over the samples {what}, with its 95 % CI and n (samples measured). "
                "Small slices have wide intervals.", ""]
        out += _table(["tag" if key == "tags" else _cell(key), "samples", *metrics],
                      [(s.tag, s.n_samples, *(_slice_text(s.metrics[m]) if m in s.metrics else "—"
                                              for m in metrics)) for s in rc.slices if s.key == key])
    return out


def _usage(rc: RunCard) -> list[str]:
    u = rc.usage
    cost = "unknown (some answer had no price)" if u.cost_usd is None else f"${u.cost_usd:.6f}"
    return ["#### Usage and latency", "",
            f"- **Results**: {u.n_results} ({u.n_errors} backend errors, {u.n_cached} from the cache)",
            f"- **Tokens**: {u.input_tokens if u.input_tokens is not None else 'unknown'} in, "
            f"{u.output_tokens if u.output_tokens is not None else 'unknown'} out (non-cached answers)",
            f"- **Cost**: {cost}",
            f"- **Model latency**: p50 {_num(u.latency_p50_s)} s, p95 {_num(u.latency_p95_s)} s "
            f"(over {u.latency_n} answers)", ""]


def _judges(rc: RunCard) -> list[str]:
    j = rc.judge_calibration
    out = ["### Judge calibration", "", j.note, ""]
    if j.judges:
        out += _table(["judge", "name", "version", "arguments"],
                      [(r.id, r.name, r.version, _json(r.args)) for r in j.judges])
    return out


def _failures(rc: RunCard) -> list[str]:
    out = ["### Limitations: known failure cases", ""]
    if not rc.n_failing:
        return [*out, "No result failed a metric or errored in this run.", ""]
    out += [f"{len(rc.failure_cases)} of {rc.n_failing} failing results shown (run order); texts are cut at "
            "300 characters.", ""]
    rows = []
    for c in rc.failure_cases:
        why = [f"{f.metric} = {_num(f.value)}: {f.reason}" for f in c.failing]
        if c.error:
            why.insert(0, f"backend error: {c.error}")
        sid = c.sample_id if c.repeat == 0 else f"{c.sample_id} (repeat {c.repeat})"
        rows.append((sid, c.input, "—" if c.answer is None else c.answer, c.expected or "—", "\n".join(why)))
    return out + _table(["sample", "input", "answer", "expected", "failing metrics and reasons"], rows)


def _comparison(cmp: Comparison) -> list[str]:
    b = cmp.baseline
    out = ["### Comparison with baseline", "",
           f"Baseline {_code(b.run_id)} ({_code(b.backend)}, suite {_code(b.suite)} v{b.suite_version}, "
           f"from {_code(b.source)}): {cmp.n_paired_cases} paired cases, {len(cmp.cases_added)} only in this "
           f"run, {len(cmp.cases_removed)} only in the baseline.", ""]
    out += [f"- **Not comparable**: {p}" for p in cmp.problems]
    out += [f"- **Warning**: {w}" for w in cmp.warnings]
    if cmp.problems or cmp.warnings:
        out.append("")
    if cmp.metrics:
        out += _table(["metric", "pairs", "baseline", "this run", "delta", "delta 95% CI", "test", "p",
                       "verdict"],
                      [(m.metric, m.n_pairs, _num(m.baseline_mean), _num(m.candidate_mean),
                        "—" if m.delta is None else f"{m.delta:+.3f}", _ci(m.delta_ci_low, m.delta_ci_high),
                        m.test, _num(m.p_value, 4), m.verdict) for m in cmp.metrics])
    if cmp.cases:
        shown = cmp.cases[:MAX_CASE_CHANGES]
        out += [f"Cases that changed or keep failing ({len(shown)} of {len(cmp.cases)}):", ""]
        out += _table(["sample", "metric", "change", "baseline", "this run"],
                      [(c.sample_id, c.metric, c.kind, f"{c.baseline} {_num(c.baseline_value)}",
                        f"{c.candidate} {_num(c.candidate_value)}") for c in shown])
    if cmp.gates:
        out += _table(["gate", "passed", "reason"], [(g.gate, "yes" if g.passed else "**no**", g.reason)
                                                     for g in cmp.gates])
    return out


def _run(rc: RunCard, several: bool) -> list[str]:
    d, e = rc.model_details, rc.evaluation_data
    head = f"## {e.suite} v{e.version} · {d.backend}" + (f" · run {d.run_id}" if several else "")
    out = [head, "", *_model_details(rc), *_intended_use(rc), *_evaluation_data(rc),
           "### Quantitative analysis", "", *_metrics(rc), *_slices(rc), *_usage(rc), *_judges(rc),
           *_failures(rc)]
    if rc.comparison is not None:
        out += _comparison(rc.comparison)
    return out


def render_markdown(card: ModelCard) -> str:
    """The card as Markdown: a section per run, in the order given."""
    n = len(card.runs)
    lines = [f"# {card.title}", "",
             f"Written by {card.generator} from {n} run{'s' if n != 1 else ''}"
             + (f", compared with the baseline {_code(card.baseline)}" if card.baseline else "")
             + ". Every number is read from the run folders (manifest.json, summary.json, samples.jsonl).", ""]
    if n > 1:
        lines += ["Runs: " + "; ".join(f"{r.evaluation_data.suite} v{r.evaluation_data.version} "
                                       f"({'passed' if r.passed else 'failed'})" for r in card.runs), ""]
    for rc in card.runs:
        lines += _run(rc, n > 1)
    return "\n".join(lines).rstrip() + "\n"
