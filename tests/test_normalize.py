"""Normalization tests: the seed page, each boilerplate kind in several languages, rules
files and site-learned template lines."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from crawler.extract._html import ExtractedPage, extract_html, extract_text
from crawler.normalize._boilerplate import normalize
from crawler.normalize._rules import RulesError, load_rules
from crawler.normalize._sitelines import learn_template_lines, line_key

pytestmark = pytest.mark.quick

DATA = Path(__file__).parent / "data"
PAGES = DATA / "pages"


def _page(name: str):
    return normalize(extract_html((PAGES / name).read_bytes(), f"https://example.com/{name}"))


def _rules_of(art, prefix: str) -> list[str]:
    return [d.text for d in art.dropped if d.rule.startswith(prefix)]


# ----------------------------------------------------------------------------- the seed


@pytest.fixture(scope="module")
def seed_text() -> str:
    return (DATA / "seed-chinadaily-bloomberg.txt").read_text(encoding="utf-8")


def test_seed_metadata(seed_text):
    art = normalize(extract_text(seed_text))
    assert art.title == "Turkey 'pushes' Macron to allow purchase of air missile systems"
    assert art.byline == "By Bloomberg"
    assert art.agency == "Bloomberg"
    assert art.published == datetime(2020, 9, 25, 18, 11, tzinfo=UTC)
    assert art.updated == datetime(2023, 6, 5, 16, 9, tzinfo=UTC)
    assert len(art.captions) == 1
    assert art.captions[0].startswith("This combo photo shows")
    assert art.captions[0].endswith("(PHOTO / AFP)")


def test_seed_body_is_exactly_the_story(seed_text):
    lines = [ln.strip() for ln in seed_text.splitlines() if ln.strip()]
    starts = (
        "Turkey approached France",
        "In a phone call",
        "The outreach",
        "Ankara has not yet",
        "Turkey says it needs",
    )
    expected = [ln for ln in lines if ln.startswith(starts)]
    assert len(expected) == 5
    art = normalize(extract_text(seed_text))
    assert art.body == expected
    assert art.text == "\n\n".join(expected)


def test_seed_dropped_lines_are_explained(seed_text):
    art = normalize(extract_text(seed_text))
    rules = {d.rule.split(":")[0] for d in art.dropped}
    assert {"date-line", "headline", "byline", "caption", "link-line", "pull-quote"} <= rules
    pulls = _rules_of(art, "pull-quote")
    assert len(pulls) == 1 and pulls[0].startswith("Macron responded")
    assert not pulls[0].endswith(".")
    links = _rules_of(art, "link-line")
    assert [x.split(":")[0] for x in links] == ["ALSO READ", "READ MORE"]


def test_seed_as_html_page_gives_the_same_body(seed_text):
    """Another wrapper around the same story must normalize to the same text."""
    from_text = normalize(extract_text(seed_text))
    art = _page("chinadaily_seed.html")
    assert art.body == from_text.body
    assert art.title == from_text.title
    assert art.byline == "By Bloomberg" and art.agency == "Bloomberg"
    assert art.published == datetime(2020, 9, 25, 18, 11, tzinfo=UTC)
    assert art.updated == datetime(2023, 6, 5, 16, 9, tzinfo=UTC)
    assert any(c.endswith("(PHOTO / AFP)") for c in art.captions)


# ----------------------------------------------------------------------------- languages


def test_english_reuters_jsonld_page():
    art = _page("en_reuters_jsonld.html")
    assert art.agency == "Reuters"
    assert art.body[0].startswith("Turkey has approached France")  # dateline stripped
    assert _rules_of(art, "dateline") == ["ANKARA, Sept 25 (Reuters) -"]
    assert _rules_of(art, "tagline:reporting") == ["(Reporting by Jane Doe; Editing by John Smith)"]
    assert len(art.body) == 4
    assert not any("READ MORE" in b or "Related" in b or "cookies" in b for b in art.body)


def test_french_afp_page():
    art = _page("fr_afp_dom.html")
    assert art.agency == "AFP"
    assert art.body[0].startswith("Le gouvernement a présenté jeudi")
    assert [t.split(" :")[0] for t in _rules_of(art, "link-line:fr")] == [
        "À LIRE AUSSI",
        "Lire aussi",
    ]
    assert any(c.endswith("Photo : AFP") for c in art.captions)
    assert len(art.body) == 4
    assert art.published == datetime.fromisoformat("2021-03-04T08:15:00+01:00")


def test_german_dpa_page():
    art = _page("de_dpa.html")
    assert art.byline == "Von Max Mustermann, dpa"
    assert art.agency == "dpa"
    assert art.published == datetime(2022, 1, 12, 14, 30, tzinfo=UTC)
    assert art.body[0].startswith("Die Deutsche Bahn will")
    assert "Foto: dpa" in art.captions
    assert len(_rules_of(art, "link-line:de")) == 2
    assert _rules_of(art, "tagline:copyright") == ["© dpa-infocom, dpa:220112-99-123456/3"]
    assert len(art.body) == 4
    assert not any("Leser1" in b for b in art.body)  # comments are not the article


def test_spanish_efe_page():
    art = _page("es_efe.html")
    assert art.agency == "EFE"
    assert art.body[0].startswith("El Consejo de Ministros aprobó")
    assert len(_rules_of(art, "link-line:es")) == 3
    assert len(art.body) == 4
    assert art.published == datetime.fromisoformat("2023-03-16T13:05:00+01:00")


def test_chinese_xinhua_page():
    art = _page("zh_xinhua.html")
    assert art.agency == "Xinhua"
    assert art.body[0].startswith("4月16日9时36分")
    assert "图片来源：新华社" in art.captions
    assert len(_rules_of(art, "link-line:zh")) == 2
    assert "（完）" in _rules_of(art, "tagline") or "（完）" in [
        d.text for d in art.dropped if d.rule.startswith("tagline")
    ]
    assert len(art.body) == 3
    assert art.published == datetime(2022, 4, 16, 9, 30, tzinfo=UTC)


def test_ap_page_pull_quote_caption_pagination_taglines():
    art = _page("en_ap_pullquote.html")
    assert art.agency == "AP"
    assert art.body[0].startswith("Inflation in the United Kingdom")
    assert _rules_of(art, "pull-quote") == ['"This is a welcome fall, but the job is not done"']
    assert _rules_of(art, "pagination") == ["Page 1 of 2"]
    assert len(_rules_of(art, "tagline")) == 2
    assert any("Getty Images" in c for c in art.captions)
    assert len(art.body) == 4


# ----------------------------------------------------------------------------- single rules


def _lines(*lines: str, title: str | None = None, byline: str | None = None):
    return ExtractedPage(title=title, byline=byline, paragraphs=list(lines), method="text")


STORY = (
    "The central bank raised its main interest rate by a quarter point on Thursday, "
    "citing persistent inflation in services and a tight labour market."
)


@pytest.mark.parametrize(
    "line",
    [
        "ALSO READ: Markets rally after rate decision",
        "Read more: Markets rally after rate decision",
        "Related: Markets rally after rate decision",
        "See also: Markets rally after rate decision",
        "Click here to subscribe to our daily newsletter",
        "Follow us on Twitter for the latest updates",
        "LESEN SIE AUCH: Börsen im Aufwind",
        "Auch interessant: Börsen im Aufwind",
        "LEA TAMBIÉN: Las bolsas suben",
        "推荐阅读：股市大涨",
        "阅读更多：股市大涨",
    ],
)
def test_link_lines_are_dropped_with_a_rule_name(line):
    art = normalize(_lines(STORY, line))
    assert art.body == [STORY]
    assert art.dropped[0].rule.startswith("link-line:")
    assert art.dropped[0].text == line


@pytest.mark.parametrize(
    "line",
    [
        "Protesters gather outside parliament. (Photo by Jane Roe/Getty Images)",
        "Photo: Reuters",
        "Foto: dpa",
        "Rescue workers at the scene on Monday. (PHOTO / AFP)",
        "图片来源：视觉中国",
    ],
)
def test_captions_move_out_of_the_body(line):
    art = normalize(_lines(STORY, line))
    assert art.body == [STORY]
    assert art.captions == [line]


def test_sentences_that_look_like_rules_are_kept():
    body = [
        "By the time the polls closed, turnout had reached a record 78 percent, officials said.",
        "Related news was scarce in the capital, where the vote count continued overnight.",
        "Copyright law reform was also on the ballot in three states this year, it said.",
    ]
    art = normalize(_lines(*body))
    assert art.body == body
    assert art.dropped == []


def test_headline_repeat_only_at_the_start():
    title = "Central bank raises rates again"
    art = normalize(_lines(title, STORY, title, title=title))
    assert art.body == [STORY, title]
    assert [d.rule for d in art.dropped] == ["headline"]


def test_exact_duplicate_paragraph_keeps_first_occurrence():
    other = "Analysts expect one more increase before the end of the year, the survey showed."
    art = normalize(_lines(STORY, other, STORY.upper()))
    assert art.body == [STORY, other]
    assert [d.rule for d in art.dropped] == ["pull-quote"]


def test_short_repeated_lines_are_not_pull_quotes():
    art = normalize(_lines("Yes.", STORY, "Yes."))
    assert art.body == ["Yes.", STORY, "Yes."]


def test_byline_with_agency_and_dateline_variants():
    art = normalize(_lines("By Jane Doe, Reuters", "LONDON (AP) — " + STORY))
    assert art.byline == "By Jane Doe, Reuters"
    assert art.agency == "Reuters"  # the byline wins over the dateline
    assert art.body == [STORY]
    art = normalize(_lines("WASHINGTON — " + STORY))
    assert art.body == [STORY] and art.agency is None


def test_agency_from_copyright_tagline():
    art = normalize(_lines(STORY, "© 2020 Bloomberg L.P."))
    assert art.body == [STORY]
    assert art.agency == "Bloomberg"


# ----------------------------------------------------------------------------- rules files


def test_user_rules_extend_and_override(tmp_path):
    extra = tmp_path / "mine.toml"
    extra.write_text(
        "[[rule]]\nname = 'link-line:house'\nkind = 'link'\n"
        "patterns = ['^courier plus members']\n"
        "[[rule]]\nname = 'pagination'\nkind = 'pagination'\npatterns = []\n",
        encoding="utf-8",
    )
    rules = load_rules([extra])
    art = normalize(_lines(STORY, "Courier Plus members read free", "Page 1 of 2"), rules)
    assert art.body == [STORY, "Page 1 of 2"]  # pagination switched off, house rule added
    assert [d.rule for d in art.dropped] == ["link-line:house"]
    assert load_rules() is load_rules()  # the default set is cached


def test_bad_rules_file_is_reported(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[[rule]]\nname = 'x'\nkind = 'link'\npatterns = ['(unclosed']\n")
    with pytest.raises(RulesError, match="unclosed"):
        load_rules([bad])
    with pytest.raises(RulesError):
        load_rules([tmp_path / "missing.toml"])


# ----------------------------------------------------------------------------- site lines


def test_line_key_is_typography_blind_and_short():
    fancy = line_key("Download the “Courier” app — now")
    assert fancy == line_key('download the "courier" app - now')
    assert line_key("a") != line_key("b")
    assert len(line_key("x")) == 16


def test_learn_template_lines_needs_share_and_pages():
    promo = line_key("Download our app for breaking news")
    pages = [{promo, line_key(f"story line {i}")} for i in range(6)]
    assert learn_template_lines(pages) == {promo}
    assert learn_template_lines(pages[:4]) == set()  # too few pages to tell
    half = [{promo}] * 3 + [set()] * 3
    assert learn_template_lines(half) == set()  # exactly half is not "more than" half


def test_normalize_drops_site_template_lines():
    promo = "Download our app for breaking news"
    art = normalize(_lines(STORY, promo), template_lines={line_key(promo)})
    assert art.body == [STORY]
    assert [(d.rule, d.text) for d in art.dropped] == [("site-template", promo)]
