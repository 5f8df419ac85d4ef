"""WARC files as corpus records: what ``dedup --input`` and ``spark-dedup`` read from archives.

A crawl learns each site's template lines from the pages the store already holds; an
archive read for a corpus has no store. So each file is read twice: the first pass counts,
per host, the line keys of every HTML page (the crawl's rule: a line on more than
``template_min_share`` of a host's pages, given ``template_min_pages`` of them), the
second extracts and normalizes with those lines, through the very ``page_record`` a crawl
uses. A file's records depend on that file alone, so the local and the Spark path, which
reads each file whole on one executor, get the same records. ``template_last_n`` does not
apply: the whole file is known up front, and all of a host's pages in it are used.

A record's ``id`` is its WARC-Record-ID without the angle brackets (``urn:uuid:...``;
unique by the spec), its ``url`` the page's
canonical URL. Non-HTML, non-200 and revisit records give nothing; pages with no article
text are counted as skipped. A damaged file is not an error: the records before the
damage are kept, and the damage, naming the file and byte offset, is reported in the
file's ``ReadReport`` (the reader's last item), which the CLI prints before exiting 1.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crawler._config import Config
from crawler._records import PageJob, job_record
from crawler._urls import host_of
from crawler.extract import extract_html
from crawler.normalize import line_key, load_rules, template_keys
from store import CorpusError
from store.dedup import ReadReport

from ._archive import ArchivedPage, WarcProblem, read_warc

WARC_SUFFIXES = (".warc", ".warc.gz")


@dataclass(frozen=True)
class ArchiveOptions:
    """The config a reader needs; small and picklable, so Spark can ship it with the reader."""

    rules: tuple[str, ...] = ()
    min_share: float = 0.5
    min_pages: int = 5
    max_bytes: int = 20_000_000

    @classmethod
    def from_config(cls, cfg: Config) -> ArchiveOptions:
        n = cfg.normalize
        return cls(tuple(str(r) for r in n.rules), n.template_min_share, n.template_min_pages)


def _where(problem: WarcProblem) -> str:
    at = f" at byte {problem.offset}" if problem.offset is not None else ""
    return f"{problem.path}{at}: {problem.reason}"


def _learn_templates(path: str, options: ArchiveOptions) -> dict[str, frozenset[str]]:
    """Pass one: each host's template line keys, from all its HTML pages in the file."""
    counts: dict[str, Counter[str]] = {}
    pages: Counter[str] = Counter()
    for item in read_warc([path], max_bytes=options.max_bytes):
        if isinstance(item, ArchivedPage):
            host = host_of(item.url)
            page = extract_html(item.body, item.url, encoding=item.encoding, fetched=item.date)
            counts.setdefault(host, Counter()).update({line_key(p) for p in page.paragraphs})
            pages[host] += 1
    return {
        host: frozenset(
            template_keys(c, pages[host], min_share=options.min_share, min_pages=options.min_pages)
        )
        for host, c in counts.items()
    }


def warc_records(
    path: str,
    options: ArchiveOptions | None = None,
) -> Iterator[dict[str, Any] | ReadReport]:
    """The corpus records of one WARC file, in file order, then the file's ``ReadReport``.

    Deterministic: the same file gives the same records whoever calls it, wherever.
    """
    options = options or ArchiveOptions()
    rules = load_rules(options.rules)
    templates = _learn_templates(path, options)
    report = ReadReport(path)
    for item in read_warc([path], max_bytes=options.max_bytes):
        if isinstance(item, WarcProblem):
            report.problems.append(_where(item))
            continue
        report.read += 1
        try:
            # the crawl's own page-to-record step, with the capture as the fetch
            job = PageJob(
                item.body,
                item.url,
                item.encoding,
                templates.get(host_of(item.url), frozenset()),
                fetched=item.date,
            )
            record = job_record(job, rules)
        except Exception as exc:  # one bad page must not lose the rest of the archive
            report.problems.append(
                f"{path} at byte {item.offset}: {item.url}: extraction failed: {exc!r}"
            )
            record = None
        if record is None:
            report.skipped += 1
            continue
        yield {
            "id": item.record_id or f"{Path(path).name}@{item.offset}",
            "text": record.text,
            "url": record.url,
            "published": record.published.isoformat() if record.published else None,
            "title": record.title,
        }
    yield report


def is_warc(path: str | Path) -> bool:
    return str(path).lower().endswith(WARC_SUFFIXES)


def warc_inputs(inputs: Sequence[str]) -> list[str] | None:
    """The WARC files named by ``inputs`` (files, or folders of them), sorted: file order.

    ``None`` when no input is a WARC file or a folder holding some (a JSONL or Parquet
    input); a mix of WARC and other inputs is a CorpusError, as is a missing file.
    """
    found: list[str] = []
    other: list[str] = []
    for given in inputs:
        path = Path(given)
        if path.is_dir():
            inside = [str(p) for p in path.iterdir() if is_warc(p) and p.is_file()]
            if inside:
                found.extend(inside)
            else:
                other.append(given)
        elif is_warc(given):
            if not path.is_file():
                raise CorpusError(f"{given}: cannot read: No such file or directory")
            found.append(given)
        else:
            other.append(given)
    if not found:
        return None
    if other:
        raise CorpusError(
            f"{other[0]}: not a WARC file; WARC input cannot be mixed with other formats"
        )
    return sorted(found)
