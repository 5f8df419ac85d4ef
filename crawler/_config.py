"""The one TOML file that describes a crawl: sources, store, politeness, dedup parameters.

Every key has a default except the sources, so a first config is three lines long. The
file is validated whole, with msgspec, before anything runs: an unknown key, a value of
the wrong type (``per_host_delay = "fast"``, ``obey_robots = "no"``) or out of range
(``concurrency = -1``) is a :class:`ConfigError` that names the key and what it expected,
and the command exits 2 — never a traceback, and never a silent default, because a cron
job with a misspelt ``per_host_dealy`` would hammer sites for months while its owner
believes it polite. Relative paths are resolved against the config file's folder, so
cron's working directory does not matter.

msgspec rather than pydantic: it validates TOML-shaped data against typed structs with
constraints and reports the path of the bad value (``$.crawl.per_host_delay``), strictly
(no "16" -> 16 coercion), and imports in milliseconds with no dependencies of its own,
which matters for a command cron starts every few minutes.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, Struct, field

from store import ConfigError, parse_duration
from store.dedup import BoilerplateRules, DedupConfig, Thresholds
from store.report import FORMATS as REPORT_FORMATS

from ._identity import USER_AGENT

SourceKind = Literal["site", "feed", "sitemap", "homepage", "url"]
SOURCE_KINDS: tuple[str, ...] = SourceKind.__args__
PrintedFormat = Literal["text", "json", "jsonl", "csv", "markdown"]
ReportFormat = Literal[REPORT_FORMATS]  # type: ignore[valid-type]

_DEDUP = DedupConfig()
_THRESHOLDS = Thresholds()
_BOILERPLATE = BoilerplateRules()

Positive = Annotated[float, Meta(gt=0, le=86_400)]
Seconds = Annotated[float, Meta(ge=0, le=366 * 86_400)]
Share = Annotated[float, Meta(gt=0, le=1)]


def available_cpus() -> int:
    """CPUs this process may run on: fewer than the machine's under taskset or a cgroup."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


class _Section(Struct, forbid_unknown_fields=True, kw_only=True):
    """Tables of the config: unknown keys are errors, values are checked strictly."""


class Source(_Section):
    url: Annotated[str, Meta(min_length=1)]
    kind: SourceKind = "feed"
    name: str | None = None  # publisher name shown in reports; default: page's site name


class CrawlSettings(_Section):
    user_agent: Annotated[str, Meta(min_length=1)] = USER_AGENT
    concurrency: Annotated[int, Meta(ge=1, le=1024)] = 16
    per_host_concurrency: Annotated[int, Meta(ge=1, le=64)] = 2
    per_host_delay: Annotated[float, Meta(ge=0, le=3600)] = 1.0
    timeout: Annotated[float, Meta(gt=0, le=600)] = 15.0
    max_bytes: Annotated[int, Meta(ge=1024, le=1 << 31)] = 5_000_000
    # Feeds and sitemaps: the sitemap protocol's 50 MiB, uncompressed.
    max_sitemap_bytes: Annotated[int, Meta(ge=1024, le=1 << 31)] = 52_428_800
    max_redirects: Annotated[int, Meta(ge=0, le=30)] = 5
    max_retries: Annotated[int, Meta(ge=0, le=20)] = 3
    max_pages: Annotated[int, Meta(ge=0)] = 0  # 0: no limit
    max_duration: Seconds = 0.0  # 0: no limit
    obey_robots: bool = True
    allow_hosts: list[Annotated[str, Meta(min_length=1)]] = field(default_factory=list)
    retry_failed_after: Seconds = 3600.0
    http2: bool = True
    # Refetch a stored page once its last fetch is this old: seconds, or "90m", "6h",
    # "2d". 0: never (a seen URL is not fetched again). Seconds after loading.
    revisit_after: float | str = 0.0
    # Processes that extract and normalize pages beside the one that fetches and stores:
    # by default one per CPU this process may use; 0 or 1: all in the crawl's own process.
    workers: Annotated[int, Meta(ge=0, le=256)] = field(default_factory=available_cpus)

    def __post_init__(self) -> None:
        seconds = parse_duration(self.revisit_after)
        if seconds is None:
            raise ValueError(
                f"revisit_after must be a duration: seconds, or a number followed by s, m, "
                f'h, d or w, like "6h" (got {self.revisit_after!r})'
            )
        self.revisit_after = seconds


class NormalizeSettings(_Section):
    rules: list[str] = field(default_factory=list)
    template_last_n: Annotated[int, Meta(ge=1, le=100_000)] = 50
    template_min_share: Share = 0.5
    template_min_pages: Annotated[int, Meta(ge=1)] = 5


class DedupSettings(_Section):
    num_perm: Annotated[int, Meta(ge=16, le=1024)] = _DEDUP.num_perm
    seed: Annotated[int, Meta(ge=0, le=2**32 - 1)] = _DEDUP.seed
    shingle_size: Annotated[int, Meta(ge=1, le=20)] = _DEDUP.shingle_size
    lsh_threshold: Annotated[float, Meta(gt=0, lt=1)] = _DEDUP.lsh_threshold
    jaccard_threshold: Share = _THRESHOLDS.jaccard
    containment_threshold: Share = _THRESHOLDS.containment
    reuse_threshold: Share = _THRESHOLDS.reuse
    boilerplate_min_records: Annotated[int, Meta(ge=2)] = _BOILERPLATE.min_records
    boilerplate_host_share: Share = _BOILERPLATE.host_share
    boilerplate_corpus_share: Share = _BOILERPLATE.corpus_share
    min_shingles: Annotated[int, Meta(ge=1)] = _THRESHOLDS.min_shingles

    def engine(self) -> DedupConfig:
        return DedupConfig(
            num_perm=self.num_perm,
            seed=self.seed,
            shingle_size=self.shingle_size,
            lsh_threshold=self.lsh_threshold,
            thresholds=Thresholds(
                jaccard=self.jaccard_threshold,
                containment=self.containment_threshold,
                reuse=self.reuse_threshold,
                min_shingles=self.min_shingles,
            ),
            boilerplate=BoilerplateRules(
                min_records=self.boilerplate_min_records,
                host_share=self.boilerplate_host_share,
                corpus_share=self.boilerplate_corpus_share,
            ),
        )


class ReportSettings(_Section):
    format: PrintedFormat = "text"  # what `run` prints
    min_size: Annotated[int, Meta(ge=1)] = 2
    directory: str = ""  # `run` also writes timestamped reports here; "" = off
    keep: Annotated[int, Meta(ge=1)] = 10  # reports of each format kept in `directory`
    formats: list[ReportFormat] = field(default_factory=lambda: ["html", "json"])


class StoreSettings(_Section):
    path: Annotated[str, Meta(min_length=1)] | None = None
    url: Annotated[str, Meta(min_length=1)] | None = None


class _File(_Section):
    """The file as written; :class:`Config` is what the program uses."""

    store: StoreSettings | str = field(default_factory=StoreSettings)
    sources: list[Source] = field(default_factory=list)
    crawl: CrawlSettings = field(default_factory=CrawlSettings)
    normalize: NormalizeSettings = field(default_factory=NormalizeSettings)
    dedup: DedupSettings = field(default_factory=DedupSettings)
    report: ReportSettings = field(default_factory=ReportSettings)


class Config(Struct, kw_only=True):
    """A validated config: ``store`` is the location (a SQLite path or a database URL)."""

    store: str = "newsdedup.db"
    sources: list[Source] = field(default_factory=list)
    crawl: CrawlSettings = field(default_factory=CrawlSettings)
    normalize: NormalizeSettings = field(default_factory=NormalizeSettings)
    dedup: DedupSettings = field(default_factory=DedupSettings)
    report: ReportSettings = field(default_factory=ReportSettings)
    path: Path | None = None


def _resolve(base: Path, value: str) -> str:
    if "://" in value:
        return value
    path = Path(value).expanduser()
    return str(path if path.is_absolute() else base / path)


def _expand_source_files(raw: Any, base: Path) -> Any:
    """``[[sources]] file = "urls.txt"`` becomes one source per URL line of that file."""
    if not isinstance(raw, list):
        return raw
    out: list[Any] = []
    for n, item in enumerate(raw):
        if not isinstance(item, dict) or "file" not in item:
            out.append(item)
            continue
        item = dict(item)
        url_file = item.pop("file")
        if "url" in item:
            raise ConfigError(f"sources[{n}]: give either url or file, not both")
        if not isinstance(url_file, str):
            raise ConfigError(f"sources[{n}].file: expected a path, got {url_file!r}")
        path = Path(_resolve(base, url_file))
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"sources[{n}].file: cannot read {path}: {exc}") from exc
        urls = [line.split("#", 1)[0].strip() for line in lines]
        out += [{**item, "url": url} for url in urls if url]
    return out


_AT = re.compile(r"\s*-\s*at\s*`\$\.?([^`]*)`$")


def _message(exc: msgspec.ValidationError) -> str:
    """msgspec's "Expected `int` >= 1 - at `$.crawl.concurrency`" as "crawl.concurrency:
    expected `int` >= 1", with the known keys listed when a key is unknown."""
    text = str(exc)
    where = _AT.search(text)
    key = where.group(1) if where else ""
    what = _AT.sub("", text)
    unknown = re.match(r"Object contains unknown field `([^`]+)`", what)
    if unknown:
        key = f"{key}.{unknown.group(1)}" if key else unknown.group(1)
        section = _section_type(where.group(1) if where else "")
        known = f" (known keys: {', '.join(section.__struct_fields__)})" if section else ""
        return f"{key}: unknown key{known}"
    what = what[:1].lower() + what[1:]
    return f"{key}: {what}" if key else what


def _section_type(path: str) -> type[Struct] | None:
    name = re.sub(r"\[\d+\]", "", path)
    types: dict[str, type[Struct]] = {
        "": _File,
        "crawl": CrawlSettings,
        "normalize": NormalizeSettings,
        "dedup": DedupSettings,
        "report": ReportSettings,
        "store": StoreSettings,
        "sources": Source,
    }
    return types.get(name)


def parse_config(data: dict[str, Any], base: Path) -> Config:
    """Validate a parsed TOML document; relative paths are taken from ``base``."""
    data = dict(data)
    data["sources"] = _expand_source_files(data.get("sources", []), base)
    try:
        raw = msgspec.convert(data, _File, strict=True)
    except msgspec.ValidationError as exc:
        raise ConfigError(_message(exc)) from None
    store = raw.store if isinstance(raw.store, StoreSettings) else StoreSettings(path=raw.store)
    if store.path and store.url:
        raise ConfigError("store: give path (a SQLite file) or url, not both")
    normalize = raw.normalize
    normalize.rules = [_resolve(base, r) for r in normalize.rules]
    report = raw.report
    if report.directory:
        report.directory = _resolve(base, report.directory)
    return Config(
        store=store.url or _resolve(base, store.path or "newsdedup.db"),
        sources=raw.sources,
        crawl=raw.crawl,
        normalize=normalize,
        dedup=raw.dedup,
        report=report,
    )


def load_config(path: str | Path) -> Config:
    """Read and validate a config file; every problem is a :class:`ConfigError` naming it."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    try:
        cfg = parse_config(data, path.resolve().parent)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    cfg.path = path
    return cfg
