"""The one TOML file that describes a crawl: sources, store, politeness, dedup parameters.

Every key has a default except the sources, so a first config is three lines long. Unknown
keys are an error, not a silent no-op: a cron job with a misspelt ``per_host_dealy`` would
otherwise hammer sites for months while its owner believes it is polite. Relative paths
are resolved against the config file's folder, so cron's working directory does not matter.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from store import FORMATS as REPORT_FORMATS
from store import DedupConfig, Thresholds

SOURCE_KINDS = ("site", "feed", "sitemap", "homepage", "url")


class ConfigError(Exception):
    """The config cannot be used; CLI exit code 2."""


@dataclass
class Source:
    url: str
    kind: str = "feed"
    name: str | None = None  # publisher name shown in reports; default: page's site name


@dataclass
class CrawlSettings:
    user_agent: str = "newsdedup/0.1 (+https://github.com/newsdedup/newsdedup)"
    concurrency: int = 16
    per_host_concurrency: int = 2
    per_host_delay: float = 1.0
    timeout: float = 15.0
    max_bytes: int = 5_000_000
    max_sitemap_bytes: int = 52_428_800  # feeds and sitemaps (the sitemap protocol's 50 MiB)
    max_redirects: int = 5
    max_retries: int = 3
    max_pages: int = 0  # 0: no limit
    max_duration: float = 0.0  # seconds; 0: no limit
    obey_robots: bool = True
    allow_hosts: list[str] = field(default_factory=list)
    retry_failed_after: float = 3600.0
    http2: bool = True
    # Refetch a stored page once its last fetch is this old: seconds, or "90m", "6h",
    # "2d". 0: never (a seen URL is not fetched again). Parsed to seconds on load.
    revisit_after: float | str = 0.0


@dataclass
class NormalizeSettings:
    rules: list[str] = field(default_factory=list)
    template_last_n: int = 50
    template_min_share: float = 0.5
    template_min_pages: int = 5


@dataclass
class DedupSettings:
    num_perm: int = 128
    seed: int = 1
    shingle_size: int = 5
    lsh_threshold: float = 0.3
    jaccard_threshold: float = 0.5
    containment_threshold: float = 0.7
    min_shingles: int = 20

    def engine(self) -> DedupConfig:
        return DedupConfig(
            num_perm=self.num_perm, seed=self.seed, shingle_size=self.shingle_size,
            lsh_threshold=self.lsh_threshold,
            thresholds=Thresholds(self.jaccard_threshold, self.containment_threshold,
                                  self.min_shingles),
        )


@dataclass
class ReportSettings:
    format: str = "text"  # what `run` prints: text, json, jsonl, csv or markdown
    min_size: int = 2
    directory: str = ""  # `run` also writes timestamped reports here; "" = off
    keep: int = 10  # reports of each format kept in `directory`
    formats: list[str] = field(default_factory=lambda: ["html", "json"])


@dataclass
class Config:
    store: str = "newsdedup.db"
    sources: list[Source] = field(default_factory=list)
    crawl: CrawlSettings = field(default_factory=CrawlSettings)
    normalize: NormalizeSettings = field(default_factory=NormalizeSettings)
    dedup: DedupSettings = field(default_factory=DedupSettings)
    report: ReportSettings = field(default_factory=ReportSettings)
    path: Path | None = None


def _section(cls: type, data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"[{where}] must be a table")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"[{where}] unknown key(s): {', '.join(unknown)} "
                          f"(known: {', '.join(sorted(known))})")
    try:
        return cls(**data)
    except TypeError as exc:
        raise ConfigError(f"[{where}] {exc}") from exc


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: Any, where: str) -> float:
    """Seconds from a number or a string like "90m", "6h", "2d"; 0 means off."""
    seconds: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().lower()
        unit = _UNITS.get(text[-1:]) if text else None
        number = text[:-1] if unit else text
        try:
            seconds = float(number) * (unit or 1)
        except ValueError:
            seconds = None
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        raise ConfigError(f"{where} must be a duration: seconds, or a number followed by "
                          f"s, m, h or d, like \"6h\" (got {value!r})")
    return seconds


def _resolve(base: Path, value: str) -> str:
    if "://" in value:
        return value
    path = Path(value).expanduser()
    return str(path if path.is_absolute() else base / path)


def _sources(raw: Any, base: Path) -> list[Source]:
    if not isinstance(raw, list):
        raise ConfigError("sources must be an array of tables: [[sources]]")
    out: list[Source] = []
    for n, item in enumerate(raw, 1):
        if not isinstance(item, dict):
            raise ConfigError(f"sources #{n} must be a table")
        item = dict(item)
        url_file = item.pop("file", None)
        kind = item.get("kind", "feed")
        if kind not in SOURCE_KINDS:
            raise ConfigError(f"sources #{n}: kind {kind!r} is not one of {SOURCE_KINDS}")
        if url_file is not None:
            if "url" in item:
                raise ConfigError(f"sources #{n}: give either url or file, not both")
            path = Path(_resolve(base, url_file))
            try:
                lines = path.read_text(encoding="utf-8").splitlines()
            except OSError as exc:
                raise ConfigError(f"sources #{n}: cannot read {path}: {exc}") from exc
            for line in lines:
                line = line.split("#", 1)[0].strip()
                if line:
                    out.append(_section(Source, {**item, "url": line}, f"sources #{n}"))
            continue
        if "url" not in item:
            raise ConfigError(f"sources #{n}: missing url (or file)")
        out.append(_section(Source, item, f"sources #{n}"))
    return out


def parse_config(data: dict[str, Any], base: Path) -> Config:
    known = {"store", "sources", "crawl", "normalize", "dedup", "report"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"unknown top-level key(s): {', '.join(unknown)}")
    store = data.get("store", {})
    if isinstance(store, str):
        store = {"path": store}
    if not isinstance(store, dict) or set(store) - {"path", "url"}:
        raise ConfigError("[store] takes one key: path (a SQLite file) or url")
    location = store.get("url") or _resolve(base, store.get("path", "newsdedup.db"))
    cfg = Config(
        store=location,
        sources=_sources(data.get("sources", []), base),
        crawl=_section(CrawlSettings, data.get("crawl", {}), "crawl"),
        normalize=_section(NormalizeSettings, data.get("normalize", {}), "normalize"),
        dedup=_section(DedupSettings, data.get("dedup", {}), "dedup"),
        report=_section(ReportSettings, data.get("report", {}), "report"),
    )
    cfg.normalize.rules = [_resolve(base, r) for r in cfg.normalize.rules]
    cfg.crawl.revisit_after = parse_duration(cfg.crawl.revisit_after, "[crawl] revisit_after")
    printable = ("text", "json", "jsonl", "csv", "markdown")
    if cfg.report.format not in printable:
        raise ConfigError(f"[report] format {cfg.report.format!r} is not one of "
                          f"{', '.join(printable)}")
    bad = [f for f in cfg.report.formats if f not in REPORT_FORMATS]
    if bad or not isinstance(cfg.report.keep, int) or cfg.report.keep < 1:
        raise ConfigError(f"[report] formats must be among {', '.join(REPORT_FORMATS)} and "
                          f"keep at least 1 (got formats={cfg.report.formats}, "
                          f"keep={cfg.report.keep!r})")
    if cfg.report.directory:
        cfg.report.directory = _resolve(base, cfg.report.directory)
    return cfg


def load_config(path: str | Path) -> Config:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    try:
        cfg = parse_config(data, path.resolve().parent)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    cfg.path = path
    return cfg
