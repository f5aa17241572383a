"""Small inline SVG charts (bars and lines) drawn without any library, so a report needs nothing from the web.

Pure: strings in, a string out. Used by `incidentctl report` and the console's reports page. A chart given an
`alt` text names itself to screen readers (`aria-label` and `<title>`); pages still show the figures as a table.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

PALETTE = ("#2563eb", "#dc2626", "#059669", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#4b5563")
Format = Callable[[float], str]


def plain(value: float) -> str:
    return f"{value:g}"


def duration(seconds: float) -> str:
    """A duration for people: 0s, 350ms, 4.2s, 45s, 12m, 3.5h, 2.1d."""
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f}".removesuffix(".0") + unit
    if seconds >= 10 or seconds == 0:
        return f"{seconds:.0f}s"
    if seconds >= 1:
        return f"{seconds:.1f}".removesuffix(".0") + "s"
    return f"{seconds * 1000:.0f}ms"


def nice_max(value: float) -> float:
    """A round axis maximum at or above value (1, 2, 5 times a power of ten)."""
    if value <= 0:
        return 1.0
    step = 1.0
    while step * 10 <= value:
        step *= 10
    while step > value:
        step /= 10
    for factor in (1, 2, 5, 10):
        if step * factor >= value:
            return step * factor
    return step * 10


def _text(x: float, y: float, body: str, anchor: str = "middle", size: int = 11, extra: str = "") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}"{extra}>{escape(body)}</text>'


def _open(width: int, height: int, alt: str) -> str:
    if not alt:
        return f'<svg viewBox="0 0 {width} {height}" width="{width}" role="img">'
    named = escape(alt)
    return f'<svg viewBox="0 0 {width} {height}" width="{width}" role="img" aria-label="{named}"><title>{named}</title>'


def hbar_chart(items: Sequence[tuple[str, float]], fmt: Format = plain, color: str = PALETTE[0], alt: str = "") -> str:
    """Horizontal bars, one per labelled value, largest scale first as given."""
    width, row, left = 560, 26, 150
    height = max(1, len(items)) * row + 10
    top = nice_max(max((v for _, v in items), default=0))
    parts = [_open(width, height, alt)]
    if not items:
        parts.append(_text(width / 2, height / 2 + 4, "no data"))
    for i, (label, value) in enumerate(items):
        y = 5 + i * row
        length = (width - left - 70) * value / top
        parts.append(_text(left - 8, y + 16, label, anchor="end"))
        parts.append(f'<rect x="{left}" y="{y + 3}" width="{length:.1f}" height="{row - 8}" fill="{color}" rx="3"/>')
        parts.append(_text(left + length + 6, y + 16, fmt(value), anchor="start"))
    parts.append("</svg>")
    return "".join(parts)


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]


def _axes(width: int, height: int, pad: int, top: float, fmt: Format) -> list[str]:
    parts = []
    for k in range(5):
        value = top * k / 4
        y = height - pad - (height - 2 * pad) * k / 4
        parts.append(f'<line x1="{pad + 30}" y1="{y:.1f}" x2="{width - pad}" y2="{y:.1f}" stroke="#e5e7eb"/>')
        parts.append(_text(pad + 24, y + 4, fmt(value), anchor="end", size=10))
    return parts


def line_chart(labels: Sequence[str], series: Sequence[Series], fmt: Format = plain, alt: str = "") -> str:
    """Lines over labelled points (weeks); a missing value breaks nothing, it is just not drawn."""
    width, height, pad = 560, 240, 24
    values = [v for s in series for v in s.values if v is not None]
    top = nice_max(max(values, default=0))
    parts = [_open(width, height, alt)]
    parts += _axes(width, height, pad, top, fmt)
    inner = width - 2 * pad - 40
    step = inner / max(1, len(labels) - 1)

    def xy(i: int, v: float) -> tuple[float, float]:
        x = pad + 40 + (step * i if len(labels) > 1 else inner / 2)
        return x, height - pad - (height - 2 * pad) * v / top

    for i, label in enumerate(labels):
        parts.append(_text(xy(i, 0)[0], height - 6, label, size=10))
    for k, s in enumerate(series):
        color = PALETTE[k % len(PALETTE)]
        points = [xy(i, v) for i, v in enumerate(s.values) if v is not None]
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2.5"/>')
        parts += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{color}"/>' for x, y in points]
        parts.append(f'<rect x="{pad + 50 + 110 * k}" y="6" width="12" height="12" fill="{color}"/>')
        parts.append(_text(pad + 66 + 110 * k, 16, s.name, anchor="start"))
    if not values:
        parts.append(_text(width / 2, height / 2, "no data"))
    parts.append("</svg>")
    return "".join(parts)
