"""Extraction tests: metadata, JSON-LD vs DOM bodies, decoding, and malformed input that
must never raise."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crawler.extract._html import MAX_BYTES, decode_html, extract_html, extract_text
from crawler.normalize._boilerplate import normalize

pytestmark = pytest.mark.quick

PAGES = Path(__file__).parent / "data" / "pages"

PARAS = [
    "Le ministre a présenté jeudi un plan d'investissement destiné à moderniser le réseau "
    "ferroviaire français, a-t-il annoncé à la presse.",
    "Les syndicats ont salué une décision « dans la bonne direction », tout en réclamant "
    "davantage de moyens pour l'entretien des voies régionales.",
    "Les travaux doivent commencer cet été et s'étaler sur une décennie, selon le calendrier "
    "publié par le ministère à l'issue du conseil.",
]


def _html(paras: list[str], head: str = "", lang: str = "fr") -> str:
    body = "".join(f"<p>{p}</p>" for p in paras)
    return (
        f"<html lang='{lang}'><head>{head}<title>Un plan pour le rail - Le Journal</title>"
        f"</head><body><nav><a href='/'>Accueil</a></nav><div class='article'>"
        f"<h1>Un plan pour le rail</h1>{body}</div><footer>Contact</footer></body></html>"
    )


# ----------------------------------------------------------------------------- metadata


def test_jsonld_page_metadata_and_method():
    page = extract_html((PAGES / "en_reuters_jsonld.html").read_bytes(), "https://x.example/a")
    assert page.method == "jsonld"
    assert page.title == "Turkey seeks European air defence deal"
    assert page.authors == ["Jane Doe"] and page.byline == "Jane Doe"
    assert page.published == datetime(2020, 9, 25, 10, 11, tzinfo=UTC)
    assert page.updated == datetime.fromisoformat("2020-09-25T12:30:00+02:00")
    assert page.language == "en-gb"
    assert page.canonical_url == "https://planet.example/world/turkey-air-defence"
    assert page.site_name == "Daily Planet"
    assert page.url == "https://x.example/a"
    # JSON-LD text equals the DOM's: the DOM's paragraph structure is kept.
    assert len(page.paragraphs) == 5
    assert page.warnings == []


def test_dom_only_page_metadata():
    page = extract_html((PAGES / "fr_afp_dom.html").read_bytes())
    assert page.method == "dom"
    assert page.title == "Le gouvernement annonce un plan pour le rail"  # <title> minus site
    assert page.site_name == "Le Quotidien"
    assert page.language == "fr"
    assert page.published == datetime.fromisoformat("2021-03-04T08:15:00+01:00")
    assert any("Photo : AFP" in c for c in page.captions)
    assert not any("Les plus lus" in p or "newsletter" in p for p in page.paragraphs)
    assert "Le gouvernement annonce un plan pour le rail" not in page.paragraphs


def test_jsonld_body_used_when_dom_has_no_paragraphs():
    body = " ".join(PARAS * 2)
    head = (
        '<script type="application/ld+json">{"@type": "NewsArticle", '
        f'"headline": "Un plan", "articleBody": "{body}"}}</script>'
    )
    html = (
        f"<html><head>{head}</head><body><div class='x'>{body}</div>"
        "<div class='y'>Autre chose</div></body></html>"
    )
    page = extract_html(html)
    assert page.method == "jsonld"
    assert " ".join(page.paragraphs) == body


def test_truncated_jsonld_body_is_not_trusted():
    teaser = " ".join(PARAS)[:300] + "…"
    head = (
        '<script type="application/ld+json">{"@type": "NewsArticle", '
        f'"articleBody": "{teaser}"}}</script>'
    )
    page = extract_html(_html(PARAS, head))
    assert page.method == "dom"
    assert page.paragraphs == PARAS


def test_br_separated_text_becomes_paragraphs():
    html = (
        "<html><body><div class='content'>"
        + "<br><br>".join(PARAS)
        + "<div class='ad'>Publicité</div></div></body></html>"
    )
    page = extract_html(html)
    assert page.paragraphs == PARAS


def test_article_split_into_chunks_is_reassembled():
    chunks = "".join(
        f"<div class='row'><div class='chunk'><p>{p}</p><p>{p.upper()}</p></div></div>"
        f"<div class='row'><div class='promo-box'>Abonnez-vous</div></div>"
        for p in PARAS
    )
    page = extract_html(f"<html><body><div class='story'>{chunks}</div></body></html>")
    assert page.paragraphs == [x for p in PARAS for x in (p, p.upper())]


def test_extract_text_plain_page():
    page = extract_text("Published: 2020-01-02 10:00\nA headline here\n\nFirst line.\nSecond.")
    assert page.method == "text"
    assert page.title == "A headline here"
    assert page.published == datetime(2020, 1, 2, 10, 0, tzinfo=UTC)
    assert page.paragraphs[-2:] == ["First line.", "Second."]


# ----------------------------------------------------------------------------- decoding


def test_decode_bom_meta_and_declared():
    text = "Café – “quoted”"
    assert decode_html(b"\xef\xbb\xbf" + text.encode("utf-8"))[0] == text
    meta = b"<meta charset='windows-1252'>" + text.encode("cp1252")
    assert decode_html(meta)[0].endswith(text)
    assert decode_html(text.encode("cp1252"), "windows-1252") == (text, [])


def test_wrong_declared_charset_falls_back_with_warning():
    text = "Der Bundesrat stimmt über die Änderung des Gesetzes ab. Größere Mehrheit erwartet."
    decoded, warns = decode_html(text.encode("cp1252"), "utf-8")
    assert decoded == text
    assert warns and "utf-8" in warns[0]


@pytest.mark.parametrize("codec", ["cp1252", "latin-1"])
def test_undeclared_single_byte_page(codec):
    paras = [p.replace("«", '"').replace("»", '"') for p in PARAS]
    data = _html(paras).encode(codec)
    page = extract_html(data)
    assert page.paragraphs == paras
    assert any("charset" in w for w in page.warnings)


def test_undeclared_gbk_page():
    html = (
        (PAGES / "zh_xinhua.html").read_text(encoding="utf-8").replace('<meta charset="utf-8">', "")
    )
    page = extract_html(html.encode("gbk"))
    assert any("charset" in w for w in page.warnings)
    art = normalize(page)
    assert art.body and art.body[0].startswith("4月16日9时36分")


def test_utf8_page_declared_latin1_is_read_as_utf8():
    data = _html(PARAS, "<meta charset='iso-8859-1'>").encode("utf-8")
    page = extract_html(data)
    assert page.paragraphs == PARAS
    assert any("UTF-8" in w for w in page.warnings)


# ----------------------------------------------------------------------------- malformed


def test_truncated_html_still_yields_text():
    html = _html(PARAS)
    cut = html[: html.index(PARAS[2][:30]) + 10]
    page = extract_html(cut.encode("utf-8"))
    assert page.paragraphs[:2] == PARAS[:2]


def test_binary_junk_does_not_raise():
    rnd = random.Random(4)
    junk = bytes(rnd.getrandbits(8) for _ in range(200_000))
    page = extract_html(junk, "https://x.example/junk")
    assert page.warnings
    assert page.url == "https://x.example/junk"
    assert isinstance(page.paragraphs, list)


@pytest.mark.parametrize("data", [b"", b"   ", b"<", b"<html>", b"\x00" * 100])
def test_degenerate_inputs(data):
    page = extract_html(data)
    assert page.warnings
    assert page.paragraphs == []


def test_fragment_without_document():
    assert extract_html("<p>ü</p>").paragraphs == ["ü"]


@pytest.mark.slow
def test_huge_page_is_truncated_with_warning():
    para = "<p>" + ("Un paragraphe assez long, avec des virgules, pour compter. " * 4) + "</p>"
    html = (
        "<html><body><div class='article'>"
        + para * (21_000_000 // len(para))
        + "</div></body></html>"
    ).encode("utf-8")
    assert len(html) > 20_000_000
    page = extract_html(html)
    assert any("truncated" in w for w in page.warnings)
    assert len(page.paragraphs) > 1000
    assert sum(map(len, page.paragraphs)) <= MAX_BYTES


def test_deep_nesting_does_not_recurse():
    depth = 10_000
    html = (
        "<html><body>"
        + "<div>" * depth
        + "".join(f"<p>{p}</p>" for p in PARAS)
        + "</div>" * depth
        + "</body></html>"
    )
    page = extract_html(html.encode("utf-8"))
    art = normalize(page)
    assert art.body == PARAS


def test_unclosed_tags_and_bad_jsonld():
    html = (
        "<html><head><script type='application/ld+json'>{not json</script></head>"
        "<body><div class='article'><p>" + "<p>".join(PARAS) + "<div><span><b>"
    )
    page = extract_html(html)
    assert page.paragraphs == PARAS
    assert any("JSON-LD" in w for w in page.warnings)
