"""Charts as inline SVG, drawn on the server: no script, no library, no style attribute (the
page's CSP allows none); colours come from classes in console.css. Every chart has a text
alternative (`role="img"`, `<title>`) and its numbers are also in a table on the page."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from html import escape

from markupsafe import Markup

WIDTH = 360
BAR = 18
GAP = 6
LINE = 14  # a label's line, above its bar
LABEL_CHARS = 48  # what surely fits one line of 11 px text across the chart
LABEL_LINES = 2  # past which a label ends in "…" (its bar's <title> carries it whole)


def label_lines(label: str) -> list[str]:
    """The label as drawn: on one line when it fits, else wrapped at spaces onto two, the
    rest cut with "…"."""
    return textwrap.wrap(label, LABEL_CHARS, max_lines=LABEL_LINES, placeholder=" …",
                         break_on_hyphens=False) or [""]  # fmt: skip


def bar_chart(title: str, items: Sequence[tuple[str, int | float]]) -> Markup:
    """Horizontal bars, one per (label, value), scaled to the largest value. Each label has
    lines of its own above its bar, across the chart's whole width, so that long ones
    (`serco-es: service_provider, stage_1, accept`) are not cut short at 390 px; each bar's
    group has a `<title>` with its full label and value (a tooltip, and read by screen
    readers)."""
    top = max((v for _, v in items), default=0) or 1
    rows = [(label_lines(str(label)), str(label), value) for label, value in items]
    height = sum(len(lines) * LINE + BAR + GAP for lines, _, _ in rows) + GAP
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {max(height, BAR + GAP)}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    y = GAP
    for row, (lines, label, value) in enumerate(rows):
        width = round((WIDTH - 50) * value / top)
        texts = "".join(
            f'<text x="4" y="{y + (k + 1) * LINE - 3}" class="label">{escape(line)}</text>'
            for k, line in enumerate(lines)
        )
        y += len(lines) * LINE
        parts.append(
            f"<g><title>{escape(label)}: {value}</title>{texts}"
            f'<rect x="4" y="{y}" width="{width}" height="{BAR}" class="bar s{row % 6}"/>'
            f'<text x="{4 + width + 4}" y="{y + BAR - 5}" class="value">{value}</text></g>'
        )
        y += BAR + GAP
    if not items:
        parts.append(f'<text x="4" y="{BAR}" class="label">nothing to show</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def stacked_columns(
    title: str, columns: Sequence[str], series: Sequence[str], values: dict[tuple[str, str], int]
) -> Markup:
    """Columns (e.g. weeks) stacked by series (e.g. policies), with a legend."""
    height, base, legend = 200, 150, 16
    top = max((sum(values.get((c, s), 0) for s in series) for c in columns), default=0) or 1
    step = WIDTH / max(len(columns), 1)
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height + legend * len(series)}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    for i, column in enumerate(columns):
        y = base
        for k, name in enumerate(series):
            count = values.get((column, name), 0)
            tall = round(130 * count / top)
            if tall:
                y -= tall
                parts.append(
                    f'<rect x="{i * step + 2:.1f}" y="{y}" width="{step - 4:.1f}" '
                    f'height="{tall}" class="bar s{k % 6}"><title>{escape(column)} '
                    f"{escape(name)}: {count}</title></rect>"
                )
        if i % 2 == 0:
            parts.append(
                f'<text x="{i * step + 2:.1f}" y="{base + 14}" class="tick">'
                f"{escape(column[5:])}</text>"
            )
    for k, name in enumerate(series):
        y = height + k * legend
        parts.append(
            f'<rect x="4" y="{y - 10}" width="10" height="10" class="bar s{k % 6}"/>'
            f'<text x="18" y="{y}" class="label">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
