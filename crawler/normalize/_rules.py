"""Boilerplate rules as data: the shipped TOML file plus optional user files.

Rules live in TOML rather than code so that an operator can teach newsdedup a new
republisher's chrome without a release, and so that every dropped line can be traced to a
named rule. User files extend the shipped lists; a user rule with the name of a shipped one
replaces it, which is how a bad shipped rule is switched off (give it no patterns).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

import msgspec

from store import ConfigError

KINDS = ("link", "caption", "tagline", "pagination")


@dataclass(frozen=True)
class LineRule:
    name: str
    kind: str
    patterns: tuple[re.Pattern[str], ...]

    def matches(self, line: str) -> bool:
        return any(p.search(line) for p in self.patterns)


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[LineRule, ...]
    max_line_chars: int = 300
    byline_prefixes: tuple[str, ...] = ()
    byline_max_chars: int = 120
    datelines: tuple[re.Pattern[str], ...] = ()
    agencies: dict[str, tuple[str, ...]] = field(default_factory=dict)
    agency_re: re.Pattern[str] | None = None
    byline_re: re.Pattern[str] | None = None

    def of_kind(self, kind: str) -> tuple[LineRule, ...]:
        return tuple(r for r in self.rules if r.kind == kind)

    def find_agency(self, text: str | None) -> str | None:
        """The canonical name of the first wire agency named in text."""
        if not text or self.agency_re is None:
            return None
        m = self.agency_re.search(text)
        if not m:
            return None
        found = m.group(0)
        folded = found.casefold()
        for name, aliases in self.agencies.items():
            if found in aliases or any(len(a) > 4 and a.casefold() == folded for a in aliases):
                return name
        return None

    def first_match(self, kind: str, line: str) -> str | None:
        """Name of the first rule of `kind` that matches the line.

        The common case is no match, so all patterns of a kind are first tried as one
        combined regex; patterns anchored only at the end are run on the line's tail,
        which keeps long lines from being scanned position by position.
        """
        combined = self._combined().get(kind)
        if combined is None:
            return None
        anywhere, tails, width = combined
        end = line[-width - 1 :]
        if not (
            (anywhere is not None and anywhere.search(line)) or any(t.search(end) for t in tails)
        ):
            return None
        for r in self.rules:
            if r.kind == kind and r.matches(line):
                return r.name
        return None

    def _combined(self) -> dict[str, tuple]:
        cache = self.__dict__.get("_combined_cache")
        if cache is None:
            cache = {}
            for kind in KINDS:
                pats = [p.pattern for r in self.rules if r.kind == kind for p in r.patterns]
                tails = [p for p in pats if _tail_only(p)]
                rest = [p for p in pats if not _tail_only(p)]
                width = max((_max_width(p) or 0 for p in tails), default=0)
                try:
                    # Tail patterns stay separate: each keeps its literal-prefix fast path,
                    # which one big alternation would lose.
                    tail_res = tuple(re.compile(p, re.IGNORECASE) for p in tails)
                    cache[kind] = (_join(rest), tail_res, width)
                except re.error:  # e.g. duplicate group names across user patterns
                    cache[kind] = (re.compile(""), (), 0)
            object.__setattr__(self, "_combined_cache", cache)
        return cache


_MAX_TAIL = 1000


def _max_width(pattern: str) -> int | None:
    """Longest text the pattern can match, or None when unbounded or unknown."""
    try:
        from re import _parser  # the stdlib's own regex parser (3.11+)

        # Lines are whitespace-collapsed, so a whitespace run is one character at most.
        collapsed = pattern.replace("\\s*", "\\s?").replace("\\s+", "\\s")
        hi = _parser.parse(collapsed, re.IGNORECASE).getwidth()[1]
    except Exception:  # noqa: BLE001 - any doubt: treat as unbounded
        return None
    return hi if hi < _MAX_TAIL else None


def _tail_only(pattern: str) -> bool:
    """Anchored at the end only, with a bounded length: such a pattern needs only the
    line's tail, which keeps long lines from being scanned position by position."""
    return pattern.endswith("$") and not pattern.startswith("^") and _max_width(pattern) is not None


def _join(patterns: list[str]) -> re.Pattern[str] | None:
    if not patterns:
        return None
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


class RulesError(ConfigError, ValueError):
    """A rules file that cannot be used; the message names the file and the rule."""


class _Strict(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class _Rule(_Strict):
    name: Annotated[str, msgspec.Meta(min_length=1)]
    kind: Literal[KINDS]  # type: ignore[valid-type]
    patterns: list[str] = []


class _Byline(_Strict):
    prefixes: list[str] = []
    max_chars: Annotated[int, msgspec.Meta(ge=1)] | None = None


class _Dateline(_Strict):
    patterns: list[str] = []


class _RulesFile(_Strict):
    """The layout of a rules file; a misspelt table (``[[rules]]``) is an error, not a no-op."""

    max_line_chars: Annotated[int, msgspec.Meta(ge=1)] | None = None
    rule: list[_Rule] = []
    byline: _Byline = msgspec.field(default_factory=_Byline)
    dateline: _Dateline = msgspec.field(default_factory=_Dateline)
    agencies: dict[str, list[str]] = {}


def _checked(where: str, doc: dict) -> _RulesFile:
    try:
        return msgspec.convert(doc, _RulesFile, strict=True)
    except msgspec.ValidationError as exc:
        raise RulesError(f"{where}: {exc}") from None


def _compile(pattern: str, where: str, flags: int = re.IGNORECASE) -> re.Pattern[str]:
    try:
        return re.compile(pattern, flags)
    except re.error as exc:
        raise RulesError(f"{where}: bad pattern {pattern!r}: {exc}") from exc


def _read(source: str | Path | bytes) -> dict:
    if isinstance(source, bytes):
        return tomllib.loads(source.decode("utf-8"))
    try:
        with open(source, "rb") as fh:
            return tomllib.load(fh)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise RulesError(f"{source}: {exc}") from exc


def _agency_regex(agencies: dict[str, tuple[str, ...]]) -> re.Pattern[str] | None:
    parts = []
    for aliases in agencies.values():
        for a in aliases:
            esc = re.escape(a)
            if re.fullmatch(r"[A-Za-z .&-]+", a):
                # Short aliases ("AP", "PA", "dpa") are case-sensitive whole words;
                # longer names are matched case-insensitively.
                parts.append(
                    rf"(?<![\w]){esc}(?![\w])" if len(a) <= 4 else rf"(?i:(?<![\w]){esc}(?![\w]))"
                )
            else:
                parts.append(esc)
    if not parts:
        return None
    parts.sort(key=len, reverse=True)
    return re.compile("|".join(parts))


def _build(docs: list[tuple[str, dict]]) -> RuleSet:
    rules: dict[str, LineRule] = {}
    max_chars = 300
    prefixes: list[str] = []
    by_max = 120
    datelines: list[re.Pattern[str]] = []
    agencies: dict[str, tuple[str, ...]] = {}
    for where, raw in docs:
        doc = _checked(where, raw)
        max_chars = doc.max_line_chars or max_chars
        for r in doc.rule:
            pats = tuple(_compile(p, f"{where}:{r.name}") for p in r.patterns)
            rules.pop(r.name, None)
            rules[r.name] = LineRule(r.name, r.kind, pats)
        prefixes.extend(p for p in doc.byline.prefixes if p not in prefixes)
        by_max = doc.byline.max_chars or by_max
        datelines.extend(_compile(p, f"{where}:dateline", flags=0) for p in doc.dateline.patterns)
        for name, aliases in doc.agencies.items():
            agencies[name] = tuple(dict.fromkeys([*agencies.get(name, ()), *aliases]))
    byline_re = None
    if prefixes:
        alts = "|".join(sorted(map(re.escape, prefixes), key=len, reverse=True))
        byline_re = re.compile(rf"^(?:{alts})(?:\s*[:：]\s*|\s+)(?P<who>.+)$", re.IGNORECASE)
    return RuleSet(
        rules=tuple(r for r in rules.values() if r.patterns),
        max_line_chars=max_chars,
        byline_prefixes=tuple(prefixes),
        byline_max_chars=by_max,
        datelines=tuple(datelines),
        agencies=agencies,
        agency_re=_agency_regex(agencies),
        byline_re=byline_re,
    )


@lru_cache(maxsize=1)
def _default() -> RuleSet:
    data = resources.files("crawler.normalize").joinpath("rules/boilerplate.toml").read_bytes()
    return _build([("boilerplate.toml", _read(data))])


def load_rules(extra: Sequence[str | Path] = ()) -> RuleSet:
    """The shipped rules, extended by each file in `extra` in order."""
    if not extra:
        return _default()
    data = resources.files("crawler.normalize").joinpath("rules/boilerplate.toml").read_bytes()
    docs = [("boilerplate.toml", _read(data))]
    docs.extend((str(p), _read(p)) for p in extra)
    return _build(docs)
