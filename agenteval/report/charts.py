"""Inline SVG charts for the report: score histograms and the per-tag breakdown.

Every label goes through `html.escape`; colours come from CSS classes, so the page needs no inline
`style` attributes (its Content-Security-Policy allows none).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from ..schema import SampleResult

__all__ = ["Histogram", "histogram", "histogram_svg", "tag_means", "tag_matrix_svg", "MAX_TAGS"]

BINS = 10
MAX_TAGS = 40
"""Tags drawn in the breakdown (the most frequent); the rest are named in a note."""


@dataclass
class Histogram:
    lo: float
    hi: float
    counts: list[int]
    n_unmeasured: int


def _num(x: float) -> str:
    return f"{x:.3g}"


def histogram(values: Sequence[float], n_unmeasured: int = 0, bins: int = BINS) -> Histogram:
    """Counts over `bins` equal bins of [min(0, lo), max(1, hi)]; the top value falls in the last bin."""
    lo = min([0.0, *values])
    hi = max([1.0, *values])
    counts = [0] * bins
    width = (hi - lo) / bins
    for v in values:
        counts[min(int((v - lo) / width), bins - 1)] += 1
    return Histogram(lo=lo, hi=hi, counts=counts, n_unmeasured=n_unmeasured)


def histogram_svg(metric: str, h: Histogram) -> str:
    w, ht, left, bottom, top = 280, 160, 30, 22, 36
    plot_w, plot_h = w - left - 8, ht - bottom - top
    peak = max(h.counts) or 1
    bw = plot_w / len(h.counts)
    step = (h.hi - h.lo) / len(h.counts)
    n = sum(h.counts)
    stats = f"n={n}" + (f" · unmeasured {h.n_unmeasured}" if h.n_unmeasured else "")
    parts = [f'<svg class="chart" role="img" width="{w}" height="{ht}" viewBox="0 0 {w} {ht}" '
             f'xmlns="http://www.w3.org/2000/svg" data-metric="{escape(metric)}">',
             f"<title>{escape(metric)}: {stats}</title>",
             f'<text class="caption" x="8" y="14">{escape(_short(metric, 40))}</text>',
             f'<text class="tick" x="8" y="28">{stats}</text>']
    for i, c in enumerate(h.counts):
        bh = plot_h * c / peak
        x, y = left + i * bw, top + plot_h - bh
        a, b = h.lo + i * step, h.lo + (i + 1) * step
        parts.append(f'<rect class="bar" x="{x + 1:.1f}" y="{y:.1f}" width="{bw - 2:.1f}" height="{bh:.1f}">'
                     f"<title>{_num(a)}–{_num(b)}: {c}</title></rect>")
    base = top + plot_h
    parts += [f'<line class="axis" x1="{left}" y1="{base}" x2="{left + plot_w}" y2="{base}"/>',
              f'<text class="tick" x="{left}" y="{base + 14}">{_num(h.lo)}</text>',
              f'<text class="tick" x="{left + plot_w}" y="{base + 14}" text-anchor="end">{_num(h.hi)}</text>',
              f'<text class="tick" x="{left - 4}" y="{top + 8}" text-anchor="end">{peak}</text>',
              f'<text class="tick" x="{left - 4}" y="{base}" text-anchor="end">0</text>',
              "</svg>"]
    return "".join(parts)


@dataclass
class TagCell:
    mean: float | None
    n: int


def tag_means(results: Sequence[SampleResult], metrics: Sequence[str]) -> tuple[list[str], dict[str, list[TagCell]]]:
    """(tags drawn, most frequent first; tag -> one cell per metric). Only measured values count."""
    freq: dict[str, int] = {}
    for r in results:
        for t in r.tags:
            freq[t] = freq.get(t, 0) + 1
    tags = sorted(freq, key=lambda t: (-freq[t], t))
    out: dict[str, list[TagCell]] = {}
    for t in tags[:MAX_TAGS]:
        row = []
        for m in metrics:
            vals = [s.value for r in results if t in r.tags
                    for s in [r.scores.get(m)] if s is not None and s.value is not None]
            row.append(TagCell(sum(vals) / len(vals) if vals else None, len(vals)))
        out[t] = row
    return tags, out


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def tag_matrix_svg(metrics: Sequence[str], rows: dict[str, list[TagCell]]) -> str:
    """A bar matrix: one row per tag, one column per metric, a bar of the mean in each cell."""
    label_w = min(200, 16 + 7 * max((len(t) for t in rows), default=4))
    cell_w, cell_h, head = 120, 22, 22
    w = label_w + cell_w * len(metrics) + 4
    ht = head + cell_h * len(rows) + 4
    parts = [f'<svg class="chart matrix" role="img" width="{w}" height="{ht}" viewBox="0 0 {w} {ht}" '
             'xmlns="http://www.w3.org/2000/svg"><title>mean score per tag and metric</title>']
    for j, m in enumerate(metrics):
        x = label_w + j * cell_w
        parts.append(f'<text class="head" x="{x + 4}" y="15">{escape(_short(m, 16))}<title>{escape(m)}</title></text>')
    for i, (tag, cells) in enumerate(rows.items()):
        y = head + i * cell_h
        parts.append(f'<text class="label" x="4" y="{y + 15}">{escape(_short(tag, (label_w - 16) // 7))}'
                     f"<title>{escape(tag)}</title></text>")
        for j, (m, cell) in enumerate(zip(metrics, cells, strict=True)):
            x = label_w + j * cell_w
            parts.append(f'<rect class="cell" x="{x + 2}" y="{y + 2}" width="{cell_w - 4}" height="{cell_h - 4}"/>')
            if cell.mean is None:
                parts.append(f'<text class="value none" x="{x + 6}" y="{y + 15}">—</text>')
                continue
            frac = max(0.0, min(1.0, cell.mean))
            parts.append(f'<rect class="mbar" x="{x + 2}" y="{y + 2}" width="{(cell_w - 4) * frac:.1f}" '
                         f'height="{cell_h - 4}"><title>{escape(tag)} · {escape(m)}: '
                         f"mean {cell.mean:.3f} over {cell.n}</title></rect>")
            parts.append(f'<text class="value" x="{x + 6}" y="{y + 15}">{cell.mean:.3f} '
                         f'<tspan class="n">n={cell.n}</tspan></text>')
    parts.append("</svg>")
    return "".join(parts)
