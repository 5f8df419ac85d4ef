"""The HTML report: one self-contained file a person can open, mail, archive or print.

Everything is inline (CSS, SVG, a little JavaScript that only adds conveniences) and a
Content-Security-Policy forbids the page any request at all, so the report opens
offline and cannot leak who read it. Every piece of text from the web is escaped:
headlines and bodies are written by strangers.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from html import escape
from importlib import resources

from store._models import Cluster, Member

from ._build import Report, publisher_of, spread_hours
from ._diff import ADDED, CUT, SAME, Paragraph, diff_texts
from ._rows import REPORT_VERSION
from ._terminal import nothing_found
from ._timeline import copy_class, timeline_svg

_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
    "img-src data:; base-uri 'none'; form-action 'none'"
)


@cache
def asset(name: str) -> str:
    """A file from store/report/assets, read once: the CSS and JS inlined in every report."""
    return resources.files("store.report").joinpath("assets", name).read_text(encoding="utf-8")


def e(text: object) -> str:
    return escape(str(text), quote=True)


def safe_href(url: str) -> str | None:
    """Only web links become links: a javascript: or data: URL from a feed stays text."""
    return e(url) if url.lower().startswith(("http://", "https://")) else None


def _link(url: str, label: str) -> str:
    href = safe_href(url)
    if href is None:
        return e(label)
    return f'<a href="{href}" rel="noopener noreferrer nofollow">{e(label)}</a>'


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "?"


def _iso(value: datetime) -> str:
    return value.isoformat(timespec="minutes")


def _stat(ident: str, label: str, value: str) -> str:
    return f'<div><dt>{e(label)}</dt><dd id="{ident}">{e(value)}</dd></div>'


def _overview(report: Report) -> str:
    ov = report.overview
    out = [
        '<section id="overview" aria-labelledby="overview-h">',
        '<h2 id="overview-h">Overview</h2>',
        '<dl class="stats">',
        _stat("stat-articles", "Articles in store", str(ov.articles)),
        _stat("stat-clusters", "Stories copied", str(ov.clusters)),
        _stat("stat-syndicated", "Articles in those stories", str(ov.syndicated)),
        _stat("stat-share", "Share syndicated", f"{ov.share_syndicated:.0%}"),
        "</dl>",
    ]
    if ov.first_seen and ov.last_seen:
        out.append(
            f'<p class="muted">Stories first seen between {e(_when(ov.first_seen))} '
            f"and {e(_when(ov.last_seen))} UTC.</p>"
        )
    if report.clusters:
        star = max(report.clusters, key=lambda c: (c.size, spread_hours(c), -c.id))
        title = star.origin.article.title or f"cluster {star.id}"
        out.append(
            f'<section aria-labelledby="spread-h"><h3 id="spread-h">How one story '
            f'spread: <a href="#cluster-{star.id}">{e(title)}</a></h3>'
        )
        out.append(_legend())
        out.append(
            f'<div class="timeline scroll">{timeline_svg(star, label=title)}</div></section>'
        )
    out.append(
        '<div class="cols"><section aria-labelledby="origins-h"><h3 id="origins-h">Top origins</h3>'
    )
    if ov.top_origins:
        most = max(n for _, n in ov.top_origins)
        out.append(
            '<div class="scroll"><table><thead><tr><th scope="col">Publisher</th>'
            '<th scope="col" class="num">Stories</th></tr></thead><tbody>'
        )
        for name, n in ov.top_origins:
            out.append(
                f'<tr><td>{e(name)}</td><td class="num">{n}'
                f'<span class="bar" style="width:{40 * n / most:.0f}px"></span></td></tr>'
            )
        out.append("</tbody></table></div>")
    else:
        out.append('<p class="muted">None.</p>')
    out.append(
        '</section><section aria-labelledby="repub-h"><h3 id="repub-h">Top republishers</h3>'
    )
    if ov.top_republishers:
        out.append(
            '<div class="scroll"><table><thead><tr><th scope="col">Publisher</th>'
            '<th scope="col" class="num">Copies</th>'
            '<th scope="col" class="num">Copied on average</th></tr></thead><tbody>'
        )
        for r in ov.top_republishers:
            out.append(
                f'<tr><td>{e(r.name)}</td><td class="num">{r.copies}</td>'
                f'<td class="num">{r.mean_copied:.0%}</td></tr>'
            )
        out.append("</tbody></table></div>")
    else:
        out.append('<p class="muted">None.</p>')
    out.append("</section></div>")
    if report.clusters:
        out.append(_index(report.clusters))
    out.append("</section>")
    return "\n".join(out)


def _legend() -> str:
    items = (
        ("origin", "origin"),
        ("high", "copied 90% or more"),
        ("mid", "copied 50–90%"),
        ("low", "copied under 50%"),
    )
    return (
        '<ul class="legend">'
        + "".join(
            f'<li><span class="sw {c}" aria-hidden="true"></span>{e(t)}</li>' for c, t in items
        )
        + "</ul>"
    )


def _index(clusters: Sequence[Cluster]) -> str:
    out = [
        '<h3 id="index-h">All stories</h3><div class="scroll"><table class="index" '
        'aria-labelledby="index-h"><thead><tr><th scope="col" class="num">#</th>'
        '<th scope="col">Headline</th><th scope="col" class="num">Copies</th>'
        '<th scope="col" class="hide-narrow">Origin</th>'
        '<th scope="col" class="num hide-narrow">Spread</th></tr></thead><tbody>'
    ]
    for c in clusters:
        o = c.origin.article
        out.append(
            f'<tr><td class="num">{c.id}</td><td><a href="#cluster-{c.id}">'
            f'{e(o.title or "(untitled)")}</a></td><td class="num">{c.size}</td>'
            f'<td class="hide-narrow">{e(publisher_of(o))}</td>'
            f'<td class="num hide-narrow">{spread_hours(c):.1f} h</td></tr>'
        )
    out.append("</tbody></table></div>")
    return "".join(out)


def _segments(paras: list[Paragraph]) -> str:
    out = []
    for para in paras:
        bits = []
        for s in para:
            if s.kind == SAME:
                bits.append(f'<mark class="copied">{e(s.text)}</mark>')
            elif s.kind == ADDED:
                bits.append(f'<ins class="added">{e(s.text)}</ins>')
            elif s.kind == CUT:
                bits.append(f'<del class="cut">{e(s.text)}</del>')
        out.append("<p>" + " ".join(bits) + "</p>")
    return "".join(out)


def _cell(side: str, paras: list[Paragraph], label: str) -> str:
    cls = "cell " + side + ("" if paras else " empty")
    body = _segments(paras) if paras else ""
    return f'<div class="{cls}"><span class="side-label">{e(label)}</span>{body}</div>'


def _dropped(lines: list[tuple[str, str]]) -> str:
    if not lines:
        return '<span class="muted">nothing removed</span>'
    items = "".join(
        f'<li><span class="rule">{e(rule)}</span>{e(text)}</li>' for rule, text in lines
    )
    return f"<ul>{items}</ul>"


def _diff(c: Cluster, m: Member, report: Report) -> str:
    origin, copy = c.origin.article, m.article
    d = diff_texts(origin.text, copy.text)
    oname, cname = publisher_of(origin), publisher_of(copy)
    out = [
        f'<details class="diff" id="diff-{c.id}-{copy.id}"><summary>Compare '
        f"{e(cname)} with the origin ({e(oname)})</summary>",
        f'<p class="diff-stats">{d.copied_words} words copied · {d.added_words} added by '
        f"{e(cname)} · {d.cut_words} of the origin's cut · "
        f"similarity {m.similarity:.0%}</p>",
        '<ul class="legend"><li><mark class="copied">copied text</mark></li>'
        '<li><ins class="added">added by the copy</ins></li>'
        '<li><del class="cut">cut from the origin</del></li>'
        '<li class="dropped">grey: removed as boilerplate, not compared</li></ul>',
        '<div class="sbs" role="group" aria-label="Side-by-side comparison">',
        f'<div class="head">Origin · {e(oname)}</div><div class="head">Copy · {e(cname)}</div>',
    ]
    if origin.id in report.dropped or copy.id in report.dropped:
        for side, art in (("left", origin), ("right", copy)):
            out.append(
                f'<div class="cell {side} dropped"><span class="side-label">'
                f"{e(publisher_of(art))}</span>Removed as boilerplate:"
                f"{_dropped(report.dropped.get(art.id, []))}</div>"
            )
    for row in d.rows:
        out.append(_cell("left", row.left, f"Origin · {oname}"))
        out.append(_cell("right", row.right, f"Copy · {cname}"))
    out.append("</div></details>")
    return "".join(out)


def _members(c: Cluster) -> str:
    out = [
        '<div class="scroll"><table class="members"><caption class="muted">'
        "Every copy in time order</caption><thead><tr>"
        '<th scope="col">First seen (UTC)</th><th scope="col">Publisher</th>'
        '<th scope="col">Headline</th><th scope="col" class="num">Similarity</th>'
        '<th scope="col" class="num">Copied</th><th scope="col">Compare</th>'
        "</tr></thead><tbody>"
    ]
    t0 = c.origin.article.first_seen
    for m in sorted(c.members, key=lambda m: (m.article.first_seen, m.article.id)):
        a = m.article
        is_origin = a.id == c.origin_id
        delay = (a.first_seen - t0).total_seconds() / 3600
        when = f"{_when(a.first_seen)}" + ("" if is_origin else f" (+{delay:.1f} h)")
        badge = '<span class="badge origin">origin</span>' if is_origin else ""
        band = copy_class(m.containment, origin=is_origin)
        copied = "—" if is_origin else f"{m.containment:.0%}"
        similarity = "—" if is_origin else f"{m.similarity:.0%}"
        compare = "" if is_origin else f'<a href="#diff-{c.id}-{a.id}">Compare with origin</a>'
        out.append(
            f'<tr class="member{" is-origin" if is_origin else ""}" data-article="{a.id}">'
            f'<td data-label="First seen"><time datetime="{e(_iso(a.first_seen))}">'
            f"{e(when)}</time></td>"
            f'<td data-label="Publisher">{badge}{e(publisher_of(a))}</td>'
            f'<td data-label="Headline">{_link(a.url, a.title or a.url)}{_reuses(m)}</td>'
            f'<td data-label="Similarity" class="num">{similarity}</td>'
            f'<td data-label="Copied" class="num pct copy-{band}">'
            f"{copied}</td>"
            f'<td data-label="Compare">{compare}</td></tr>'
        )
    out.append("</tbody></table></div>")
    return "".join(out)


def _reuses(m: Member) -> str:
    """ "Also reuses 35 % of #12": partial reuse of other stories, linked to them."""
    if not m.reuses:
        return ""
    parts = [
        f'{share:.0%} of <a href="#cluster-{cid}">#{cid}</a>'
        for cid, share in sorted(m.reuses.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    return f'<span class="muted reuse"> · also reuses {", ".join(parts)}</span>'


def _reused_by(c: Cluster) -> str:
    if not c.reused_by:
        return ""
    items = "".join(
        f"<li>{e(publisher_of(a))}: {_link(a.url, a.title or a.url)} "
        f'<span class="muted">({share:.0%} of it from this story; '
        f'<a href="#cluster-{cid}">#{cid}</a>)</span></li>'
        for a, cid, share in c.reused_by
    )
    return (
        f'<div class="reused-by"><h3>Partly reused by</h3><ul>{items}</ul>'
        '<p class="muted">Stories of their own that quote or reuse part of this one: '
        "linked, not counted as copies.</p></div>"
    )


def _cluster(c: Cluster, report: Report) -> str:
    o = c.origin.article
    title = o.title or "(untitled)"
    search = " ".join([title] + [publisher_of(m.article) for m in c.members]).lower()
    out = [
        f'<details class="cluster" id="cluster-{c.id}" data-search="{e(search)}">'
        f'<summary><span class="badge">#{c.id}</span><span class="headline">{e(title)}'
        f'</span><span class="facts">{c.size} articles · origin {e(publisher_of(o))}, '
        f"{e(_when(o.first_seen))} UTC · spread over {spread_hours(c):.1f} h</span>"
        "</summary>",
        '<div class="cluster-body">',
        _legend(),
        f'<div class="timeline scroll">{timeline_svg(c, label=title)}</div>',
        _members(c),
        _reused_by(c),
    ]
    for m in c.members:
        if m.article.id != c.origin_id:
            out.append(_diff(c, m, report))
    out.append("</div></details>")
    return "\n".join(out)


def render_html(report: Report) -> str:
    """The whole report as one HTML document (UTF-8 text)."""
    ov = report.overview
    gen = _when(ov.generated)
    clusters = "\n".join(_cluster(c, report) for c in report.clusters)
    body_clusters = clusters or f'<p id="no-clusters">{e(nothing_found(ov))}</p>'
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{_CSP}">
<meta name="generator" content="newsdedup report v{REPORT_VERSION}">
<title>newsdedup report · {e(gen)} UTC</title>
<style>
{asset("report.css")}
</style>
</head>
<body>
<a class="skip" href="#clusters-h">Skip to the stories</a>
<header class="top">
<h1>newsdedup report</h1>
<p>Generated {e(gen)} UTC · {e(ov.selection or "all clusters")}</p>
</header>
<main>
{_overview(report)}
<section id="clusters" aria-labelledby="clusters-h">
<h2 id="clusters-h" tabindex="-1">Stories</h2>
<div class="toolbar">
<label for="filter" class="muted">Filter</label>
<input id="filter" type="search" placeholder="headline or publisher" autocomplete="off">
<span id="filter-count" class="muted" aria-live="polite"></span>
<button type="button" id="expand-all">Expand all</button>
<button type="button" id="collapse-all">Collapse all</button>
</div>
{body_clusters}
</section>
</main>
<footer>Made by newsdedup. Figures are measured against each story's probable origin:
the earliest copy, the agency's own on a tie. "Copied" is the share of the origin's
five-word shingles a copy carries.</footer>
<script>
{asset("report.js")}
</script>
</body>
</html>
"""
