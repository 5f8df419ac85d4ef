"""An inline SVG timeline of one story: who carried it, when, and how much they took.

Drawn as plain SVG text rather than with a charting library so that the report stays one
file with no script dependency, and prints as crisply as the text around it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from html import escape

from store._models import Cluster
from store._time import as_utc

from ._build import publisher_of

_W, _LABEL, _ROW, _TOP, _PAD = 720, 190, 26, 34, 24


def copy_class(containment: float, *, origin: bool = False) -> str:
    """The colour band of a copy: how much of the origin's text it carried."""
    if origin:
        return "origin"
    return "high" if containment >= 0.9 else "mid" if containment >= 0.5 else "low"


def _hours_label(h: float) -> str:
    return f"+{h:.0f} h" if h >= 10 or h == int(h) else f"+{h:.1f} h"


def _ticks(span_h: float) -> list[float]:
    step = next((s for s in (0.25, 0.5, 1, 2, 3, 6, 12, 24, 48, 72, 168) if span_h / s <= 6), 336)
    out, t = [], 0.0
    while t <= span_h + 1e-9:
        out.append(t)
        t += step
    return out


def timeline_svg(c: Cluster, *, label: str | None = None) -> str:
    members = sorted(c.members, key=lambda m: (as_utc(m.article.first_seen), m.article.id))
    t0 = as_utc(members[0].article.first_seen)
    span = max((as_utc(members[-1].article.first_seen) - t0).total_seconds() / 3600, 1.0)
    plot = _W - _LABEL - _PAD

    def x(when: datetime) -> float:
        return _LABEL + plot * ((as_utc(when) - t0).total_seconds() / 3600) / span

    height = _TOP + _ROW * len(members) + 8
    title = label or f"How cluster {c.id} spread"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_W} {height}" role="img" '
        f'aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<line class="axis" x1="{_LABEL}" y1="{_TOP - 8}" x2="{_W - _PAD}" y2="{_TOP - 8}"/>',
    ]
    for h in _ticks(span):
        tx = _LABEL + plot * h / span
        text = (t0 + timedelta(hours=h)).strftime("%d %b %H:%M") if h == 0 else _hours_label(h)
        parts.append(
            f'<line class="axis" x1="{tx:.1f}" y1="{_TOP - 12}" x2="{tx:.1f}" '
            f'y2="{height - 4}" stroke-dasharray="2 4"/>'
        )
        anchor = "start" if h == 0 else "middle"
        parts.append(
            f'<text class="tick" x="{tx:.1f}" y="{_TOP - 16}" '
            f'text-anchor="{anchor}">{escape(text)}</text>'
        )
    for i, m in enumerate(members):
        a = m.article
        y = _TOP + _ROW * i + _ROW / 2
        is_origin = a.id == c.origin_id
        cls = copy_class(m.containment, origin=is_origin)
        name = publisher_of(a)
        short = name if len(name) <= 26 else name[:25] + "…"
        hours = (as_utc(a.first_seen) - t0).total_seconds() / 3600
        what = "origin" if is_origin else f"{m.containment:.0%} of the origin copied"
        tip = f"{name}: {a.first_seen:%Y-%m-%d %H:%M} UTC ({_hours_label(hours)}), {what}"
        parts.append(
            f'<text x="{_LABEL - 10}" y="{y + 4:.1f}" text-anchor="end">{escape(short)}</text>'
        )
        px = x(a.first_seen)
        if not is_origin:
            parts.append(
                f'<line class="spread" x1="{_LABEL}" y1="{y:.1f}" x2="{px:.1f}" y2="{y:.1f}"/>'
            )
        shape = (
            f'<rect x="{px - 7:.1f}" y="{y - 7:.1f}" width="14" height="14" '
            f'transform="rotate(45 {px:.1f} {y:.1f})"'
            if is_origin
            else f'<circle cx="{px:.1f}" cy="{y:.1f}" r="7"'
        )
        parts.append(
            f'{shape} class="dot-{cls}"><title>{escape(tip)}</title>'
            f"{'</rect>' if is_origin else '</circle>'}"
        )
    parts.append("</svg>")
    return "".join(parts)
