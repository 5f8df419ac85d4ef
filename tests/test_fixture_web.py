"""The bundled fixture news web: determinism, serving, ground truth and story properties."""

from __future__ import annotations

import hashlib
import json
import re
import socket
import subprocess
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from html import escape

import pytest

from crawler.extract import extract_html
from crawler.fixtures import FixturePage, FixtureServer, FixtureWeb, Hardening, build_web
from store import open_store
from store.dedup import stored_content
from tests.cli import newsdedup_exe

pytestmark = pytest.mark.quick

SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


@pytest.fixture(scope="module")
def web(server: FixtureServer) -> FixtureWeb:
    return server.web


@pytest.fixture(scope="module")
def server(news_server) -> FixtureServer:
    return news_server(7)


def _get(url: str, headers: dict[str, str] | None = None, method: str = "GET"):
    req = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def _all_paths(web: FixtureWeb) -> list[tuple[str, str]]:
    out = []
    for host in web.hosts:
        site = web.sites[host]
        out += [(host, p) for p in ("/", site.feed_path, "/sitemap.xml", "/robots.txt")]
    out += [(p.host, p.path) for p in web.pages]
    return out


def _shingles(paragraphs: list[str], k: int = 5) -> set[tuple[str, ...]]:
    words = re.sub(r"[^\w\s]", " ", " ".join(paragraphs).lower()).split()
    return {tuple(words[i : i + k]) for i in range(len(words) - k + 1)}


def _jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a | b else 0.0


def _by_story(web: FixtureWeb) -> dict[str, list[FixturePage]]:
    groups: dict[str, list[FixturePage]] = defaultdict(list)
    for page in web.pages:
        groups[page.story_id].append(page)
    return groups


# ------------------------------------------------------------------------- determinism


def test_same_seed_gives_byte_identical_web(web: FixtureWeb) -> None:
    again = build_web(7)
    assert again.pages == web.pages
    assert again.hosts == web.hosts
    for host, path in _all_paths(web):
        assert web.page_for(host, path) == again.page_for(host, path), (host, path)


def test_other_seed_gives_other_web(web: FixtureWeb) -> None:
    other = build_web(8)
    assert [p.title for p in other.pages] != [p.title for p in web.pages]
    page = other.pages[0]
    assert other.page_for(page.host, page.path) != web.page_for(page.host, page.path)


def test_default_shape(web: FixtureWeb) -> None:
    agencies = [h for h in web.hosts if web.sites[h].kind == "agency"]
    publishers = [h for h in web.hosts if web.sites[h].kind == "publisher"]
    assert len(agencies) == 3 and len(publishers) == 8
    assert len({web.sites[h].family for h in publishers}) == 8
    assert {web.sites[h].feed_kind for h in web.hosts} == {"rss", "atom"}
    for page in web.pages:
        assert page.published.tzinfo is not None
        assert web.page(page.host, page.path) == page


@pytest.mark.slow
def test_scales_to_benchmark_size() -> None:
    big = build_web(
        3, publishers=50, agencies=6, stories_per_agency=720, own_stories_per_publisher=20
    )
    assert len(big.hosts) >= 50
    assert len(big.pages) >= 20_000
    assert len({(p.host, p.path) for p in big.pages}) == len(big.pages)
    sample = big.pages[::997]
    for page in sample:
        status, ctype, body = big.page_for(page.host, page.path)  # type: ignore[misc]
        assert status == 200 and ctype.startswith("text/html")
        assert escape(page.title) in body.decode()


# ------------------------------------------------------------------------- serving


def test_serves_each_resource_kind(web: FixtureWeb, server: FixtureServer) -> None:
    for host in web.hosts:
        site = web.sites[host]
        base = server.base_urls[host]
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", base)
        status, headers, body = _get(base + "/")
        assert status == 200 and headers["Content-Type"].startswith("text/html")
        assert f'href="{site.feed_path}"' in body.decode()
        assert 'rel="alternate" type="application/' in body.decode()
        status, headers, body = _get(base + site.feed_path)
        expected = "application/atom+xml" if site.feed_kind == "atom" else "application/rss+xml"
        assert status == 200 and headers["Content-Type"].startswith(expected)
        ET.fromstring(body)
        status, headers, _ = _get(base + "/sitemap.xml")
        assert status == 200 and headers["Content-Type"].startswith("application/xml")
        status, headers, body = _get(base + "/robots.txt")
        assert status == 200 and headers["Content-Type"].startswith("text/plain")
        assert b"Disallow: /private/" in body
        assert f"Sitemap: {base}/sitemap.xml".encode() in body
    page = web.pages[0]
    status, headers, body = _get(server.url_for(page))
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    assert escape(page.title).encode() in body
    status, headers, body = _get(server.url_for(page), method="HEAD")
    assert status == 200 and body == b"" and int(headers["Content-Length"]) > 1000


def test_unknown_path_is_404(web: FixtureWeb, server: FixtureServer) -> None:
    base = server.base_urls[web.hosts[0]]
    assert _get(base + "/no/such/page.html")[0] == 404
    assert web.page_for(web.hosts[0], "/no/such/page.html") is None
    assert web.page_for("no-such-host", "/") is None


def test_etag_gives_304_on_feeds_and_sitemaps(web: FixtureWeb, server: FixtureServer) -> None:
    for url in (server.feed_urls()[1], server.sitemap_urls()[2]):
        status, headers, body = _get(url)
        assert status == 200 and body
        etag = headers["ETag"]
        status, headers, body = _get(url, {"If-None-Match": etag})
        assert status == 304 and body == b"" and headers["ETag"] == etag
        assert _get(url, {"If-None-Match": '"stale"'})[0] == 200


def test_request_log_records_requests(web: FixtureWeb, server: FixtureServer) -> None:
    host = web.hosts[-1]
    before = len(server.request_log)
    _get(server.base_urls[host] + "/robots.txt?probe=1")
    entries = server.request_log[before:]
    assert any(h == host and p == "/robots.txt?probe=1" for _, h, p in entries)
    times = [t for t, _, _ in server.request_log]
    assert times == sorted(times)


# ------------------------------------------------------------------------- ground truth


def test_ground_truth_matches_every_sitemap_and_feed(
    web: FixtureWeb, server: FixtureServer
) -> None:
    truth = server.ground_truth()
    assert len(truth) == len(web.pages)
    from_sitemaps: set[str] = set()
    for host, url in zip(web.hosts, server.sitemap_urls(), strict=True):
        root = ET.fromstring(_get(url)[2])
        locs = [u.findtext(f"{SM}loc") for u in root.iter(f"{SM}url")]
        assert all(u.findtext(f"{SM}lastmod") for u in root.iter(f"{SM}url"))
        feed = _get(server.base_urls[host] + web.sites[host].feed_path)[2].decode()
        for loc in locs:
            assert loc in feed
        from_sitemaps.update(loc for loc in locs if loc)
    assert from_sitemaps == set(truth)


def test_write_ground_truth(web: FixtureWeb, server: FixtureServer, tmp_path) -> None:
    out = tmp_path / "truth.json"
    server.write_ground_truth(out)
    data = json.loads(out.read_text())
    assert data["version"] == 1
    assert len(data["pages"]) == len(web.pages)
    row = data["pages"][0]
    assert set(row) >= {"url", "story_id", "publisher", "is_original", "published"}
    assert {r["url"]: r["story_id"] for r in data["pages"]} == server.ground_truth()


def test_agency_stories_are_republished(web: FixtureWeb) -> None:
    agency_hosts = {h for h in web.hosts if web.sites[h].kind == "agency"}
    groups = _by_story(web)
    agency_stories = [g for g in groups.values() if g[0].agency is not None]
    assert len(agency_stories) >= 3 * 6
    for pages in agency_stories:
        originals = [p for p in pages if p.is_original]
        assert len(originals) == 1 and originals[0].host in agency_hosts
        republishers = {p.host for p in pages if not p.is_original}
        assert len(republishers) >= 2 and not republishers & agency_hosts
        for copy in pages:
            if copy is not originals[0]:
                delay = copy.published - originals[0].published
                assert 0 < delay.total_seconds() <= 24 * 3600


def test_own_stories_are_singletons(web: FixtureWeb) -> None:
    groups = _by_story(web)
    own = [g for g in groups.values() if g[0].agency is None]
    per_publisher = defaultdict(int)
    for pages in own:
        assert len(pages) == 1 and pages[0].is_original
        per_publisher[pages[0].host] += 1
    publishers = [h for h in web.hosts if web.sites[h].kind == "publisher"]
    assert all(per_publisher[h] >= 2 for h in publishers)


def test_hard_negatives_share_quotes_not_text(web: FixtureWeb) -> None:
    assert len(web.hard_negatives) >= 3
    quote = re.compile(r'"([^"]{20,}?)[,.]?"')
    for a, b in web.hard_negatives:
        assert a != b
        ta, tb = web.story_text(a), web.story_text(b)
        shared = set(quote.findall(" ".join(ta))) & set(quote.findall(" ".join(tb)))
        assert len(shared) >= 2
        words_a, words_b = set(" ".join(ta).split()), set(" ".join(tb).split())
        assert len(words_a & words_b) > 40  # same names, place, figures
        assert _jaccard(_shingles(ta), _shingles(tb)) < 0.15
        assert not set(ta) & set(tb)  # no paragraph in common


def test_distinct_stories_are_far_apart(web: FixtureWeb) -> None:
    ids = web.story_ids()
    sh = {sid: _shingles(web.story_text(sid)) for sid in ids}
    worst = max(_jaccard(sh[a], sh[b]) for i, a in enumerate(ids) for b in ids[i + 1 :])
    assert worst < 0.15


def test_story_text_shape(web: FixtureWeb) -> None:
    for sid in web.story_ids():
        paragraphs = web.story_text(sid)
        assert 8 <= len(paragraphs) <= 14
        assert all(40 <= len(p.split()) <= 120 for p in paragraphs)


# ------------------------------------------------------------------------- page content


def test_copies_carry_seed_style_chrome(web: FixtureWeb) -> None:
    html = "\n".join(
        web.page_for(p.host, p.path)[2].decode()
        for p in web.pages  # type: ignore[index]
    )
    assert re.search(r"<p[^>]*>(<strong>)?ALSO READ:", html)
    assert re.search(r"<p[^>]*>(<strong>)?READ MORE:", html)
    assert re.search(r"\(PHOTO / [A-Z]+\)</figcaption>", html)
    assert re.search(r'<p class="caption">[^<]+\(PHOTO / [A-Z]+\)</p>', html)
    assert re.search(r"<p>[^<]+\(PHOTO / [A-Z]+\)</p>", html)
    assert re.search(
        r"Published: \d\d:\d\d, [A-Z][a-z]+ \d{1,2}, 2026 \| Updated: "
        r"\d\d:\d\d, [A-Z][a-z]+ \d{1,2}, 2026",
        html,
    )
    assert re.search(r"<p>\(Reporting by [^<]+; Editing by [^<]+\)</p>", html)
    assert "readers will recall" in html
    assert re.search(r"[A-Z]{3,}, [A-Z][a-z]+ \d{1,2} \([A-Z]{3}\) [-\u2014\u2013]", html)
    assert "application/ld+json" in html and 'property="og:title"' in html


def test_expected_body_is_in_the_page(web: FixtureWeb) -> None:
    for page in web.pages:
        html = web.page_for(page.host, page.path)[2].decode()  # type: ignore[index]
        kinds = [b.kind for b in web.article_blocks(page)]
        expected = web.expected_body(page)
        assert expected and kinds.count("p") == len(expected)
        pos = 0
        for para in expected:
            found = html.find(escape(para) + "</p>", pos)
            assert found > 0, (page.path, para[:60])
            pos = found


def test_pull_quote_repeats_body_text(web: FixtureWeb) -> None:
    with_pull = [p for p in web.pages if "pullquote" in p.variants]
    assert with_pull
    for page in with_pull:
        blocks = web.article_blocks(page)
        pull = next(b.text for b in blocks if b.kind == "pullquote")
        body = " ".join(b.text for b in blocks if b.kind == "p")
        assert pull.rstrip(".") in body
        if "pullquote-no-period" in page.variants:
            assert not pull.endswith(".")


def test_copies_stay_close_to_original(web: FixtureWeb) -> None:
    fold = str.maketrans({"\u201c": '"', "\u201d": '"', "\u2019": "'"})
    for pages in _by_story(web).values():
        original = next(p for p in pages if p.is_original)
        orig = _shingles([t.translate(fold) for t in web.expected_body(original)])
        for copy in pages:
            if copy is original:
                continue
            body = _shingles([t.translate(fold) for t in web.expected_body(copy)])
            assert len(body & orig) / len(body) > 0.8  # containment in the original


# ------------------------------------------------------------------------- hardened web
#
# build_web(seed, hardening=Hardening()) adds footers inside the article body, follow-ups,
# quoting stories, roundups and short copies; the default web must not change at all.

# sha256 of every resource build_web(7) serves, its pages and its story texts, taken before
# Hardening existed. If a change to the default web is intended, say so in the commit and
# take the new value from _web_digest(build_web(7)).
DEFAULT_WEB_7 = "f18cf62679e6da89ca29dddd8d37af63799f412dc732f003a2a60e194e0c5786"
NEW_COPY_KINDS = ("lede-only", "trimmed-deep", "copy-edited")
REUSE_KINDS = ("follow-up", "quotes-paragraph", "roundup")
DATELINE = re.compile(r"^[A-Z][A-Z .'-]+, [A-Z][a-z]+ \d{1,2} \([A-Z]+\) (?:-|--|\u2014|\u2013) ")


def _web_digest(web: FixtureWeb) -> str:
    h = hashlib.sha256()
    for host, path in _all_paths(web):
        h.update(repr(web.page_for(host, path)).encode())
    h.update(repr((web.pages, web.hard_negatives)).encode())
    for sid in web.story_ids():
        h.update(repr(web.story_text(sid)).encode())
    return h.hexdigest()


@pytest.fixture(scope="module")
def hard() -> FixtureWeb:
    return build_web(7, hardening=Hardening())


def _kind(page: FixturePage) -> str:
    return next((v for v in page.variants if v in NEW_COPY_KINDS + REUSE_KINDS), "")


def _plain(text: str) -> str:
    """The text without a dateline and with straight quotes, as the originator wrote it."""
    return DATELINE.sub("", text).translate(
        str.maketrans({"\u201c": '"', "\u201d": '"', "\u2019": "'"})
    )


def test_default_web_is_unchanged_byte_for_byte(web: FixtureWeb) -> None:
    assert _web_digest(web) == DEFAULT_WEB_7
    assert _web_digest(build_web(7, hardening=None)) == DEFAULT_WEB_7
    assert web.reuses == [] and all(not web.footer(p) for p in web.pages)


def test_hardened_web_adds_to_the_default_web(web: FixtureWeb, hard: FixtureWeb) -> None:
    assert _web_digest(hard) == _web_digest(build_web(7, hardening=Hardening()))
    assert _web_digest(hard) != DEFAULT_WEB_7
    assert hard.hosts == web.hosts and hard.hard_negatives == web.hard_negatives
    for page in web.pages:  # every default page is there, with the same story text
        again = hard.page(page.host, page.path)
        assert again is not None and again.story_id == page.story_id
        assert again.title == page.title and again.published == page.published
        assert hard.expected_body(again) == web.expected_body(page)
    added = [p for p in hard.pages if web.page(p.host, p.path) is None]
    assert len(added) == len(hard.pages) - len(web.pages) >= 15
    assert all(_kind(p) for p in added)
    assert {_kind(p) for p in added} == set(NEW_COPY_KINDS + REUSE_KINDS)
    none = Hardening(footer_share=0, follow_ups=0, quoting=0, roundups=0, extra_copies=0)
    assert build_web(7, hardening=none).pages == web.pages


def test_hardened_copies_are_positives(hard: FixtureWeb) -> None:
    groups = _by_story(hard)
    counts = Counter(_kind(p) for p in hard.pages)
    assert all(counts[k] >= 2 for k in NEW_COPY_KINDS), counts
    for page in hard.pages:
        kind = _kind(page)
        if kind not in NEW_COPY_KINDS:
            continue
        pages = groups[page.story_id]
        assert not page.is_original and page.agency is not None
        assert sum(p.host == page.host for p in pages) == 1  # a publisher prints it once
        source = hard.story_text(page.story_id)
        body = [_plain(t) for t in hard.expected_body(page)]
        words = sum(len(t.split()) for t in body) / sum(len(t.split()) for t in source)
        if kind == "lede-only":
            assert body == source[:1]
        elif kind == "trimmed-deep":
            assert 0.25 <= words <= 0.65
            assert " ".join(source).startswith(" ".join(body))
        else:
            assert len(body) == len(source) and body != source
            assert len(_shingles(body, 3) & _shingles(source, 3)) / len(_shingles(body, 3)) > 0.6


def test_hardened_reuses_are_stories_of_their_own(hard: FixtureWeb) -> None:
    groups = _by_story(hard)
    by_story = defaultdict(list)
    for r in hard.reuses:
        by_story[r.story_id].append(r)
    assert Counter(r.kind for r in hard.reuses) == {
        "follow-up": 4,
        "quotes-paragraph": 4,
        "roundup": 6,
    }
    for sid, reuses in by_story.items():
        (page,) = groups[sid]  # its own label, printed once, by a publisher
        assert page.is_original and page.agency is None and _kind(page) == reuses[0].kind
        assert hard.sites[page.host].kind == "publisher"
        text = hard.story_text(sid)
        assert hard.expected_body(page) == list(text)
        for r in reuses:
            assert r.source_id != sid and r.source_id in groups
            source = hard.story_text(r.source_id)
            shared = [t for t in text if t in source]
            assert len(_shingles(text) & _shingles(source)) / len(_shingles(text)) < 0.6
            if r.kind == "follow-up":  # 1-2 consecutive background paragraphs, second half
                assert 1 <= len(shared) <= 2
                at = source.index(shared[0])
                assert at >= len(source) // 2 and list(source[at : at + len(shared)]) == shared
                assert groups[r.source_id][0].agency is not None
                assert (
                    page.published > next(p for p in groups[r.source_id] if p.is_original).published
                )
            elif r.kind == "quotes-paragraph":  # one paragraph, not the lede
                assert len(shared) == 1 and shared[0] != source[0]
            else:  # the leading sentences of each of two stories
                lead = " ".join(source)
                part = [t for t in text[1:] if lead.startswith(t) or t in lead[: len(t) + 1]]
                assert part and lead.startswith(" ".join(part)[:200])
                assert 0.3 <= r.share <= 0.6
        if reuses[0].kind == "roundup":
            assert len(reuses) == 2 and reuses[0].source_id != reuses[1].source_id


def test_hardened_ground_truth_feeds_and_sitemaps(hard: FixtureWeb, tmp_path) -> None:
    with FixtureServer(hard) as srv:
        truth = srv.ground_truth()
        assert len(truth) == len(hard.pages)
        listed: set[str] = set()
        for host, url in zip(hard.hosts, srv.sitemap_urls(), strict=True):
            root = ET.fromstring(_get(url)[2])
            locs = {u.findtext(f"{SM}loc") for u in root.iter(f"{SM}url")}
            feed = _get(srv.base_urls[host] + hard.sites[host].feed_path)[2].decode()
            assert all(loc in feed for loc in locs)
            listed |= locs
        assert listed == set(truth)
        for page in hard.pages:
            if _kind(page):
                assert truth[srv.url_for(page)] == page.story_id
        srv.write_ground_truth(tmp_path / "truth.json")
    data = json.loads((tmp_path / "truth.json").read_text())
    assert {(r["story_id"], r["source_id"], r["kind"]) for r in data["reuses"]} == {
        (r.story_id, r.source_id, r.kind) for r in hard.reuses
    }


def test_footers_are_in_the_served_body_not_in_the_truth(hard: FixtureWeb) -> None:
    by_host: dict[str, set[str]] = defaultdict(set)
    for page in hard.pages:
        footer = hard.footer(page)
        site = hard.sites[page.host]
        if site.kind == "agency" or "footer" not in page.variants:
            assert not footer
            continue
        assert 60 <= sum(len(t.split()) for t in footer) <= 90
        by_host[page.host].add(re.sub(r"\d+", "0", "\n".join(footer)))
        html = hard.page_for(page.host, page.path)[2]  # type: ignore[index]
        page_url = f"http://{page.host}.fixture.test{page.path}"
        extracted = [" ".join(t.split()) for t in extract_html(html, page_url).paragraphs]
        body = [" ".join(t.split()) for t in hard.expected_body(page)]
        assert all(t in extracted for t in footer)  # extraction keeps them: in the body
        assert extracted.index(footer[0]) > extracted.index(body[-1])
        assert not set(footer) & set(body)
    publishers = [h for h in hard.hosts if hard.sites[h].kind == "publisher"]
    assert len(by_host) == len(publishers) // 2
    assert all(len(v) == 1 for v in by_host.values())  # one footer per outlet, digits aside
    refs = [h for h, v in by_host.items() if "Ref. " in next(iter(v))]
    assert refs  # some footers differ page by page: only digit-blind learning sees them
    one = [p for p in hard.pages if p.host == refs[0]]
    assert len({hard.footer(p)[-1] for p in one}) == len(one)


def _per_host_addresses_work() -> bool:
    try:
        with socket.socket() as s:
            s.bind(("127.0.0.2", 0))
        return True
    except OSError:
        return False


@pytest.mark.slow
@pytest.mark.parametrize(
    "per_host",
    [
        pytest.param(
            True,
            id="per-host-addresses",
            marks=pytest.mark.skipif(
                not _per_host_addresses_work(),
                reason="127.0.0.2 is not a loopback address here (macOS without aliases)",
            ),
        ),
        pytest.param(False, id="one-address-as-the-demo"),
    ],
)
def test_hardened_web_through_newsdedup_run(hard: FixtureWeb, tmp_path, per_host) -> None:
    """The demo's config and ``newsdedup run``: each host on its own loopback address (one
    site per hostname, as on the real web), or all on 127.0.0.1 as the demo serves them."""
    from crawler.cli._demo import score_store, write_fixture_config

    with FixtureServer(hard, per_host_addresses=per_host) as srv:
        path = write_fixture_config(srv, tmp_path)
        text = path.read_text(encoding="utf-8")
        allowed = srv.LOOPBACK_NET if per_host else "127.0.0.1"
        assert f'allow_hosts = ["{allowed}"]' in text
        done = subprocess.run(
            [newsdedup_exe(), "-q", "run", "--config", str(path)],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        truth = srv.ground_truth()
        footers = {srv.url_for(p): hard.footer(p) for p in hard.pages}
    with open_store(tmp_path / "demo.db") as st:
        scores, _ = score_store(st, truth)
        arts = st.articles(st.article_ids())
        assert len(arts) == len(hard.pages)
        kept = learned = story_lines_learned = 0
        for art in arts:
            lines = set(art.text.split("\n"))
            _, content = stored_content(st, art.id)
            for line in footers[art.url]:
                if line in lines:  # not dropped by the crawler's normalizer
                    kept += 1
                    learned += line in content.ignored
            story_lines_learned += len(set(content.ignored) - set(footers[art.url]))
    print(
        f"hardened web 7 through newsdedup run, per_host={per_host}: P "
        f"{scores.precision:.4f} R {scores.recall:.4f} F1 {scores.f1:.4f}; footer "
        f"paragraphs stored {kept}, learned as boilerplate {learned}; other lines learned "
        f"as boilerplate {story_lines_learned}"
    )
    assert scores.precision >= 0.95
    assert kept >= 10 and learned == kept
    if per_host:  # one hostname per outlet: nothing but the footers is an outlet's own
        assert story_lines_learned == 0
