"""Date parsing for article metadata and visible date lines.

Publishers write dates in every format and language. A wrong date is worse than none (it
makes the wrong copy the origin of a story), so the parser finds a date only where day,
month and year are all written:

- ISO 8601 (nearly all machine-readable dates) is read by the standard library;
- numeric dates are read by order rules rather than guessed: dotted dates ("06.01.2026")
  are day-first everywhere; slashed and dashed ones ("06/01/2026") are day-first or
  month-first as the page's language and country write them (`dayfirst_for`), and an
  ambiguous one on a page whose order is unknown is no date at all; two-digit years are
  read in the window around the present;
- month names come from CLDR through babel for the page's language (the genitive forms
  that Czech, Polish or Lithuanian dates use included), loaded lazily and only when a
  date line has a month word that the built-in English/French/German/Spanish names do
  not know; babel is a well-kept CLDR wrapper that costs 30 ms to import, against
  dateparser's lenient guessing (relative dates, defaults for missing parts) that is
  exactly what must not happen here;
- what is left goes to dateutil, and only if the text has a four-digit year and dateutil
  did not have to invent the month or the day.

Every result is tz-aware: a time without an offset takes the offset the caller knows the
page uses (`tz`), else UTC, because a naive datetime cannot be compared with the aware ones
that other pages yield.
"""

from __future__ import annotations

import re
import warnings
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from urllib.parse import urlsplit

from dateutil import parser as _dparser
from dateutil import tz as _dtz

_MONTHS = {
    # French
    "janvier": "January",
    "février": "February",
    "fevrier": "February",
    "mars": "March",
    "avril": "April",
    "mai": "May",
    "juin": "June",
    "juillet": "July",
    "août": "August",
    "aout": "August",
    "septembre": "September",
    "octobre": "October",
    "novembre": "November",
    "décembre": "December",
    "decembre": "December",
    # German
    "januar": "January",
    "jänner": "January",
    "februar": "February",
    "märz": "March",
    "maerz": "March",
    "juni": "June",
    "juli": "July",
    "oktober": "October",
    "dezember": "December",
    # Spanish
    "enero": "January",
    "febrero": "February",
    "marzo": "March",
    "abril": "April",
    "mayo": "May",
    "junio": "June",
    "julio": "July",
    "agosto": "August",
    "septiembre": "September",
    "setiembre": "September",
    "octubre": "October",
    "noviembre": "November",
    "diciembre": "December",
}
_EN_NUM = {
    "january": 1,
    "jan": 1,
    "february": 2,
    "feb": 2,
    "march": 3,
    "mar": 3,
    "april": 4,
    "apr": 4,
    "may": 5,
    "june": 6,
    "jun": 6,
    "july": 7,
    "jul": 7,
    "august": 8,
    "aug": 8,
    "september": 9,
    "sep": 9,
    "sept": 9,
    "october": 10,
    "oct": 10,
    "november": 11,
    "nov": 11,
    "december": 12,
    "dec": 12,
}
_BUILTIN = {**_EN_NUM, **{k: _EN_NUM[v.lower()] for k, v in _MONTHS.items()}}
_MONTH_RE = re.compile(
    r"\b(" + "|".join(sorted(map(re.escape, _MONTHS), key=len, reverse=True)) + r")\b",
    re.IGNORECASE,
)
# Words that only get in dateutil's way ("le", "um", "de", "à", "Uhr", weekday names...).
_NOISE_RE = re.compile(
    r"\b(?:le|à|a las|um|uhr|de|del|am|den|lundi|mardi|mercredi|jeudi|vendredi|samedi|"
    r"dimanche|montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonntag|lunes|martes|"
    r"miércoles|jueves|viernes|sábado|domingo|h)\b\.?",
    re.IGNORECASE,
)
_FRENCH_HOUR = re.compile(r"\b(\d{1,2})\s*h\s*(\d{2})\b")
_CJK_DATE = re.compile(
    r"(\d{4})\s*[年/.-]\s*(\d{1,2})\s*[月/.-]\s*(\d{1,2})\s*日?"
    r"(?:\s*(\d{1,2})\s*[:：时]\s*(\d{2})(?:\s*[:：分]\s*(\d{2}))?)?"
)
_TZINFOS = {
    "UTC": 0,
    "GMT": 0,
    "Z": 0,
    "BST": 3600,
    "CET": 3600,
    "CEST": 7200,
    "MEZ": 3600,
    "MESZ": 7200,
    "EST": -5 * 3600,
    "EDT": -4 * 3600,
    "CST": -6 * 3600,
    "CDT": -5 * 3600,
    "MST": -7 * 3600,
    "MDT": -6 * 3600,
    "PST": -8 * 3600,
    "PDT": -7 * 3600,
    "IST": 19800,
    "JST": 9 * 3600,
    "KST": 9 * 3600,
    "HKT": 8 * 3600,
    "SGT": 8 * 3600,
    "AEST": 10 * 3600,
    "AEDT": 11 * 3600,
    "EET": 2 * 3600,
    "EEST": 3 * 3600,
    "WET": 0,
    "WEST": 3600,
}
_MIN_YEAR, _MAX_YEAR = 1990, 2100

# A numeric date: day/month/year in some order with one separator used twice.
_NUM_DATE = re.compile(
    r"(?<![\d.:/-])(\d{1,4})\s?([./-])\s?(\d{1,2})\s?\2\s?(\d{4}|\d{2})(?![\d]|[.:/-]\d)"
)
_TIME = re.compile(
    r"(?<![\d.:])([01]?\d|2[0-3])\s?(?:[:：]|h(?=\s?\d))\s?([0-5]\d)(?::([0-5]\d))?(?:[.,]\d+)?"
    r"(?:\s?([aApP])\.?\s?[mM]\b\.?)?"
)
_ZONE = re.compile(
    r"\s*(?:(?:UTC|GMT)\s?([+-])\s?(\d{1,2})(?::?(\d{2}))?|([+-])(\d{2}):?(\d{2})\b|"
    r"\b(" + "|".join(sorted(_TZINFOS, key=len, reverse=True)) + r")\b)",
)
_TIME_GAP = 30  # characters between a date and its time ("25.04.24 | 14:07 Uhr")
# Regions that write month before day; English pages elsewhere write day first.
_MONTH_FIRST = frozenset(["us", "ph", "fm", "mh", "pw", "gu", "pr", "as", "vi", "um", "ca"])
_GENERIC_TLDS = frozenset(["us", "io", "co", "tv", "fm", "me", "ai", "ly", "to", "ws", "cc"])


def dayfirst_for(lang: str | None, url: str | None = None) -> bool | None:
    """Whether the page writes day before month in numeric dates; None when unknown.

    Outside English, day-first is the rule; in English it is month-first in the US and
    day-first in Britain, India, Australia, Africa... The language tag's region decides,
    else the URL's country-code domain; a plain "en" page on a .com is unknown.
    """
    if lang:
        parts = lang.strip().lower().replace("_", "-").split("-")
        if parts[0] and parts[0] != "en":
            return True
        if len(parts) > 1 and len(parts[1]) == 2:
            return parts[1] not in _MONTH_FIRST
    if url:
        host = urlsplit(url).hostname or ""
        tld = host.rsplit(".", 1)[-1]
        if len(tld) == 2 and tld not in _GENERIC_TLDS:
            return tld not in _MONTH_FIRST
    return None


def _aware(dt: datetime, tz: tzinfo | None = None) -> datetime:
    if dt.tzinfo is None or dt.utcoffset() is None:
        return dt.replace(tzinfo=tz or UTC)
    return dt


def _plausible(dt: datetime) -> bool:
    return _MIN_YEAR <= dt.year <= _MAX_YEAR


def _year(text: str) -> int:
    y = int(text)
    if len(text) == 2:
        # The century that puts the year nearest to now (".24" is 2024, ".98" 1998).
        now = datetime.now(UTC).year
        y += 2000 if 2000 + y <= now + 10 else 1900
    return y


def _num_date(m: re.Match, dayfirst: bool | None) -> tuple[int, int, int] | None:
    a, sep, b, c = m.group(1), m.group(2), m.group(3), m.group(4)
    if len(a) == 4:
        return (int(a), int(b), int(c)) if len(c) <= 2 else None  # 2025.04.16, 2025/04/16
    if len(a) > 2:
        return None
    x, y = int(a), int(b)
    if sep == ".":
        first = True  # dotted dates are day-first wherever they are written
    elif x > 12 >= y:
        first = True
    elif y > 12 >= x:
        first = False
    elif dayfirst is None:
        return None  # 06/01/2026 on a page whose order is unknown: no date beats a wrong one
    else:
        first = dayfirst
    day, month = (x, y) if first else (y, x)
    return _year(c), month, day


@lru_cache(maxsize=64)
def _month_names(lang: str) -> dict[str, int]:
    """Month names (wide and abbreviated, format and stand-alone forms) of one language,
    from CLDR through babel, lowercased and without trailing dots."""
    try:
        from babel import Locale, UnknownLocaleError
        from babel.dates import get_month_names
    except ImportError:  # pragma: no cover - babel is a dependency; degrade, never fail
        return {}
    try:
        loc = Locale.parse(lang.replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        try:
            loc = Locale.parse(lang.split("-")[0])
        except (UnknownLocaleError, ValueError, TypeError):
            return {}
    out: dict[str, int] = {}
    for width in ("wide", "abbreviated"):
        for context in ("format", "stand-alone"):
            for num, name in get_month_names(width, context, loc).items():
                key = name.lower().rstrip(".")
                if len(key) >= 3 and not key.isdigit():
                    out.setdefault(key, num)
    return out


@lru_cache(maxsize=64)
def _month_patterns(lang: str | None) -> tuple[dict[str, int], list[re.Pattern[str]]]:
    names = dict(_BUILTIN)
    if lang and not lang.lower().startswith("en"):
        names.update(_month_names(lang.lower()))
    alt = "|".join(sorted(map(re.escape, names), key=len, reverse=True))
    mon = rf"(?P<mon>{alt})\.?"
    day = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th|er|\.|º)?"
    year = r"(?P<year>(?:19|20)\d\d)"
    flags = re.IGNORECASE
    return names, [
        # 25 April 2024, 25. April 2024, 16 de abril de 2024, 16. dubna 2025
        re.compile(
            rf"(?<![\w.]){day}\s*(?:de\s+|of\s+)?{mon}(?!\w),?\s*(?:de\s+|del\s+)?{year}\b", flags
        ),
        # April 25, 2024
        re.compile(rf"(?<!\w){mon}(?!\w)\s*{day},?\s*{year}\b", flags),
        # 2025 m. balandžio 16 d., 2025. április 16.
        re.compile(rf"\b{year}\.?\s*(?:m\.\s*)?{mon}(?!\w)\s*{day}(?!\d)", flags),
    ]


_YEAR_IN_TEXT = re.compile(r"(?<!\d)(?:19|20)\d\d(?!\d)")


def _name_date(text: str, lang: str | None) -> tuple[tuple[int, int, int], int, int] | None:
    """(y, m, d), start and end of the first month-name date in the text. The built-in
    English/French/German/Spanish names first; CLDR's for the page language (a babel
    import, abbreviations included) only when those find nothing in a text with a year."""
    if not _YEAR_IN_TEXT.search(text):
        return None
    found = _name_date_with(text, None)
    if found is None and lang and not lang.lower().startswith("en"):
        found = _name_date_with(text, lang)  # "18 juil. 2024", "16. dubna 2025"
    return found


def _name_date_with(text: str, lang: str | None) -> tuple[tuple[int, int, int], int, int] | None:
    names, patterns = _month_patterns(lang)
    best = None
    for pat in patterns:
        m = pat.search(text)
        if m and (best is None or m.start() < best[1]):
            month = names.get(m["mon"].lower().rstrip("."))
            if month:
                best = ((int(m["year"]), month, int(m["day"])), m.start(), m.end())
    return best


# Words that may stand between a date and its time ("25 April 2024 at 14:07", "um", "à").
_CONNECTORS = frozenset(
    [
        "at",
        "on",
        "um",
        "am",
        "à",
        "a",
        "las",
        "alle",
        "ore",
        "kl",
        "klo",
        "saat",
        "om",
        "o",
        "godz",
        "ob",
        "v",
        "в",
        "kell",
        "le",
        "de",
        "del",
        "the",
        "h",
        "ab",
    ]
)


@lru_cache(maxsize=64)
def _day_names(lang: str | None) -> frozenset[str]:
    """Weekday names that may stand between a date and its time ("16 Nisan 2025 Çarşamba
    14:20"): English, and the page language's from CLDR when babel has it."""
    names = {
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "mon",
        "tue",
        "wed",
        "thu",
        "fri",
        "sat",
        "sun",
    }
    if lang and not lang.lower().startswith("en"):
        try:
            from babel import Locale
            from babel.dates import get_day_names

            loc = Locale.parse(lang.split("-")[0])
            for width in ("wide", "abbreviated"):
                names.update(
                    n.lower().rstrip(".") for n in get_day_names(width, "format", loc).values()
                )
        except Exception:  # noqa: BLE001 - unknown locale or no babel: English names only
            pass
    return frozenset(names)


def _time_after(
    text: str, end: int, lang: str | None = None
) -> tuple[int, int, int, tzinfo | None] | None:
    m = _TIME.search(text, end, end + _TIME_GAP + 12)
    if not m or m.start() - end > _TIME_GAP:
        return None
    gap = text[end : m.start()]
    for w in re.findall(r"[^\W\d_]+", gap):
        w = w.lower()
        if (
            len(w) > 2
            and w not in _CONNECTORS
            and not _NOISE_RE.fullmatch(w)
            and w not in _day_names(lang)
        ):
            return None  # "... 2020 | Updated: 16:09": that time belongs to another date
    hh, mm, ss = int(m[1]), int(m[2]), int(m[3] or 0)
    if m[4]:
        if hh > 12:
            return None
        hh = hh % 12 + (12 if m[4].lower() == "p" else 0)
    zone = None
    z = _ZONE.match(text, m.end())
    if z:
        if z[1]:
            sign = 1 if z[1] == "+" else -1
            zone = timezone(sign * timedelta(hours=int(z[2]), minutes=int(z[3] or 0)))
        elif z[4]:
            sign = 1 if z[4] == "+" else -1
            zone = timezone(sign * timedelta(hours=int(z[5]), minutes=int(z[6])))
        elif z[7]:
            zone = _dtz.tzoffset(z[7].upper(), _TZINFOS[z[7].upper()])
    return hh, mm, ss, zone


def _time_before(text: str, start: int) -> tuple[int, int, int, tzinfo | None] | None:
    """A time written just before its date ("18:11, September 25, 2020")."""
    head = text[max(0, start - 24) : start]
    last = None
    for last in _TIME.finditer(head):  # noqa: B007 - the last match is the one wanted
        pass
    if last is None or head[last.end() :].strip(" ,|-–—·") != "":
        return None
    return _time_after(head, last.start())


def find_date(
    text: str | None,
    *,
    dayfirst: bool | None = None,
    lang: str | None = None,
    tz: tzinfo | None = None,
) -> datetime | None:
    """The first complete date (day, month and year all written) in a short text, with the
    time and zone that follow it; None when there is none. Never guesses a missing part."""
    if not text or not any(c.isdigit() for c in text):
        return None
    text = text[:300]
    m = _CJK_DATE.search(text)
    if m and ("年" in text or "日" in text):
        try:
            y, mo, d = int(m[1]), int(m[2]), int(m[3])
            hh, mm, ss = int(m[4] or 0), int(m[5] or 0), int(m[6] or 0)
            dt = datetime(y, mo, d, hh, mm, ss, tzinfo=(tz or UTC) if m[4] else UTC)
            return dt if _plausible(dt) else None
        except ValueError:
            return None
    found = None
    for nm in _NUM_DATE.finditer(text):
        ymd = _num_date(nm, dayfirst)
        if ymd:
            found = (ymd, nm.start(), nm.end())
            break
        if nm.group(2) != ".":
            return None  # an ambiguous numeric date: do not look for another one
    named = _name_date(text, lang)
    if named and (found is None or named[1] < found[1]):
        found = named
    if found is None:
        return None
    (y, mo, d), start, end = found
    t = _time_after(text, end, lang) or _time_before(text, start)
    try:
        if t:
            dt = datetime(y, mo, d, t[0], t[1], t[2], tzinfo=t[3] or tz or UTC)
        else:
            # A day without a time is that calendar day wherever the page is: midnight UTC
            # keeps it (midnight in a +02:00 page's zone would be the day before in UTC).
            dt = datetime(y, mo, d, tzinfo=UTC)
    except ValueError:
        return None
    return dt if _plausible(dt) else None


def parse_date(
    text: str | None,
    *,
    dayfirst: bool | None = None,
    lang: str | None = None,
    tz: tzinfo | None = None,
) -> datetime | None:
    """Parse one date string in any of the supported forms; None when it is not a date.

    `dayfirst` is the page's order for slashed numeric dates (see `dayfirst_for`), `lang`
    its language (for month names), `tz` the offset for a time written without one.
    """
    if not text:
        return None
    text = text.strip()[:200]
    if not text or not any(c.isdigit() for c in text):
        return None
    if text[:4].isdigit() and text[4:5] == "-":
        # ISO 8601, the form of nearly all machine-readable dates: skip the slow paths.
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            pass
        else:
            if not _plausible(dt):
                return None
            # A bare day stays that calendar day (see find_date): midnight UTC.
            return _aware(dt, UTC if len(text) == 10 else tz)
    found = find_date(text, dayfirst=dayfirst, lang=lang, tz=tz)
    if found is not None:
        return found
    return _dateutil(text, dayfirst, tz)


_DEFAULTS = (datetime(1904, 1, 1), datetime(1905, 2, 2))


def _dateutil(text: str, dayfirst: bool | None, tz: tzinfo | None) -> datetime | None:
    """The general parser for the rest (RFC 2822, "Thursday 25th of April 2024"...), run
    twice with different defaults: a part that came out different was not in the text."""
    years = re.findall(r"(?<!\d)(?:19|20)\d\d(?!\d)", text)
    if not years:
        return None
    cleaned = _MONTH_RE.sub(lambda mt: _MONTHS[mt[1].casefold()], text)
    cleaned = _FRENCH_HOUR.sub(r"\1:\2", cleaned)
    cleaned = _NOISE_RE.sub(" ", cleaned)
    got = []
    for default in _DEFAULTS:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                got.append(
                    _dparser.parse(
                        cleaned,
                        fuzzy=True,
                        tzinfos=_tzinfos,
                        default=default,
                        dayfirst=bool(dayfirst),
                    )
                )
        except (ValueError, OverflowError, TypeError, _dparser.ParserError):
            return None
    a, b = got
    if (a.year, a.month, a.day) != (b.year, b.month, b.day) or str(a.year) not in years:
        return None
    if not _plausible(a):
        return None
    if (
        a.month <= 12
        and a.day <= 12
        and a.month != a.day
        and dayfirst is None
        and re.search(r"\d{1,2}[/-]\d{1,2}[/-]\d", text)
    ):
        return None  # numeric order unknown
    return _aware(a, tz)


def _tzinfos(name: str, offset: int | None):  # dateutil callback signature
    if name and name.upper() in _TZINFOS:
        return _dtz.tzoffset(name, _TZINFOS[name.upper()])
    return None


def parse_timestamp(value: str | None) -> datetime | None:
    """A Unix timestamp in seconds or milliseconds (data-* attributes carry these)."""
    if not value or not value.isdigit() or len(value) not in (10, 13):
        return None
    secs = int(value) / (1000 if len(value) == 13 else 1)
    try:
        dt = datetime.fromtimestamp(secs, UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return dt if _plausible(dt) else None


_URL_DATE = re.compile(
    r"/((?:19|20)\d\d)[/-]?(0[1-9]|1[0-2])[/-]?(0[1-9]|[12]\d|3[01])(?=[/_.-]|\d{0,6}[/_.-]|$)"
)


def url_date(url: str | None) -> datetime | None:
    """The date in an article URL's path (/2024/04/25/, /20240425-...), at midnight UTC."""
    if not url:
        return None
    path = urlsplit(url).path
    m = _URL_DATE.search(path)
    if not m:
        return None
    try:
        dt = datetime(int(m[1]), int(m[2]), int(m[3]), tzinfo=UTC)
    except ValueError:
        return None
    return dt if _plausible(dt) else None


_PUB_WORDS = (
    r"published|posted|first published|publication|date|publié(?:e)?|mis en ligne|"
    r"veröffentlicht|erschienen|erstellt|publicado|publicada|fecha|yayınlanma|yayın tarihi|"
    r"giriş|pubblicato|publicerad|publisert|publiceret|gepubliceerd|opublikowano|"
    r"publikováno|发布时间|发布日期|发表时间|时间|日期"
)
_UPD_WORDS = (
    r"updated|last updated|last modified|modified|mis à jour|mise à jour|actualisé|"
    r"aktualisiert|zuletzt aktualisiert|geändert|actualizado|actualizada|güncelleme|"
    r"güncellenme|aggiornato|uppdaterad|oppdatert|opdateret|bijgewerkt|zaktualizowano|"
    r"aktualizováno|更新时间|更新日期|更新"
)
_LABEL_RE = re.compile(
    rf"(?P<label>{_UPD_WORDS}|{_PUB_WORDS})(?!\w)\s*(?:on|at|le|am|el|on:)?\s*[:：]?\s*",
    re.IGNORECASE,
)
_UPDATE_LABEL_RE = re.compile(rf"^(?:{_UPD_WORDS})$", re.IGNORECASE)
UPDATE_LABEL = re.compile(rf"^\W*(?:{_UPD_WORDS})(?!\w)", re.IGNORECASE)


def parse_date_line(
    line: str,
    *,
    dayfirst: bool | None = None,
    lang: str | None = None,
    tz: tzinfo | None = None,
) -> tuple[datetime | None, datetime | None] | None:
    """Read a visible "Published: … | Updated: …" line.

    Returns (published, updated) when the whole line is a labelled date line, else None.
    The line must start with a label so that a sentence that merely mentions a date is
    never mistaken for metadata.
    """
    line = line.strip()
    if len(line) > 160 or not line:
        return None
    first = _LABEL_RE.match(line)
    if not first:
        return None
    published: datetime | None = None
    updated: datetime | None = None
    matches = list(_LABEL_RE.finditer(line))
    # Only labels that start a segment count (start of line or after a separator).
    segs = [m for m in matches if m.start() == 0 or line[: m.start()].rstrip()[-1:] in "|,;·•/-–—"]
    for i, m in enumerate(segs):
        end = segs[i + 1].start() if i + 1 < len(segs) else len(line)
        value = line[m.end() : end].strip(" |,;·•/-–—")
        dt = parse_date(value, dayfirst=dayfirst, lang=lang, tz=tz)
        if dt is None:
            continue
        if _UPDATE_LABEL_RE.match(m["label"].strip()):
            updated = updated or dt
        else:
            published = published or dt
    if published is None and updated is None:
        return None
    return published, updated
