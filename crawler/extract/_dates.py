"""Date parsing for article metadata and visible date lines.

Publishers write dates in every format and language; dateutil reads the English and ISO
forms, so the other languages' month names are mapped to English first. Every result is
tz-aware: a date without an offset is assumed to be UTC, because a naive datetime cannot
be compared with the aware ones that other pages yield.
"""

from __future__ import annotations

import re
import warnings
from datetime import UTC, datetime

from dateutil import parser as _dparser
from dateutil import tz as _dtz

_MONTHS = {
    # French
    "janvier": "January", "février": "February", "fevrier": "February", "mars": "March",
    "avril": "April", "mai": "May", "juin": "June", "juillet": "July", "août": "August",
    "aout": "August", "septembre": "September", "octobre": "October",
    "novembre": "November", "décembre": "December", "decembre": "December",
    # German
    "januar": "January", "jänner": "January", "februar": "February", "märz": "March",
    "maerz": "March", "juni": "June", "juli": "July", "oktober": "October",
    "dezember": "December",
    # Spanish
    "enero": "January", "febrero": "February", "marzo": "March", "abril": "April",
    "mayo": "May", "junio": "June", "julio": "July", "agosto": "August",
    "septiembre": "September", "setiembre": "September", "octubre": "October",
    "noviembre": "November", "diciembre": "December",
}
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
    "UTC": 0, "GMT": 0, "Z": 0, "BST": 3600, "CET": 3600, "CEST": 7200, "MEZ": 3600,
    "MESZ": 7200, "EST": -5 * 3600, "EDT": -4 * 3600, "CST": -6 * 3600, "CDT": -5 * 3600,
    "MST": -7 * 3600, "MDT": -6 * 3600, "PST": -8 * 3600, "PDT": -7 * 3600,
    "IST": 19800, "JST": 9 * 3600, "KST": 9 * 3600, "HKT": 8 * 3600, "SGT": 8 * 3600,
    "AEST": 10 * 3600, "AEDT": 11 * 3600,
}
_MIN_YEAR, _MAX_YEAR = 1990, 2100


def _aware(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None or dt.utcoffset() is None else dt


def _plausible(dt: datetime) -> bool:
    return _MIN_YEAR <= dt.year <= _MAX_YEAR


def parse_date(text: str | None) -> datetime | None:
    """Parse one date string in any of the supported forms; None when it is not a date."""
    if not text:
        return None
    text = text.strip()[:200]
    if not text or not any(c.isdigit() for c in text):
        return None
    if text[:4].isdigit() and text[4:5] == "-":
        # ISO 8601, the form of nearly all machine-readable dates: skip dateutil's
        # slow general parser.
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            pass
        else:
            return _aware(dt) if _plausible(dt) else None
    m = _CJK_DATE.search(text)
    if m and ("年" in text or "日" in text):
        try:
            y, mo, d = int(m[1]), int(m[2]), int(m[3])
            hh, mm, ss = int(m[4] or 0), int(m[5] or 0), int(m[6] or 0)
            dt = datetime(y, mo, d, hh, mm, ss, tzinfo=UTC)
            return dt if _plausible(dt) else None
        except ValueError:
            return None
    cleaned = _MONTH_RE.sub(lambda mt: _MONTHS[mt[1].casefold()], text)
    cleaned = _FRENCH_HOUR.sub(r"\1:\2", cleaned)
    cleaned = _NOISE_RE.sub(" ", cleaned)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dt = _dparser.parse(cleaned, fuzzy=True, tzinfos=_tzinfos)
    except (ValueError, OverflowError, TypeError, _dparser.ParserError):
        return None
    if not _plausible(dt):
        return None
    return _aware(dt)


def _tzinfos(name: str, offset: int | None):  # dateutil callback signature
    if name and name.upper() in _TZINFOS:
        return _dtz.tzoffset(name, _TZINFOS[name.upper()])
    return None


_PUB_WORDS = (
    r"published|posted|first published|publication|date|publié(?:e)?|mis en ligne|"
    r"veröffentlicht|erschienen|publicado|publicada|fecha|发布时间|发布日期|发表时间|时间|日期"
)
_UPD_WORDS = (
    r"updated|last updated|last modified|modified|mis à jour|mise à jour|actualisé|"
    r"aktualisiert|zuletzt aktualisiert|geändert|actualizado|actualizada|"
    r"更新时间|更新日期|更新"
)
_LABEL_RE = re.compile(
    rf"(?P<label>{_UPD_WORDS}|{_PUB_WORDS})(?!\w)\s*(?:on|at|le|am|el|on:)?\s*[:：]?\s*",
    re.IGNORECASE,
)
_UPDATE_LABEL_RE = re.compile(rf"^(?:{_UPD_WORDS})$", re.IGNORECASE)


def parse_date_line(line: str) -> tuple[datetime | None, datetime | None] | None:
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
    segs = [
        m for m in matches
        if m.start() == 0 or line[: m.start()].rstrip()[-1:] in "|,;·•/-–—"
    ]
    for i, m in enumerate(segs):
        end = segs[i + 1].start() if i + 1 < len(segs) else len(line)
        value = line[m.end():end].strip(" |,;·•/-–—")
        dt = parse_date(value)
        if dt is None:
            continue
        if _UPDATE_LABEL_RE.match(m["label"].strip()):
            updated = updated or dt
        else:
            published = published or dt
    if published is None and updated is None:
        return None
    return published, updated
