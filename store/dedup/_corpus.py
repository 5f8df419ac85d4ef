"""Bring your own corpus: cluster JSONL, Parquet (or, through a reader, WARC) records.

The records go through the engine's batch form (``_batch``): the same boilerplate learning,
signatures, candidates, verification and clustering as a crawl's store, so a data team's
dedup of an existing corpus and a crawl's clusters can be compared one to one. Input is
validated whole before anything is computed, and the output is written to a temporary file
and renamed into place, so a bad line is reported by number and leaves no half-written
output behind.

Formats ``store`` cannot parse itself (WARC needs the crawler's extraction, and ``store``
never imports ``crawler``) come in through a *record reader*: a function from one file path
to the corpus records in it (plain dicts, checked here like JSONL lines) and one
``ReadReport`` per file saying what it skipped and what damage ended it early.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from store._exceptions import CorpusError, StoreError
from store._time import to_db_time

from ._batch import Unit, ignored_lines, learn_boilerplate, place_signed, scope_of, sign_all
from ._config import DedupConfig

# Undated records sort after dated ones when the origin (earliest) is chosen.
UNDATED = datetime(9999, 1, 1, tzinfo=UTC)


@dataclass
class CorpusRecord:
    id: str
    text: str
    url: str | None = None
    published: datetime | None = None
    title: str | None = None
    label: str | None = None  # a ground-truth ``cluster`` field, if the corpus has one
    publisher: str | None = None  # the scope of boilerplate learning when there is no url


def record_from_dict(raw: Any, where: str) -> CorpusRecord:
    if not isinstance(raw, dict):
        raise CorpusError(f"{where}: expected a JSON object, got {type(raw).__name__}")
    rid, text = raw.get("id"), raw.get("text")
    if rid is None or isinstance(rid, bool | dict | list):
        raise CorpusError(f"{where}: missing or invalid 'id'")
    if not isinstance(text, str):
        raise CorpusError(f"{where}: 'text' must be a string")
    published = raw.get("published")
    if published is not None:
        try:
            published = datetime.fromisoformat(str(published).replace("Z", "+00:00"))
        except ValueError:
            raise CorpusError(f"{where}: 'published' is not an ISO-8601 date: "
                              f"{published!r}") from None
        if published.tzinfo is None:
            published = published.replace(tzinfo=UTC)
    url = raw.get("url")
    if url is not None and not isinstance(url, str):
        raise CorpusError(f"{where}: 'url' must be a string")
    publisher = raw.get("publisher")
    if publisher is not None and not isinstance(publisher, str):
        raise CorpusError(f"{where}: 'publisher' must be a string")
    label = raw.get("cluster")
    return CorpusRecord(str(rid), text, url, published, raw.get("title"),
                        None if label is None else str(label), publisher)


def _jsonl(path: Path) -> Iterator[CorpusRecord]:
    try:
        fh = path.open(encoding="utf-8")
    except OSError as exc:
        raise CorpusError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    with fh:
        try:
            for n, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    raw = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise CorpusError(f"{path}:{n}: not valid JSON ({exc.msg})") from None
                yield record_from_dict(raw, f"{path}:{n}")
        except UnicodeDecodeError as exc:
            raise CorpusError(f"{path}: not UTF-8 text ({exc.reason})") from None


def _parquet(path: Path) -> Iterator[CorpusRecord]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise CorpusError(f"{path}: reading Parquet needs pyarrow: pip install pyarrow") from None
    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises many types for a damaged file
        raise CorpusError(f"{path}: not a readable Parquet file ({exc})") from None
    for n, raw in enumerate(table.to_pylist(), 1):
        yield record_from_dict(raw, f"{path}: row {n}")


@dataclass
class ReadReport:
    """What a record reader says about one file besides its records (its last item).

    ``problems`` are what could not be read, such as damage that ended the file early (a
    truncated archive): the records read before it are kept and clustered, and the caller
    reports the problems and exits 1, as ``import-warc`` does.
    """

    path: str
    read: int = 0  # entries looked at (e.g. HTML pages)
    skipped: int = 0  # entries that gave no record (a page with no article text)
    problems: list[str] = field(default_factory=list)  # each names the file and where


def _checked(records: list[CorpusRecord], source: str | Path,
             reports: Sequence[ReadReport] = ()) -> list[CorpusRecord]:
    seen: set[str] = set()
    for r in records:
        if r.id in seen:
            raise CorpusError(f"{source}: duplicate id {r.id!r}")
        seen.add(r.id)
    if not records:
        raise CorpusError(no_records_message(source, reports))
    return records


def no_records_message(source: str | Path, reports: Sequence[ReadReport] = ()) -> str:
    """The "no records" error, naming damage that may explain it (a file cut at its start)."""
    return "; ".join([f"{source}: no records", *(p for r in reports for p in r.problems)])


def read_corpus(path: str | Path) -> list[CorpusRecord]:
    """Every record, validated; duplicate ids are an error (outputs are keyed by id)."""
    path = Path(path)
    return _checked(list(_parquet(path) if path.suffix == ".parquet" else _jsonl(path)), path)


# A reader yields the records of one file (dicts shaped like JSONL lines), then its report.
RecordReader = Callable[[str], Iterable["dict[str, Any] | ReadReport"]]


def reader_records(path: str, items: Iterable[dict[str, Any] | ReadReport],
                   ) -> Iterator[CorpusRecord | ReadReport]:
    """A reader's output checked like JSONL lines; an invalid record is a CorpusError."""
    n = 0
    for item in items:
        if isinstance(item, ReadReport):
            yield item
            continue
        n += 1
        yield record_from_dict(item, f"{path}: record {n}")


def read_with(paths: Sequence[str], reader: RecordReader, source: str | None = None,
              ) -> tuple[list[CorpusRecord], list[ReadReport]]:
    """Every record of ``paths`` in order (file order, then the reader's), and the reports."""
    records: list[CorpusRecord] = []
    reports: list[ReadReport] = []
    for path in paths:
        for item in reader_records(path, reader(path)):
            (reports if isinstance(item, ReadReport) else records).append(item)
    return _checked(records, source or source_name(paths), reports), reports


def source_name(paths: Sequence[str]) -> str:
    """How messages name a multi-file input."""
    return paths[0] if len(paths) == 1 else f"{len(paths)} input files"


@dataclass
class CorpusAssignment:
    id: str
    cluster: str  # the id of the cluster's representative: its fullest record
    origin_id: str  # the cluster's probable origin: its earliest record
    similarity: float  # Jaccard of content with the origin's
    containment: float  # share of the origin's content this record carries
    url: str | None = None  # the input record's, when it had one
    reuses: list[dict[str, Any]] = field(default_factory=list)  # [{cluster, share}]
    ignored: list[str] | None = None  # lines left out as boilerplate (with --explain)


def assignment_line(row: CorpusAssignment) -> str:
    """One output line; optional fields only when they say something."""
    doc = {k: v for k, v in row.__dict__.items()
           if not (k in ("url", "ignored") and v is None) and not (k == "reuses" and not v)}
    return json.dumps(doc, ensure_ascii=False)


def units_of(records: Sequence[CorpusRecord]) -> list[Unit]:
    return [Unit(r.url or f"corpus:{r.id}", r.text, scope_of(r.url, r.publisher),
                 to_db_time(r.published) or "~") for r in records]


def cluster_corpus(records: Sequence[CorpusRecord], cfg: DedupConfig | None = None,
                   *, explain: bool = False) -> list[CorpusAssignment]:
    """Cluster records with the engine (``_batch``); rows in input order, ids the corpus's.

    The same records give the same rows in any order: clusters are named by their fullest
    record, origins by their earliest, and every tie is broken by content, not position.
    """
    cfg = cfg or DedupConfig()
    units = units_of(records)
    learned = learn_boilerplate(units, cfg)
    placed = place_signed(units, sign_all(units, learned, cfg), cfg)
    rows = []
    for r, unit, p in zip(records, units, placed, strict=True):
        reuses = [{"cluster": records[lead].id, "share": round(share, 4)}
                  for lead, share in sorted(p.reuses.items(), key=lambda kv: (-kv[1], kv[0]))]
        rows.append(CorpusAssignment(r.id, records[p.leader].id, records[p.origin].id,
                                     round(p.similarity, 4), round(p.containment, 4), r.url,
                                     reuses, ignored_lines(unit, learned) if explain else None))
    return rows


def dedup_texts(records: Iterable[str | Mapping[str, Any] | CorpusRecord],
                config: DedupConfig | None = None) -> list[CorpusAssignment]:
    """Cluster texts in memory with the engine of ``newsdedup dedup --input``; rows in order.

    Each record is a plain string (its id is then its position, as a string), a mapping
    shaped like a JSONL line (``{"id", "text"[, "url", "published", "title",
    "publisher"]}``) or a :class:`CorpusRecord`. Invalid records raise
    :class:`CorpusError` naming the record.
    """
    checked: list[CorpusRecord] = []
    for n, raw in enumerate(records):
        if isinstance(raw, CorpusRecord):
            checked.append(raw)
        elif isinstance(raw, str):
            checked.append(CorpusRecord(str(n), raw))
        else:
            checked.append(record_from_dict(raw, f"record {n}"))
    return cluster_corpus(_checked(checked, "dedup_texts"), config)


def write_assignments(rows: list[CorpusAssignment], output: str | Path) -> None:
    """JSON lines, written atomically: a reader never sees half a file."""
    output = Path(output)
    fd, tmp = tempfile.mkstemp(dir=output.parent, prefix=f".{output.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            for r in rows:
                fh.write(assignment_line(r) + "\n")
        os.replace(tmp, output)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise StoreError(f"{output}: cannot write: {exc.strerror or exc}") from exc
