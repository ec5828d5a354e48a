"""The self-contained HTML report of a run: one file, no network, untrusted text never parsed as HTML.

The Python side renders the static sections (header facts, summary table, charts, comparison) with every
value escaped; the drill-down rows travel as JSON in a `<script type="application/json">` block (with
`<`, `>` and `&` written as `\\u003c`-style escapes, so no answer can close the block) and the page's
script builds them with `textContent`. A Content-Security-Policy admits only the page's own script and
style (by hash) and no connection, so even a mistake could not run injected code or reach the network.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from html import escape
from importlib import resources
from pathlib import Path

from pydantic import JsonValue

from ..schema import MetricSummary, RunManifest, RunSummary, Suite
from ..schema.compare import CaseChange, Comparison, MetricComparison
from ..slicing import check_slice_keys, merge_slice_keys
from ..store.loaded import LoadedRun
from ..store.rundir import atomic_write
from .charts import MAX_TAGS, histogram, histogram_svg, tag_matrix_svg, tag_means
from .model import build_report_data, find_suite

__all__ = ["default_report_path", "embed_json", "render_report", "write_report"]

_CASE_ORDER = {"newly failing": 0, "still failing": 1, "flaky": 2, "newly passing": 3}
_VERDICT_ORDER = {"regressed": 0, "not comparable": 1, "no significant change": 2, "improved": 3}


def _asset(name: str) -> str:
    return resources.files("agenteval.report").joinpath("assets", name).read_text(encoding="utf-8")


def embed_json(text: str) -> str:
    """JSON text made safe inside a `<script>` element: no `<`, `>` or `&` survives literally."""
    return (text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"


def _fmt(x: float | None, digits: int = 3) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


def _p(x: float | None) -> str:
    if x is None:
        return "—"
    return "< 0.001" if x < 0.001 else f"{x:.3f}"


def _signed(x: float | None) -> str:
    return "—" if x is None else f"{x:+.3f}"


def _title(title: str) -> str:
    return f' title="{escape(title)}"' if title else ""


def _td(text: str, cls: str = "", title: str = "") -> str:
    attrs = (f' class="{cls}"' if cls else "") + _title(title)
    return f"<td{attrs}>{escape(text)}</td>"


def _json_inline(value: JsonValue) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _facts(man: RunManifest, summary: RunSummary) -> list[tuple[str, str, str]]:
    """(label, value, full value for the tooltip)."""
    s, u, lat = man.suite, summary.usage, summary.latency
    settings = man.settings
    setting_text = f"repeat {settings.repeat} · concurrency {settings.concurrency} · cache {settings.cache}"
    if settings.limit is not None:
        setting_text += f" · limit {settings.limit}"
    if settings.shard:
        setting_text += f" · shard {settings.shard}"
    return [
        ("run", man.run_id, ""),
        ("suite", f"{s.name} v{s.version} · {s.n_samples} samples · {s.path}", ""),
        ("suite hash", s.content_hash[:12], s.content_hash),
        ("backend", man.backend.spec + (f" {_json_inline(man.backend.options)}" if man.backend.options else ""), ""),
        ("started", man.started_at, ""),
        ("finished", man.finished_at or "unfinished", ""),
        ("agenteval", man.agenteval_version + (f" · git {man.git_sha[:12]}" if man.git_sha else ""), man.git_sha or ""),
        ("settings", setting_text, ""),
        ("labels", " · ".join(f"{k}={v}" for k, v in man.labels.items()) or "none", ""),
        ("results", f"{summary.n_samples} · errors {summary.n_errors} · cached {summary.n_cached}", ""),
        ("tokens", f"in {u.input_tokens or 0} · out {u.output_tokens or 0}", ""),
        ("cost", "unknown" if u.cost_usd is None else f"${u.cost_usd:.6f}", ""),
        ("latency", f"p50 {_fmt(lat.p50)} s · p95 {_fmt(lat.p95)} s (n={lat.n})", ""),
    ]


def _header(man: RunManifest, summary: RunSummary, notes: list[str]) -> str:
    verdict = ('<span class="badge pass">PASSED</span>' if summary.passed
               else '<span class="badge fail">FAILED</span>')
    dl = "".join(f'<div><dt>{escape(k)}</dt><dd{_title(t)}>{escape(v)}</dd></div>' for k, v, t in _facts(man, summary))
    note_html = "".join(f'<p class="note">{escape(n)}</p>' for n in notes)
    return (f"<header><h1>{escape(man.suite.name)} v{escape(man.suite.version)} · {escape(man.backend.spec)} "
            f'{verdict}</h1><dl class="facts" id="facts">{dl}</dl>{note_html}</header>')


def _summary_table(summary: RunSummary) -> str:
    rows = []
    for key, m in summary.metrics.items():
        ths = [t for k, t in summary.thresholds.items() if k in (key, f"{key}:max")]
        th_text = " and ".join(f"{'≥' if t.kind == 'min' else '≤'} {t.threshold:g}" for t in ths)
        ci = _ci_text(m)
        if ths:
            ok = all(t.passed for t in ths)
            status = _td("pass" if ok else "FAIL", "pass" if ok else "fail")
        else:
            status = _td("—")
        rows.append(f'<tr data-metric="{escape(key)}">' + _td(key, "metric") + _td(_fmt(m.mean), "num mean")
                    + _td(ci, "num ci", f"{m.ci_method} interval") + _td(str(m.n), "num n")
                    + _td(str(m.n_unmeasured), "num") + _td(_fmt(m.pass_rate), "num")
                    + _td(th_text or "—", "num") + status + "</tr>")
    head = "".join(f"<th>{h}</th>" for h in ("metric", "mean", "95 % CI", "n", "unmeasured", "pass rate",
                                             "threshold", "verdict"))
    return (f'<section id="summary"><h2>Summary</h2><table class="grid" id="summary-table"><thead><tr>{head}'
            f"</tr></thead><tbody>{''.join(rows)}</tbody></table></section>")


def _ci_text(m: MetricSummary) -> str:
    return f"[{_fmt(m.ci_low)}, {_fmt(m.ci_high)}]" if m.ci_low is not None else "—"


def _slices(summary: RunSummary) -> str:
    """One table per `--slice-by` key: a row per slice, each metric's mean with its CI and n."""
    if not summary.slices:
        return ""
    parts = ['<section id="slices"><h2>Slices</h2>']
    metrics = list(summary.metrics)
    head = "".join(f"<th>{escape(h)}</th>" for h in ["slice", "results", "errors", *metrics])
    for key, breakdown in summary.slices.items():
        rows = []
        for value, sl in breakdown.slices.items():
            cells = [_td(value, "slice"), _td(str(sl.n_samples), "num"), _td(str(sl.n_errors), "num")]
            for m in metrics:
                ms = sl.metrics.get(m)
                if ms is None or ms.mean is None:
                    cells.append(_td("—", "num"))
                else:
                    cells.append(_td(f"{_fmt(ms.mean)} {_ci_text(ms)} n={ms.n}", "num",
                                     f"{ms.ci_method} interval; {ms.n_unmeasured} unmeasured"))
            rows.append(f'<tr data-slice="{escape(value)}">{"".join(cells)}</tr>')
        folded = (f'<p class="note">{breakdown.n_folded} more values pooled in (other).</p>'
                  if breakdown.n_folded else "")
        parts.append(f'<h3>by {escape(key)}</h3><div class="scroll"><table class="grid slice-table" '
                     f'data-key="{escape(key)}"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}'
                     f"</tbody></table></div>{folded}")
    parts.append("</section>")
    return "".join(parts)


def _charts(run: LoadedRun, summary: RunSummary) -> str:
    metrics = list(summary.metrics)
    hists = []
    for key in metrics:
        vals = [s.value for r in run.results for s in [r.scores.get(key)] if s is not None and s.value is not None]
        hists.append(histogram_svg(key, histogram(vals, summary.metrics[key].n_unmeasured)))
    tags, rows = tag_means(run.results, metrics)
    if rows and metrics:
        more = (f'<p class="note">{len(tags) - MAX_TAGS} less frequent tags not drawn.</p>'
                if len(tags) > MAX_TAGS else "")
        tag_html = f'<h3>Mean per tag</h3><div class="scroll">{tag_matrix_svg(metrics, rows)}</div>{more}'
    else:
        tag_html = ""
    return (f'<section id="charts"><h2>Score distributions</h2><div class="charts">{"".join(hists)}</div>'
            f"{tag_html}</section>")


def _metric_row(m: MetricComparison) -> str:
    ci = f"[{_signed(m.delta_ci_low)}, {_signed(m.delta_ci_high)}]" if m.delta_ci_low is not None else "—"
    cls = {"regressed": "fail", "improved": "pass"}.get(m.verdict, "")
    unpaired = f" (+{m.n_unpaired} unpaired)" if m.n_unpaired else ""
    return (f'<tr data-metric="{escape(m.metric)}">' + _td(m.metric, "metric") + _td(f"{m.n_pairs}{unpaired}", "num")
            + _td(_fmt(m.baseline_mean), "num") + _td(_fmt(m.candidate_mean), "num")
            + _td(_signed(m.delta), "num delta") + _td(ci, "num") + _td(m.test) + _td(_p(m.p_value), "num")
            + _td(_fmt(m.mde), "num") + _td(m.verdict, f"verdict {cls}") + "</tr>")


def _case_row(c: CaseChange) -> str:
    cls = {"newly failing": "fail", "newly passing": "pass"}.get(c.kind, "")
    diff = f'<pre class="diff">{escape(c.diff)}</pre>' if c.diff else ""
    return ("<tr>" + _td(c.sample_id, "id") + _td(c.metric) + _td(c.kind, f"kind {cls}")
            + _td(f"{c.baseline} → {c.candidate}") + _td(f"{_fmt(c.baseline_value)} → {_fmt(c.candidate_value)}", "num")
            + f"<td>{diff}</td></tr>")


def _comparison(cmp: Comparison) -> str:
    b = cmp.baseline
    intro = (f'<p>Baseline <b>{escape(b.run_id)}</b> ({escape(b.backend)}, {escape(b.suite)} v'
             f"{escape(b.suite_version)}, from {escape(b.source)}) · {cmp.n_paired_cases} paired cases"
             f"{f' · {len(cmp.cases_added)} only here' if cmp.cases_added else ''}"
             f"{f' · {len(cmp.cases_removed)} only in the baseline' if cmp.cases_removed else ''}</p>")
    notes = "".join(f'<p class="note fail">not comparable: {escape(p)}</p>' for p in cmp.problems)
    notes += "".join(f'<p class="note">{escape(w)}</p>' for w in cmp.warnings)
    metrics = sorted(cmp.metrics, key=lambda m: _VERDICT_ORDER.get(m.verdict, 9))
    head = "".join(f"<th>{h}</th>" for h in ("metric", "pairs", "baseline", "candidate", "delta", "95 % CI",
                                             "test", "p", "MDE", "verdict"))
    table = (f'<table class="grid" id="compare-metrics"><thead><tr>{head}</tr></thead><tbody>'
             f'{"".join(_metric_row(m) for m in metrics)}</tbody></table>')
    cases = sorted(cmp.cases, key=lambda c: _CASE_ORDER.get(c.kind, 9))
    if cases:
        chead = "".join(f"<th>{h}</th>" for h in ("case", "metric", "change", "status", "value", "answer diff"))
        case_html = (f'<h3>Cases</h3><table class="grid" id="compare-cases"><thead><tr>{chead}</tr></thead>'
                     f'<tbody>{"".join(_case_row(c) for c in cases)}</tbody></table>')
    else:
        case_html = '<p class="note">No case changed status.</p>'
    gates = "".join(f'<li class="{"pass" if g.passed else "fail"}">{escape(g.gate)}: {escape(g.reason)}</li>'
                    for g in cmp.gates)
    gate_html = f'<h3>Gates</h3><ul id="gates">{gates}</ul>' if gates else ""
    return f'<section id="comparison"><h2>Comparison</h2>{intro}{notes}{table}{gate_html}{case_html}</section>'


_SAMPLES = """<section id="samples"><h2>Samples</h2>
<div class="controls">
<input type="search" id="search" placeholder="Search id, tags, input, answer, expected…" aria-label="search">
<label><input type="checkbox" id="failed-only"> failed only</label>
<select id="tag-filter" aria-label="tag"><option value="">all tags</option></select>
<select id="metric-filter" aria-label="metric"><option value="">all metrics</option></select>
<span id="shown-count"></span>
</div>
<noscript><p class="note">The sample table needs JavaScript; every result is in samples.jsonl.</p></noscript>
<table class="grid" id="sample-table"><thead><tr><th>sample</th><th>tags</th><th>input</th><th>answer</th>
<th>expected</th><th>tool calls · expected</th><th>scores</th></tr></thead><tbody></tbody></table>
</section>"""


def render_report(run: LoadedRun, comparison: Comparison | None = None, suite: Suite | None = None,
                  notes: list[str] | None = None, slice_by: Sequence[str] = ()) -> str:
    """The whole page. `suite` (the run's suite file, if readable) supplies expected trajectories;
    `slice_by` adds slice keys to those the run was summarised with."""
    from ..analysis import summarize

    notes = list(notes or [])
    summary = run.summary
    man = run.manifest
    keys = merge_slice_keys(man.settings.slice_by, summary.slices if summary is not None else (), slice_by)
    if summary is None:
        summary = summarize(man.run_id, run.results, [m.id for m in man.metrics + man.judges],
                            suite.thresholds if suite is not None else {}, slice_by=keys)
        notes.insert(0, f"Unfinished run: the summary is computed from the {len(run.results)} results so far.")
    elif any(k not in summary.slices for k in keys):
        check_slice_keys([k for k in keys if k not in summary.slices],
                         ((r.tags, r.metadata) for r in run.results), file=None, field="--slice-by")
        sliced = summarize(man.run_id, run.results, list(summary.metrics), {}, slice_by=keys)
        summary = summary.model_copy(update={"slices": sliced.slices})
    data = build_report_data(run, comparison, suite)
    css, js = _asset("report.css"), _asset("report.js")
    if "</" in js or "</" in css:  # the assets are ours; this keeps them from closing their own element
        raise ValueError("report assets must not contain '</'")
    csp = (f"default-src 'none'; script-src {_csp_hash(js)}; style-src {_csp_hash(css)}; img-src data:; "
           "base-uri 'none'; form-action 'none'")
    body = [_header(man, summary, notes), _summary_table(summary), _slices(summary), _charts(run, summary)]
    if comparison is not None:
        body.append(_comparison(comparison))
    body.append(_SAMPLES)
    title = f"{man.suite.name} · {man.backend.spec} · {man.run_id}"
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{escape(csp)}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<link rel="icon" href="data:,"><title>{escape(title)}</title><style>{css}</style></head>\n'
            f"<body>{''.join(body)}\n"
            f'<script type="application/json" id="report-data">{embed_json(data.model_dump_json())}</script>\n'
            f"<script>{js}</script></body></html>\n")


def default_report_path(run: LoadedRun) -> Path:
    """`<run folder>/report.html`; for a baseline file `<name>.json`, `<name>.html` beside it."""
    src = Path(run.source)
    return src / "report.html" if src.is_dir() else src.with_suffix(".html")


def write_report(run: LoadedRun, path: Path | None = None, comparison: Comparison | None = None,
                 slice_by: Sequence[str] = ()) -> Path:
    """Write the report of `run` (reading its suite file for expected trajectories) and return its path."""
    lookup = find_suite(run)
    out = path or default_report_path(run)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(out, render_report(run, comparison, lookup.suite, lookup.notes, slice_by))
    return out
