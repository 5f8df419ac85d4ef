"""Boilerplate normalization: from extracted paragraphs to the wire story's own text.

Two outlets' copies of one wire story differ mostly in what each wraps around it: link
lines to the outlet's own stories, photo captions, date and byline lines, datelines,
agency taglines, repeated pull quotes. Removing exactly that chrome (and nothing of the
story) is what lets copies cluster. Every removal is recorded with the name of the rule
that made it, so a user can see why a line went and fix a rule that overreaches.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime

from crawler.extract._dates import dayfirst_for, find_date, parse_date_line
from crawler.extract._html import ExtractedPage, light_fold

from ._rules import RuleSet, load_rules


@dataclass
class Dropped:
    rule: str
    text: str


@dataclass
class NormalizedArticle:
    title: str | None = None
    byline: str | None = None
    agency: str | None = None
    published: datetime | None = None
    updated: datetime | None = None
    body: list[str] = field(default_factory=list)
    captions: list[str] = field(default_factory=list)
    dropped: list[Dropped] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n\n".join(self.body)


_NAME_SPLIT = re.compile(r"\s*(?:,|;|\||/|&|\band\b|\bund\b|\bet\b|\by\b|和|、)\s*")
_PARTICLES = {
    "de",
    "da",
    "di",
    "del",
    "della",
    "van",
    "von",
    "der",
    "den",
    "la",
    "le",
    "du",
    "dos",
    "das",
    "al",
    "el",
    "bin",
    "ibn",
    "ter",
    "zu",
    "y",
    "e",
    "in",
    "staff",
    "correspondent",
    "reporter",
    "and",
    "with",
    "for",
    "of",
    "the",
    "news",
}
_SENTENCE_END = re.compile(r"[.!?。！？]$")
_QUOTE_TRIM = " .。!?！？\"'”“’‘»«:;,…"
_MIN_PULL = 30
_MAX_CAPTION_CHARS = 1200


def _looks_like_names(who: str, rules: RuleSet) -> bool:
    """Whether the rest of a "By …" line names people or an agency, not a sentence."""
    who = who.strip()
    if not who or len(who) > rules.byline_max_chars:
        return False
    if rules.find_agency(who):
        return True
    if re.search(r"[\u4e00-\u9fff]", who):
        return len(who) <= 30 and not re.search(r"[，。！？]", who)
    if _SENTENCE_END.search(who) and not re.search(r"\b[A-Z]\.$", who):
        return False
    parts = [p for p in _NAME_SPLIT.split(who) if p]
    if not parts or len(parts) > 6:
        return False
    for part in parts:
        words = part.split()
        if not words or len(words) > 6:
            return False
        caps = sum(1 for w in words if w[:1].isupper())
        if caps == 0 or any(
            not (w[:1].isupper() or w.casefold() in _PARTICLES or not w[:1].isalpha())
            for w in words
        ):
            return False
    return True


def _match_byline(line: str, rules: RuleSet) -> str | None:
    if rules.byline_re is None or len(line) > rules.byline_max_chars:
        return None
    m = rules.byline_re.match(line)
    if not m:
        return None
    who = m.group("who").strip(" :：-–—")
    return who if _looks_like_names(who, rules) else None


def _strip_dateline(text: str, rules: RuleSet) -> tuple[str, str, str | None] | None:
    """(rest of paragraph, stripped dateline, agency) when the paragraph opens with one."""
    for pat in rules.datelines:
        m = pat.match(text)
        if not m:
            continue
        groups = m.groupdict()
        place = (groups.get("place") or "").strip()
        raw_agency = groups.get("agency")
        agency = rules.find_agency(raw_agency) if raw_agency else None
        if raw_agency and agency is None:
            # An unknown parenthesised word counts only behind an all-caps place name.
            if not (place.isupper() and len(raw_agency.split()) <= 3 and raw_agency[:1].isupper()):
                continue
            agency = raw_agency.strip()
        if not raw_agency and place and not place.replace(",", "").strip():
            continue
        rest = text[m.end() :].lstrip()
        if len(rest) < 20:
            continue
        return rest, m.group(0).strip(), agency
    return None


_fold = light_fold


def _pull_key(text: str) -> str:
    return _fold(text).strip(_QUOTE_TRIM)


def _drop_pull_quotes(body: list[str], dropped: list[Dropped]) -> list[str]:
    """Drop a paragraph that repeats another (or is contained in a longer one); of exact
    repeats the first occurrence stays."""
    if len(body) < 2:
        return body
    keys = [_pull_key(p) for p in body]
    # One joined haystack: str.count in C instead of a Python loop over every pair.
    hay = "\x00".join(keys)
    equal = Counter(keys)
    first: dict[str, int] = {}
    for i, k in enumerate(keys):
        first.setdefault(k, i)
    out = []
    for i, (p, k) in enumerate(zip(body, keys, strict=True)):
        if len(k) >= _MIN_PULL:
            n = hay.count(k)
            if n > equal[k] or (equal[k] > 1 and first[k] != i):
                dropped.append(Dropped("pull-quote", p))
                continue
        out.append(p)
    return out


_KICKER_CHARS = 60


def _is_headline(lc: str, title_c: str) -> bool:
    """The headline repeated, alone or with a kicker ("Premiere in X - <headline>")."""
    line, title = lc.strip(_QUOTE_TRIM), title_c.strip(_QUOTE_TRIM)
    if line == title:
        return True
    if len(title) < 20 or len(line) > len(title) + _KICKER_CHARS:
        return False
    if line.endswith(title):
        return line[: -len(title)].rstrip()[-1:] in "-–—:|·"
    return False


_TOP_DATE_WORDS = 12


def _top_date_line(line: str, dayfirst: bool | None, lang: str | None) -> bool:
    """An unlabelled date line above the story ("Do 25.04.24 | 14:07 Uhr | Von X"): short,
    with a whole date, cut into segments or starting with the date (a sentence that opens
    with a date is longer and has no separators)."""
    if len(line) > 120 or len(line.split()) > _TOP_DATE_WORDS or line.endswith("."):
        return False
    if find_date(line, dayfirst=dayfirst, lang=lang) is None:
        return False
    return "|" in line or "·" in line or line[:1].isdigit() or len(line.split()) <= 6


def normalize(
    page: ExtractedPage,
    rules: RuleSet | None = None,
    *,
    template_lines: Collection[str] = (),
) -> NormalizedArticle:
    """Strip republisher chrome from an extracted page, recording why each line went."""
    rules = rules or load_rules()
    art = NormalizedArticle(
        title=page.title,
        byline=page.byline,
        published=page.published,
        updated=page.updated,
        captions=list(page.captions),
    )
    dropped = art.dropped
    art.agency = rules.find_agency(page.byline)
    title_c = _fold(page.title) if page.title else None
    caption_keys = {_fold(c) for c in page.captions}
    template = set(template_lines)
    if template:
        # Only crawls that learnt a site's template lines need this (it pulls in store).
        from ._sitelines import line_key
    max_chars = rules.max_line_chars
    dayfirst = dayfirst_for(page.language, page.url)
    link_lines = set(page.link_lines)
    body: list[str] = []
    tagline_agency: str | None = None
    for line in page.paragraphs:
        line = line.strip()
        if not line:
            continue
        if template and line_key(line) in template:
            dropped.append(Dropped("site-template", line))
            continue
        short = len(line) <= max_chars
        if short and (dates := parse_date_line(line, dayfirst=dayfirst, lang=page.language)):
            pub, upd = dates
            art.published = art.published or pub
            art.updated = art.updated or upd
            dropped.append(Dropped("date-line", line))
            continue
        lc = _fold(line)
        if title_c and not body and _is_headline(lc, title_c):
            dropped.append(Dropped("headline", line))
            continue
        if not body and short and _top_date_line(line, dayfirst, page.language):
            dropped.append(Dropped("date-line", line))
            continue
        if short and (who := _match_byline(line, rules)) is not None:
            art.byline = art.byline or line
            art.agency = art.agency or rules.find_agency(who)
            dropped.append(Dropped("byline", line))
            continue
        if lc in caption_keys:
            dropped.append(Dropped("caption:duplicate", line))
            continue
        if len(line) <= _MAX_CAPTION_CHARS and (r := rules.first_match("caption", line)):
            art.captions.append(line)
            caption_keys.add(lc)
            dropped.append(Dropped(r, line))
            continue
        if short:
            r = (
                rules.first_match("link", line)
                or rules.first_match("tagline", line)
                or rules.first_match("pagination", line)
                # "Read also: <link>" in a language no rule knows: the markup says it.
                or ("link-line:markup" if line in link_lines else None)
            )
            if r:
                if r.startswith("tagline"):
                    tagline_agency = tagline_agency or rules.find_agency(line)
                dropped.append(Dropped(r, line))
                continue
        body.append(line)
    if body:
        stripped = _strip_dateline(body[0], rules)
        if stripped:
            rest, dateline, agency = stripped
            body[0] = rest
            dropped.append(Dropped("dateline", dateline))
            art.agency = art.agency or agency
    art.agency = art.agency or tagline_agency
    art.body = _drop_pull_quotes(body, dropped)
    return art
