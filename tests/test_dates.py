"""Dates: the parser on day-first, month-first, two-digit and localized forms, and the
page-level choice of the publication date on small hand-written pages. A wrong date makes
the wrong copy the origin of a story, so several tests check that no date comes out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from crawler.extract import extract_html
from crawler.extract._dates import dayfirst_for, find_date, parse_date, parse_date_line, url_date

pytestmark = pytest.mark.quick

CET = timezone(timedelta(hours=1))
CEST = timezone(timedelta(hours=2))

# ------------------------------------------------------------------------------ the parser


def test_dotted_dates_are_day_first_everywhere():
    assert parse_date("06.01.2026") == datetime(2026, 1, 6, tzinfo=UTC)
    # Even on a page whose slashed dates are month-first.
    assert parse_date("06.01.2026", dayfirst=False) == datetime(2026, 1, 6, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "dayfirst", "want"),
    [
        ("06/01/2026", True, datetime(2026, 1, 6, tzinfo=UTC)),
        ("06/01/2026", False, datetime(2026, 6, 1, tzinfo=UTC)),
        ("13/01/2026", None, datetime(2026, 1, 13, tzinfo=UTC)),  # unambiguous
        ("01/13/2026", None, datetime(2026, 1, 13, tzinfo=UTC)),
        ("2026/01/06", None, datetime(2026, 1, 6, tzinfo=UTC)),
        ("06-01-2026 10:30", True, datetime(2026, 1, 6, 10, 30, tzinfo=UTC)),
    ],
)
def test_slashed_dates_follow_the_page_order(text, dayfirst, want):
    assert parse_date(text, dayfirst=dayfirst) == want


def test_ambiguous_slashed_date_with_unknown_order_is_no_date():
    assert parse_date("06/01/2026") is None
    assert parse_date("Posted 06/01/2026 at 10:00") is None


def test_dayfirst_from_language_region_and_domain():
    assert dayfirst_for("de") is True
    assert dayfirst_for("pt-BR") is True
    assert dayfirst_for("en-US") is False
    assert dayfirst_for("en-GB") is True
    assert dayfirst_for("en", "https://news.example.co.uk/a") is True
    assert dayfirst_for("en", "https://news.example.com/a") is None
    assert dayfirst_for(None, "https://www.zeitung.example.de/x") is True


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Do 25.04.24 | 14:07 Uhr", datetime(2024, 4, 25, 14, 7, tzinfo=UTC)),
        ("25.04.98", datetime(1998, 4, 25, tzinfo=UTC)),
        ("Mi., 02.10.24, 08:15", datetime(2024, 10, 2, 8, 15, tzinfo=UTC)),
    ],
)
def test_two_digit_years(text, want):
    assert parse_date(text) == want


@pytest.mark.parametrize(
    ("text", "lang", "want"),
    [
        ("erstellt: 01. April 2025", "de", datetime(2025, 4, 1, tzinfo=UTC)),
        ("16. dubna 2025 12:30", "cs", datetime(2025, 4, 16, 12, 30, tzinfo=UTC)),
        ("3 kwietnia 2025", "pl", datetime(2025, 4, 3, tzinfo=UTC)),
        ("2025 m. balandžio 16 d. 10:15", "lt", datetime(2025, 4, 16, 10, 15, tzinfo=UTC)),
        ("16 Nisan 2025 Çarşamba 14:20", "tr", datetime(2025, 4, 16, 14, 20, tzinfo=UTC)),
        ("le 4 mars 2021 à 8h15", "fr", datetime(2021, 3, 4, 8, 15, tzinfo=UTC)),
        ("Publié le 18 juil. 2024 à 07:00", "fr", datetime(2024, 7, 18, 7, 0, tzinfo=UTC)),
        ("16 de abril de 2025, 10:15 CEST", "es", datetime(2025, 4, 16, 10, 15, tzinfo=CEST)),
        ("25 апреля 2024, 14:07", "ru", datetime(2024, 4, 25, 14, 7, tzinfo=UTC)),
        ("12 maart 2024", "nl", datetime(2024, 3, 12, tzinfo=UTC)),
        ("2024年4月25日 14:07", None, datetime(2024, 4, 25, 14, 7, tzinfo=UTC)),
    ],
)
def test_localized_month_names(text, lang, want):
    assert parse_date(text, lang=lang) == want


def test_english_forms_with_times_and_zones():
    edt = timezone(timedelta(hours=-4))
    assert parse_date("April 25, 2024 2:07 PM EDT") == datetime(2024, 4, 25, 14, 7, tzinfo=edt)
    assert parse_date("Thu, 25 Apr 2024 14:07:00 GMT") == datetime(2024, 4, 25, 14, 7, tzinfo=UTC)
    assert parse_date("18:11, September 25, 2020") == datetime(2020, 9, 25, 18, 11, tzinfo=UTC)


def test_no_date_is_invented_from_parts():
    for text in ("14:07", "vor 2 Stunden", "Updated 5 min ago", "January 2024", "page 12 of 30"):
        assert parse_date(text) is None, text


def test_a_time_belongs_to_its_own_date():
    # "16:09" is the update's time, not the publication's.
    got = parse_date_line("Published: September 25, 2020 | Updated: 16:09, June 5, 2023")
    assert got == (datetime(2020, 9, 25, tzinfo=UTC), datetime(2023, 6, 5, 16, 9, tzinfo=UTC))


def test_time_without_offset_takes_the_page_offset():
    assert parse_date("2026-05-13 15:44", tz=CEST) == datetime(2026, 5, 13, 15, 44, tzinfo=CEST)
    assert find_date("13.05.2026, 15:44", tz=CEST) == datetime(2026, 5, 13, 15, 44, tzinfo=CEST)
    # A bare day stays that calendar day.
    assert parse_date("2026-05-13", tz=CEST) == datetime(2026, 5, 13, tzinfo=UTC)


def test_url_dates():
    assert url_date("https://x.example/2024/04/25/story") == datetime(2024, 4, 25, tzinfo=UTC)
    assert url_date("https://x.example/news/20240425-story") == datetime(2024, 4, 25, tzinfo=UTC)
    assert url_date("https://x.example/a/1234567890") is None


# ----------------------------------------------------------------------------- on pages

FETCHED = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
TEXT = (
    "<p>Der Stadtrat hat am Dienstagabend beschlossen, die alte Markthalle zu sanieren, statt "
    "sie abzureißen und durch einen Neubau zu ersetzen, wie die Stadt mitteilte.</p>"
    "<p>Die Kosten werden auf rund zwölf Millionen Euro geschätzt; ein Drittel soll aus "
    "einem Förderprogramm des Landes kommen, sagte die Bürgermeisterin.</p>"
)


def _page(head: str = "", top: str = "", aside: str = "", lang: str = "de") -> str:
    return (
        f"<html lang='{lang}'><head><title>Markthalle bleibt - Zeitung</title>{head}</head>"
        "<body><div class='page'><main><article><header><h1>Markthalle bleibt</h1>"
        f"{top}</header><div class='text'>{TEXT}</div></article></main>"
        f"<div class='more'>{aside}</div></div></body></html>"
    )


def _published(html: str, url: str | None = None) -> datetime | None:
    return extract_html(html, url, fetched=FETCHED).published


def test_visible_date_box_near_the_headline_tr():
    html = _page(
        top="<div class='row'><span>Ayşe Yılmaz |</span>"
        "<span class='tarih'>05.04.2025 - Güncelleme : 06.04.2025</span></div>",
        lang="tr",
    )
    assert _published(html) == datetime(2025, 4, 5, tzinfo=UTC)


def test_visible_date_line_after_the_headline_with_two_digit_year():
    html = _page(top="<div class='line'>Do 24.04.25 | 14:07 Uhr | Von Eva Muster</div>")
    assert _published(html) == datetime(2025, 4, 24, 14, 7, tzinfo=UTC)


def test_localized_visible_date():
    html = _page(top="<p class='info'>erstellt: 01. April 2025</p>")
    assert _published(html) == datetime(2025, 4, 1, tzinfo=UTC)


def test_dates_of_other_stories_are_not_taken():
    teasers = "".join(
        f"<li><a href='/t{i}'>Andere Meldung {i}</a> <span class='date'>0{i}.03.2025</span></li>"
        for i in range(1, 4)
    )
    html = _page(aside=f"<ul>{teasers}</ul>")
    assert _published(html) is None


def test_photo_date_is_not_the_article_date():
    html = _page(
        top="<figure><img src='a.jpg'><figcaption>Archivbild (16.08.2024): Die Halle im "
        "Sommer.</figcaption></figure>"
    )
    assert _published(html) is None


def test_non_standard_meta_name():
    html = _page(head="<meta property='article:published:time' content='2025-04-16T10:00:00Z'>")
    assert _published(html) == datetime(2025, 4, 16, 10, 0, tzinfo=UTC)


def test_jsonld_claim_review_date_with_the_page_offset():
    head = (
        "<meta property='og:updated_time' content='2025-05-13T15:44:29+02:00'>"
        '<script type=\'application/ld+json\'>{"@type": "ClaimReview", '
        '"datePublished": "2025-05-13 15:44"}</script>'
    )
    assert _published(_page(head=head)) == datetime(2025, 5, 13, 15, 44, tzinfo=CEST)


def test_date_only_in_a_data_attribute():
    html = _page().replace("<article>", "<article data-published='2025-03-02T08:30:00+01:00'>")
    assert _published(html) == datetime(2025, 3, 2, 8, 30, tzinfo=CET)


def test_data_attribute_of_a_teaser_is_not_taken():
    html = _page(aside="<div data-date='1700000000'><a href='/x'>Alt</a></div>")
    assert _published(html) is None


def test_never_later_than_the_fetch_time():
    head = "<meta property='article:published_time' content='2025-07-01T10:00:00Z'>"
    html = _page(head=head, top="<span class='date'>30.05.2025</span>")
    assert _published(html) == datetime(2025, 5, 30, tzinfo=UTC)


def test_ranking_metadata_before_visible_before_url():
    head = "<meta property='article:published_time' content='2025-04-16T10:00:00Z'>"
    top = "<span class='date'>15.04.2025</span>"
    url = "https://z.example/2025/04/14/markthalle"
    assert _published(_page(head=head, top=top), url) == datetime(2025, 4, 16, 10, tzinfo=UTC)
    assert _published(_page(top=top), url) == datetime(2025, 4, 15, tzinfo=UTC)
    assert _published(_page(), url) == datetime(2025, 4, 14, tzinfo=UTC)


def test_us_page_slashed_date_is_month_first_and_unknown_order_gives_none():
    top = "<span class='byline-date'>04/05/2025</span>"
    us = _page(top=top, lang="en-US")
    assert _published(us) == datetime(2025, 4, 5, tzinfo=UTC)
    gb = _page(top=top, lang="en-GB")
    assert _published(gb) == datetime(2025, 5, 4, tzinfo=UTC)
    assert _published(_page(top=top, lang="en"), "https://news.example.com/a") is None
