"""Small server-side SVG charts: no JavaScript, no chart library, nothing to download.

Each function takes plain numbers and returns an ``<svg>`` string sized by a ``viewBox`` so it
scales with the page. Colours come from CSS classes (``s0``..``s4``) in ``console.css``, so the
charts follow the console's palette. Labels are escaped: a merchant name is data, not markup.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape

__all__ = ["bar_timeline", "curve_chart", "hbar_chart", "line_chart"]

W, H = 640, 220
PAD_L, PAD_R, PAD_T, PAD_B = 44, 12, 14, 34


def _nice_max(value: float) -> float:
    """A round number at or above ``value`` for the top of an axis.

    >>> _nice_max(0), _nice_max(7), _nice_max(0.37), _nice_max(1234)
    (1.0, 8.0, 0.4, 1500.0)
    """
    if value <= 0:
        return 1.0
    import math

    exp = 10 ** math.floor(math.log10(value))
    for step in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if value <= step * exp + 1e-12:
            return float(round(step * exp, 10))
    return 10 * exp


def _fmt(v: float) -> str:
    if v >= 1000:
        return f"{v / 1000:g}k"
    return f"{v:g}"


def _frame(y_max: float, width: int = W, height: int = H, pct: bool = False) -> list[str]:
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'xmlns="http://www.w3.org/2000/svg">'
    ]
    for i in range(5):
        v = y_max * i / 4
        y = height - PAD_B - (height - PAD_T - PAD_B) * i / 4
        text = f"{100 * v:g}%" if pct else _fmt(v)
        parts.append(
            f'<line class="grid" x1="{PAD_L}" x2="{width - PAD_R}" y1="{y:.1f}" '
            f'y2="{y:.1f}"/><text class="tick" x="{PAD_L - 6}" y="{y + 4:.1f}" '
            f'text-anchor="end">{text}</text>'
        )
    return parts


def _legend(names: Sequence[str], width: int = W, slots: Sequence[int] | None = None) -> str:
    items, x = [], PAD_L
    for i, name in enumerate(names):
        c = (slots[i % len(slots)] if slots else i) % 5
        items.append(
            f'<rect class="s{c} fill" x="{x}" y="2" width="10" height="10"/>'
            f'<text class="tick" x="{x + 14}" y="11">{escape(name)}</text>'
        )
        x += 24 + 7 * len(name)
    return "".join(items)


def line_chart(
    labels: Sequence[str],
    series: dict[str, Sequence[float]],
    pct: bool = False,
    y_max: float | None = None,
    colours: Sequence[int] | None = None,
) -> str:
    """Lines over categories (days): one per series, a legend on top. ``colours`` picks the
    palette slot of each series (0 blue, 1 red, 2 green, 3 amber, 4 violet)."""
    n = len(labels)
    if n == 0:
        return ""
    top = (
        y_max
        if y_max is not None
        else _nice_max(max((max(v, default=0) for v in series.values()), default=0))
    )
    parts = _frame(top, pct=pct)
    plot_w, plot_h = W - PAD_L - PAD_R, H - PAD_T - PAD_B

    def xy(i: int, v: float) -> tuple[float, float]:
        x = PAD_L + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)
        return x, H - PAD_B - plot_h * min(v, top) / top

    slots = list(colours) if colours else list(range(len(series)))
    for k, (name, values) in enumerate(series.items()):
        c = slots[k % len(slots)] % 5
        pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(i, v) for i, v in enumerate(values)))
        parts.append(
            f'<polyline class="s{c} line" points="{pts}"><title>{escape(name)}</title></polyline>'
        )
        if n <= 40:
            for i, v in enumerate(values):
                x, y = xy(i, v)
                parts.append(
                    f'<circle class="s{c} fill" cx="{x:.1f}" cy="{y:.1f}" r="2.2">'
                    f"<title>{escape(name)} {escape(labels[i])}: {v:g}</title></circle>"
                )
    step = max(1, n // 8)
    for i in range(0, n, step):
        x, _ = xy(i, 0)
        parts.append(
            f'<text class="tick" x="{x:.1f}" y="{H - PAD_B + 16}" '
            f'text-anchor="middle">{escape(labels[i])}</text>'
        )
    parts.append(_legend(list(series), W, slots))
    parts.append("</svg>")
    return "".join(parts)


def curve_chart(
    curves: dict[str, Sequence[tuple[float, float]]],
    x_label: str,
    y_label: str,
    marker: tuple[float, float] | None = None,
    diagonal: bool = False,
) -> str:
    """Curves in the unit square (ROC, precision-recall), an optional marked operating point."""
    size_w, size_h = 320, 260
    plot_w, plot_h = size_w - PAD_L - PAD_R, size_h - PAD_T - PAD_B
    parts = _frame(1.0, size_w, size_h)

    def xy(x: float, y: float) -> str:
        return f"{PAD_L + plot_w * x:.1f},{size_h - PAD_B - plot_h * y:.1f}"

    if diagonal:
        parts.append(f'<polyline class="diag" points="{xy(0, 0)} {xy(1, 1)}"/>')
    for k, (name, pts) in enumerate(curves.items()):
        path = " ".join(xy(x, y) for x, y in pts)
        parts.append(
            f'<polyline class="s{k % 5} line" points="{path}"><title>{escape(name)}'
            f"</title></polyline>"
        )
    if marker is not None:
        x, y = xy(*marker).split(",")
        parts.append(f'<circle class="marker" cx="{x}" cy="{y}" r="4"/>')
    for i in range(5):
        x = PAD_L + plot_w * i / 4
        parts.append(
            f'<text class="tick" x="{x:.1f}" y="{size_h - PAD_B + 14}" '
            f'text-anchor="middle">{i / 4:g}</text>'
        )
    parts.append(
        f'<text class="axis" x="{PAD_L + plot_w / 2}" y="{size_h - 4}" '
        f'text-anchor="middle">{escape(x_label)}</text>'
    )
    parts.append(
        f'<text class="axis" transform="translate(11 {PAD_T + plot_h / 2}) rotate(-90)" '
        f'text-anchor="middle">{escape(y_label)}</text>'
    )
    parts.append(_legend(list(curves), size_w))
    parts.append("</svg>")
    return "".join(parts)


def hbar_chart(items: Sequence[tuple[str, float]], width: int = 420) -> str:
    """Horizontal bars, largest first (feature importance)."""
    if not items:
        return ""
    row, label_w = 18, 150
    height = row * len(items) + 8
    top = max(v for _, v in items) or 1.0
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'xmlns="http://www.w3.org/2000/svg">'
    ]
    for i, (name, v) in enumerate(items):
        y = 4 + i * row
        w = (width - label_w - 50) * v / top
        parts.append(
            f'<text class="tick" x="{label_w - 6}" y="{y + 12}" text-anchor="end">'
            f"{escape(name[:24])}</text>"
            f'<rect class="s0 fill" x="{label_w}" y="{y + 2}" width="{w:.1f}" '
            f'height="{row - 5}"/><text class="tick" x="{label_w + w + 4:.1f}" '
            f'y="{y + 12}">{v:.3g}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def bar_timeline(
    start: datetime,
    end: datetime,
    window: tuple[datetime, datetime],
    series: dict[str, Sequence[datetime]],
    marks: dict[str, datetime] | None = None,
    bins: int = 60,
    width: int = 1100,
    height: int = 230,
) -> str:
    """Events over time as stacked daily-ish bars, the exposure window shaded, and named marks
    (detected, now) as vertical lines: the breach's story at a glance."""
    span = max((end - start).total_seconds(), 1.0)
    plot_w, plot_h = width - PAD_L - PAD_R, height - PAD_T - PAD_B

    def x_of(t: datetime) -> float:
        return PAD_L + plot_w * min(max((t - start).total_seconds() / span, 0.0), 1.0)

    counts = {name: [0] * bins for name in series}
    for name, times in series.items():
        for t in times:
            i = int((t - start).total_seconds() / span * bins)
            counts[name][min(max(i, 0), bins - 1)] += 1
    totals = [sum(c[i] for c in counts.values()) for i in range(bins)]
    top = _nice_max(max(totals, default=0))
    parts = _frame(top, width, height)
    x0, x1 = x_of(window[0]), x_of(window[1])
    parts.append(
        f'<rect class="window" x="{x0:.1f}" y="{PAD_T}" width="{max(x1 - x0, 2):.1f}" '
        f'height="{plot_h}"><title>exposure window</title></rect>'
    )
    bw = plot_w / bins
    for i in range(bins):
        base = height - PAD_B
        for k, name in enumerate(series):
            v = counts[name][i]
            if not v:
                continue
            h = plot_h * v / top
            base -= h
            parts.append(
                f'<rect class="s{k % 5} fill" x="{PAD_L + i * bw + 1:.1f}" '
                f'y="{base:.1f}" width="{max(bw - 2, 1):.1f}" height="{h:.1f}">'
                f"<title>{escape(name)}: {v}</title></rect>"
            )
    for name, t in (marks or {}).items():
        x = x_of(t)
        parts.append(
            f'<line class="mark" x1="{x:.1f}" x2="{x:.1f}" y1="{PAD_T}" '
            f'y2="{height - PAD_B}"/><text class="tick" x="{x + 3:.1f}" y="{PAD_T + 10}">'
            f"{escape(name)}</text>"
        )
    for i in range(5):
        t = start + (end - start) * i / 4
        parts.append(
            f'<text class="tick" x="{x_of(t):.1f}" y="{height - PAD_B + 16}" '
            f'text-anchor="middle">{t:%d %b}</text>'
        )
    legend = _legend(list(series), width)
    lx = PAD_L + sum(24 + 7 * len(name) for name in series)
    legend += (
        f'<rect class="window" x="{lx}" y="2" width="10" height="10"/>'
        f'<text class="tick" x="{lx + 14}" y="11">exposure window</text>'
    )
    parts.append(legend)
    parts.append("</svg>")
    return "".join(parts)
