"""The HTML report in a real headless Chromium: what a person sees, clicks and prints.

Driven by Playwright's Python package against the system Chromium (Debian's ``chromium``
package; ``scripts/install-system-deps`` installs it), never a downloaded browser.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import store as S
from store import utcnow
from store.report._html import render_html

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not os.access(CHROMIUM, os.X_OK),
        reason=f"{CHROMIUM} is absent: run scripts/install-system-deps (Debian package chromium)",
    ),
]
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="the playwright Python package is not installed"
)


@pytest.fixture(scope="module")
def report_file(tmp_path_factory) -> tuple[Path, S.Report, Path]:
    out = tmp_path_factory.mktemp("html-demo")
    # A child process: the demo's asyncio crawl cannot run inside Playwright's sync loop.
    done = subprocess.run(
        [sys.executable, "-m", "crawler.cli", "demo", "--dir", str(out), "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    with S.open_store(out / "demo.db") as st:
        report = S.build_report(st, with_dropped=True)
    path = out / "report.html"
    path.write_text(render_html(report), encoding="utf-8")
    return path, report, out / "demo.db"


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


class Page:
    """A page with everything it logged and requested recorded."""

    def __init__(self, browser, url: str, width: int = 1280, height: int = 900):
        self.page = browser.new_page(viewport={"width": width, "height": height})
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on(
            "console", lambda m: m.type in ("error", "warning") and self.errors.append(m.text)
        )
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.goto(url)


def _open(browser, path: Path, **kw) -> Page:
    return Page(browser, path.as_uri(), **kw)


def test_overview_numbers_match_the_store(browser, report_file):
    path, report, db = report_file
    with S.open_store(db) as st:
        articles = st.article_count()
        rows = st.membership_rows(2)
    p = _open(browser, path)
    text = p.page.inner_text
    assert text("#stat-articles") == str(articles)
    assert text("#stat-clusters") == str(len({r[1] for r in rows}))
    assert text("#stat-syndicated") == str(len(rows))
    assert text("#stat-share") == f"{len(rows) / articles:.0%}"
    origins = p.page.locator("#origins-h + div tbody tr").all_inner_texts()
    name, count = report.overview.top_origins[0]
    assert origins[0].split("\t")[0].strip() == name and str(count) in origins[0]
    assert p.page.locator("#overview svg circle").count() >= 1  # the timeline drew copies
    assert p.errors == []
    assert p.requests == [path.as_uri()]


def test_clicking_a_cluster_shows_its_members_in_time_order(browser, report_file):
    path, report, _ = report_file
    c = report.clusters[1]
    p = _open(browser, path)
    members = p.page.locator(f"#cluster-{c.id} table.members tbody tr")
    assert not members.first.is_visible()  # closed until asked for
    p.page.click(f'table.index a[href="#cluster-{c.id}"]')
    assert members.first.is_visible()
    assert members.count() == c.size
    shown = members.locator("td[data-label=Publisher]").all_inner_texts()
    expected = [
        m.article.publisher or m.article.host
        for m in sorted(c.members, key=lambda m: (m.article.first_seen, m.article.id))
    ]
    assert [s.replace("origin", "", 1).strip() for s in shown] == expected
    assert "origin" in members.nth(0).inner_text()
    # the summary itself toggles too, by keyboard: focus it and press Enter
    summary = p.page.locator(f"#cluster-{report.clusters[2].id} > summary")
    summary.focus()
    p.page.keyboard.press("Enter")
    assert p.page.locator(f"#cluster-{report.clusters[2].id} table.members").is_visible()
    assert p.errors == [] and p.requests == [path.as_uri()]


def test_the_diff_highlights_copied_text(browser, report_file):
    path, report, _ = report_file
    c = report.clusters[0]
    copy = next(m for m in c.members if m.article.id != c.origin_id and m.containment < 0.9)
    p = _open(browser, path)
    p.page.click(f'table.index a[href="#cluster-{c.id}"]')
    p.page.click(f'#cluster-{c.id} a[href="#diff-{c.id}-{copy.article.id}"]')
    diff = p.page.locator(f"#diff-{c.id}-{copy.article.id}")
    assert diff.locator(".sbs").is_visible()
    marks = diff.locator(".cell.right mark.copied")
    assert marks.count() > 0
    copied_text = " ".join(marks.all_inner_texts())
    first_para = c.origin.article.text.split("\n\n")[0]
    assert first_para.split()[0] in copied_text
    # highlighted means a visibly different background from the page's
    bg = marks.first.evaluate("el => getComputedStyle(el).backgroundColor")
    assert bg not in ("rgba(0, 0, 0, 0)", "rgb(255, 255, 255)")
    cut = diff.locator(".cell.left del.cut")
    assert cut.count() > 0  # under 90% copied: something of the origin was left out
    assert diff.locator(".cell.dropped").count() > 0  # boilerplate, greyed
    assert p.errors == [] and p.requests == [path.as_uri()]


def test_readable_on_a_phone_and_printable(browser, report_file):
    path, report, _ = report_file
    c = report.clusters[0]
    p = _open(browser, path, width=375, height=800)
    p.page.click(f'table.index a[href="#cluster-{c.id}"]')
    diff_id = next(f"diff-{c.id}-{m.article.id}" for m in c.members if m.article.id != c.origin_id)
    p.page.click(f'a[href="#{diff_id}"]')
    width = p.page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the page scrolls sideways at 375 px ({width} px wide)"
    font = p.page.locator(f"#{diff_id} .cell.right").first.evaluate(
        "el => parseFloat(getComputedStyle(el).fontSize)"
    )
    assert font >= 13
    p.page.emulate_media(media="print")
    assert p.page.locator("#expand-all").is_hidden()
    pdf = p.page.pdf(format="A4")
    assert pdf.startswith(b"%PDF") and len(pdf) > 10_000
    assert p.errors == [] and p.requests == [path.as_uri()]


def test_hostile_text_is_escaped_not_run(browser, tmp_path):
    wire = " ".join(f"Paragraph words number {i} about the budget vote." for i in range(60))
    with S.open_store(tmp_path / "s.db") as st:
        for i, (title, url) in enumerate(
            [
                ('<img src=x onerror="window.pwned=1">Budget', "http://a.test/1"),
                ("<script>window.pwned=2</script>Copy", "javascript:window.pwned=3"),
            ]
        ):
            with st.transaction():
                st.add_article(
                    S.ArticleRecord(
                        url=url,
                        host="a.test",
                        text=wire + (" <b>extra</b>" if i else ""),
                        fetched=utcnow(),
                        publisher=f'Pub "{i}" <i>',
                        title=title,
                        dropped=[("x", "<script>window.pwned=4</script>")],
                    )
                )
        S.dedup_store(st)
        report = S.build_report(st, with_dropped=True)
    assert len(report.clusters) == 1
    path = tmp_path / "evil.html"
    path.write_text(render_html(report), encoding="utf-8")
    p = _open(browser, path)
    p.page.click("details.cluster > summary")
    p.page.click("details.diff > summary")
    assert p.page.evaluate("window.pwned") is None
    assert p.page.locator("img").count() == 0
    assert p.page.locator('a[href^="javascript"]').count() == 0
    assert "<script>window.pwned=2</script>Copy" in p.page.inner_text("body")
    assert p.page.locator("ins.added", has_text="<b>extra</b>").count() == 1
    assert p.errors == [] and p.requests == [path.as_uri()]
