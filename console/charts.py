"""Charts as inline SVG, drawn on the server: no script, no library, no style attribute (the
page's CSP allows none); colours come from classes in console.css. Every chart has a text
alternative (`role="img"`, `<title>`) and its numbers are also in a table on the page."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup

WIDTH = 360
BAR = 18
GAP = 6
LABEL = 150


def bar_chart(title: str, items: Sequence[tuple[str, int | float]]) -> Markup:
    """Horizontal bars, one per (label, value), scaled to the largest value."""
    top = max((v for _, v in items), default=0) or 1
    height = max(len(items), 1) * (BAR + GAP) + GAP
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    for row, (label, value) in enumerate(items):
        y = GAP + row * (BAR + GAP)
        width = round((WIDTH - LABEL - 40) * value / top)
        parts.append(
            f'<text x="{LABEL - 4}" y="{y + BAR - 5}" text-anchor="end" class="label">'
            f"{escape(str(label))[:24]}</text>"
            f'<rect x="{LABEL}" y="{y}" width="{width}" height="{BAR}" class="bar s{row % 6}"/>'
            f'<text x="{LABEL + width + 4}" y="{y + BAR - 5}" class="value">{value}</text>'
        )
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
